"""low-rank: truncated SVD of every float encoder nn.Linear into two Linears (in -> r, r -> out with the bias); a
layer the rank would not shrink (r >= in*out/(in+out)) is skipped, and recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.backends.torch_compressed import LOW_RANK, factorized, set_module
from harness.recipes.work import Work, refused

if TYPE_CHECKING:
    import torch

RECIPE = "low-rank"
# torch.linalg.svd in one thread: on few cores its threads contend (28 s instead of 0.94 s for MiniLM-L6 on 2)
SVD_THREADS = 1


def run(work: Work, *, rank: int | None = None, energy: float | None = None) -> str:
    """Factorize each encoder Linear W (out x in) as U_r sqrt(S_r) . sqrt(S_r) V_r^T, the rank fixed or the fewest
    singular values whose squares hold `energy` of the total."""
    import torch

    done: dict[str, int] = {}
    skipped: dict[str, str] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(SVD_THREADS)
    try:
        with torch.no_grad():
            for name, linear in work.encoder_linears(RECIPE):
                most = linear.in_features * linear.out_features / (linear.in_features + linear.out_features)
                if rank is not None and rank >= most:  # known before the SVD: skip it
                    skipped[name] = f"rank {rank} >= in*out/(in+out) = {most:.1f}: would not shrink it"
                    continue
                u, s, vh = torch.linalg.svd(linear.weight.detach().float(), full_matrices=False)
                r = rank if rank is not None else energy_rank(s, energy or 1.0)
                if r >= most:
                    skipped[name] = f"rank {r} >= in*out/(in+out) = {most:.1f}: would not shrink it"
                    continue
                _factorize(work, name, linear, u, s, vh, r)
                done[name] = r
    finally:
        torch.set_num_threads(threads)
    if not done:
        raise refused(
            RECIPE, f"the rank shrinks no encoder Linear ({len(skipped)} skipped)", "give a smaller --rank or --energy"
        )
    work.transforms.append({"type": LOW_RANK, "recipe": RECIPE, "layers": done, "skipped": skipped})
    how = f"rank {rank}" if rank is not None else f"the fewest singular values holding {energy:g} of sum(s^2)"
    ranks = sorted(set(done.values()))
    return (
        f"low-rank factorization (truncated SVD, {how}) of {len(done)} encoder Linear layers into two Linears "
        f"(ranks {ranks[0]}-{ranks[-1]}); {len(skipped)} skipped where the rank would not shrink them"
    )


def _factorize(work: Work, name: str, linear: Any, u: Any, s: Any, vh: Any, r: int) -> None:
    """Replace `linear` by its rank-r pair: in -> r (sqrt(S_r) V_r^T), r -> out (U_r sqrt(S_r)) with its bias."""
    root = s[:r].sqrt()
    pair = factorized(linear.in_features, linear.out_features, r, linear.bias is not None)
    pair[0].weight.copy_(root[:, None] * vh[:r])
    pair[1].weight.copy_(u[:, :r] * root[None, :])
    if linear.bias is not None:
        pair[1].bias.copy_(linear.bias)
    set_module(work.module, name, pair.to(linear.weight.dtype))


def energy_rank(s: torch.Tensor, energy: float) -> int:
    """The fewest leading singular values whose squares sum to at least `energy` of all."""
    import torch

    share = torch.cumsum(s**2, 0) / (s**2).sum()
    return min(int(torch.searchsorted(share, torch.tensor(energy, dtype=share.dtype)).item()) + 1, len(s))
