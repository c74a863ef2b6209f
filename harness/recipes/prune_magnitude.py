"""prune-magnitude: unstructured magnitude pruning, per layer: each encoder nn.Linear weight loses its smallest
|w| to zeros, the same fraction in every layer (biases, embeddings, pooler and head are kept)."""

from __future__ import annotations

from harness.recipes.work import Work


def run(work: Work, *, sparsity: float) -> str:
    """Zero round(sparsity x elements) weights of each encoder Linear, smallest magnitude first (ties by index)."""
    import torch

    linears = work.encoder_linears("prune-magnitude")
    with torch.no_grad():
        for _, linear in linears:
            flat = linear.weight.view(-1)
            k = round(sparsity * flat.numel())
            if k:
                flat[torch.argsort(flat.abs(), stable=True)[:k]] = 0
    return (
        f"unstructured magnitude pruning, per layer: {sparsity:.0%} of each of the {len(linears)} encoder Linear "
        "weights set to 0 (smallest |w|)"
    )
