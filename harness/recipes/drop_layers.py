"""drop-layers: keep the first N encoder layers, or every K-th (the K-th, 2K-th, ...), renumbered; the stock
class reloads it (config.num_hidden_layers)."""

from __future__ import annotations

from harness.recipes.work import Work, refused

RECIPE = "drop-layers"


def run(work: Work, *, keep_first: int | None = None, every: int | None = None) -> str:
    """Drop encoder layers in place and set config.num_hidden_layers; refused after a declarative transform,
    whose layer names it would shift."""
    from torch import nn

    if work.transforms:
        raise refused(RECIPE, "it renumbers layers, which the earlier transforms name", "run drop-layers first")
    prefix, layers = work.encoder()
    count = len(layers)
    if keep_first is not None:
        kept = list(range(min(keep_first, count)))
        how = f"kept the first {len(kept)} of {count} layers"
    else:
        if every is None:
            raise refused(RECIPE, "needs --keep-first or --every", "give one of them")
        kept = [i for i in range(count) if (i + 1) % every == 0]
        how = f"kept every {every}-th layer ({', '.join(str(i + 1) for i in kept)} of {count}, counted from 1)"
    if not kept or len(kept) == count:
        flag = f"--keep-first {keep_first}" if keep_first is not None else f"--every {every}"
        raise refused(RECIPE, f"{flag} keeps {len(kept)} of {count} layers", f"keep between 1 and {count - 1}")
    new = nn.ModuleList([layers[i] for i in kept])
    for index, layer in enumerate(new):
        for sub in layer.modules():
            if hasattr(sub, "layer_idx"):  # the attention's cache index follows the new numbering
                sub.layer_idx = index
    parent = work.module.get_submodule(prefix.rpartition(".")[0]) if "." in prefix else work.module
    setattr(parent, prefix.rpartition(".")[2], new)
    work.module.config.num_hidden_layers = len(kept)
    return f"layer dropping: {how}"
