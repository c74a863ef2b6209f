"""prune-heads: data-free head pruning, least L2 norm of a head's output-projection columns first, each layer keeping
one; stored as a prune_heads transform (transformers 5 dropped model.prune_heads and config.pruned_heads)."""

from __future__ import annotations

from typing import Any

from harness.backends.torch_compressed import PRUNE_HEADS, set_head_count, set_module
from harness.recipes.work import Work, refused

RECIPE = "prune-heads"
INPUTS = ("self.query", "self.key", "self.value")  # BERT attention block: the Linears whose outputs are per head
OUTPUT = "output.dense"  # and the one whose inputs are


def run(work: Work, *, heads: int | None = None, fraction: float | None = None) -> str:
    """Remove `heads` heads (or round(fraction x all heads)) of lowest importance, each layer keeping one."""
    import torch

    blocks = [(f"{name}.attention", layer.attention) for name, layer in work.unique_layers()]
    sizes = [_head_size(name, block) for name, block in blocks]
    counts = [block.get_submodule(OUTPUT).in_features // size for (_, block), size in zip(blocks, sizes)]
    total = sum(counts)
    drop = heads if heads is not None else round((fraction or 0) * total)
    most = total - len(blocks)
    if not 1 <= drop <= most:
        flag = f"--heads {heads}" if heads is not None else f"--fraction {fraction} ({drop} heads)"
        raise refused(RECIPE, f"{flag}: {total} heads in {len(blocks)} layers", f"remove between 1 and {most}")
    scores = []  # (importance, layer, head)
    for i, ((_, block), size) in enumerate(zip(blocks, sizes)):
        weight = block.get_submodule(OUTPUT).weight.detach()
        for h in range(counts[i]):
            scores.append((float(torch.linalg.vector_norm(weight[:, h * size : (h + 1) * size])), i, h))
    removed: list[set[int]] = [set() for _ in blocks]
    for _, i, h in sorted(scores):
        if sum(len(r) for r in removed) == drop:
            break
        if len(removed[i]) < counts[i] - 1:
            removed[i].add(h)
    layers = {}
    for i, ((name, block), size) in enumerate(zip(blocks, sizes)):
        kept = [h for h in range(counts[i]) if h not in removed[i]]
        if removed[i]:
            _shrink(block, kept, size)
            layers[name] = {"kept_heads": kept, "head_size": size, "inputs": list(INPUTS), "output": OUTPUT}
    work.transforms.append(
        {"type": PRUNE_HEADS, "recipe": RECIPE, "importance": "L2 norm of output.dense columns", "layers": layers}
    )
    per_layer = ", ".join(f"{counts[i] - len(r)}" for i, r in enumerate(removed))
    return (
        f"attention-head pruning: removed {drop} of {total} heads, lowest L2 norm of their output-projection "
        f"columns first (heads kept per layer: {per_layer})"
    )


def _head_size(name: str, block: Any) -> int:
    """The head width of a BERT attention block whose Linears are still float and unfactorized."""
    from torch import nn

    for sub in (*INPUTS, OUTPUT):
        found = block.get_submodule(sub) if _has(block, sub) else None
        if type(found) is not nn.Linear:
            raise refused(
                RECIPE,
                f"{name}.{sub} is {type(found).__name__ if found is not None else 'missing'}, not a float nn.Linear",
                "run prune-heads before low-rank and quantize-dynamic-int8, on a BERT-family encoder",
            )
    return int(block.get_submodule("self").attention_head_size)


def _has(block: Any, name: str) -> bool:
    try:
        block.get_submodule(name)
    except AttributeError:
        return False
    return True


def _shrink(block: Any, kept: list[int], size: int) -> None:
    """Replace the block's per-head Linears by ones holding the kept heads' rows (outputs) or columns (inputs)."""
    import torch
    from torch import nn

    index = torch.tensor([h * size + j for h in kept for j in range(size)])
    with torch.no_grad():
        for name in INPUTS:
            old = block.get_submodule(name)
            new = nn.Linear(old.in_features, len(index), bias=old.bias is not None)
            new.weight.copy_(old.weight[index])
            if old.bias is not None:
                new.bias.copy_(old.bias[index])
            set_module(block, name, new)
        old = block.get_submodule(OUTPUT)
        new = nn.Linear(len(index), old.out_features, bias=old.bias is not None)
        new.weight.copy_(old.weight[:, index])
        if old.bias is not None:
            new.bias.copy_(old.bias)
        set_module(block, OUTPUT, new)
    set_head_count(block.get_submodule("self"), len(kept), size)
