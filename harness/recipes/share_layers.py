"""share-layers: ALBERT-style cross-layer sharing: each of G groups of consecutive encoder layers (default 1) becomes
one module holding the mean of the group's weights, stored and counted once."""

from __future__ import annotations

from harness.backends.torch_compressed import LOW_RANK, QUANTIZE_INT8, SHARE
from harness.recipes.work import Work, refused

RECIPE = "share-layers"
EARLIER = (LOW_RANK, QUANTIZE_INT8, SHARE)  # transforms whose layers cannot be averaged again
SPARSE = "prune-magnitude"  # its zeros would be averaged away silently


def run(work: Work, *, groups: int = 1) -> str:
    """Average each group's layers into its first layer and point the others at that module."""
    import torch

    if any(work.has(kind) for kind in EARLIER):
        raise refused(
            RECIPE,
            "it averages float layer weights, and an earlier low-rank, int8 or sharing step changed them",
            "run share-layers once, before low-rank and quantize-dynamic-int8",
        )
    if SPARSE in work.recipes:
        raise refused(RECIPE, f"averaging layers would undo {SPARSE}'s zeros", f"run share-layers before {SPARSE}")
    prefix, layers = work.encoder()
    count = len(layers)
    if not 1 <= groups < count:
        raise refused(RECIPE, f"--groups {groups}: the encoder has {count} layers", f"give 1 to {count - 1} groups")
    members = [[i for i in range(count) if i * groups // count == g] for g in range(groups)]
    shared = {}
    with torch.no_grad():
        for group in members:
            first = layers[group[0]]
            tensors = [dict(layers[i].named_parameters()) for i in group]
            if any(
                t.keys() != tensors[0].keys() or any(t[k].shape != v.shape for k, v in tensors[0].items())
                for t in tensors
            ):
                raise refused(RECIPE, f"layers {group} differ in shape (pruned heads?)", "give groups of equal layers")
            for key, param in tensors[0].items():
                param.copy_(torch.stack([t[key] for t in tensors]).mean(0))
            for i in group[1:]:
                layers[i] = first
                shared[f"{prefix}.{i}"] = f"{prefix}.{group[0]}"
    work.transforms.append({"type": SHARE, "recipe": RECIPE, "weights": "mean of the group's layers", "layers": shared})
    sizes = ", ".join(str(len(g)) for g in members)
    return f"cross-layer sharing: {count} layers in {groups} group(s) of consecutive layers ({sizes}), each holding the mean of its layers' weights"
