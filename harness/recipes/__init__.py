"""Compression recipes: each turns a base model folder into a complete submission folder (harness compress).

One module per idea; a recipe is a function `run(work, **params) -> str` (what it did, for the description) that
changes `work.module` in place and appends the declarative transforms it needs (harness.recipes.work.Work). Its
name, method family and typed parameters are a row of harness.submissions.compression.RECIPE_TABLE, which
submission.yaml's `compression:` key is checked against; a new recipe is one file, one line here and that row.
"""

from __future__ import annotations

from harness.registry import Registry

RECIPES: Registry = Registry("recipe")
RECIPES.add("quantize-dynamic-int8", "harness.recipes.quantize:run")
RECIPES.add("prune-magnitude", "harness.recipes.prune_magnitude:run")
RECIPES.add("prune-heads", "harness.recipes.prune_heads:run")
RECIPES.add("drop-layers", "harness.recipes.drop_layers:run")
RECIPES.add("low-rank", "harness.recipes.low_rank:run")
RECIPES.add("share-layers", "harness.recipes.share_layers:run")
RECIPES.add("quantize-dynamic-int8-onnx", "harness.recipes.quantize_onnx:run")
