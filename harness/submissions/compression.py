"""The table of the recipes `harness compress` runs (name, method family, typed parameters): data, low in the layers,
for submission.yaml's `compression:` key; tests/recipes/test_recipe_table.py checks harness.recipes agrees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import did_you_mean


@dataclass(frozen=True)
class Param:
    """One recipe parameter: its name (the flag is `--name` with dashes), type, bounds and what it means."""

    name: str
    kind: type  # int or float
    low: float
    high: float | None  # None: no upper bound
    above: bool  # True: value > low; False: value >= low
    help: str

    @property
    def flag(self) -> str:
        """The command-line flag: keep_first -> --keep-first."""
        return "--" + self.name.replace("_", "-")

    def problem(self, value: Any) -> str | None:
        """Why `value` does not fit (wrong type or out of bounds), or None."""
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (self.kind is int and type(value) is float)
        ):
            return f"expected {'a whole number' if self.kind is int else 'a number'}, got {value!r}"
        ok = value > self.low if self.above else value >= self.low
        if self.high is not None:
            ok = ok and value <= self.high
        if not ok:
            low = f"> {self.low:g}" if self.above else f">= {self.low:g}"
            high = f" and <= {self.high:g}" if self.high is not None else ""
            return f"expected a number {low}{high}, got {value!r}"
        return None


@dataclass(frozen=True)
class RecipeSpec:
    """A recipe's row: its method family (submission.yaml `methods`), its parameters, and which of them are
    alternatives (exactly one of each group must be given; a parameter in no group is optional)."""

    name: str
    method: str
    params: tuple[Param, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    summary: str = ""

    def param(self, name: str) -> Param | None:
        """The parameter called `name`, or None."""
        return next((p for p in self.params if p.name == name), None)


RECIPE_TABLE = (
    RecipeSpec(
        "quantize-dynamic-int8",
        "quantization",
        summary="dynamic int8 quantization of every nn.Linear (per-channel qint8 weights, activations at run time)",
    ),
    RecipeSpec(
        "prune-magnitude",
        "pruning",
        (Param("sparsity", float, 0.0, 1.0, False, "fraction of each encoder Linear weight set to 0"),),
        (("sparsity",),),
        "unstructured magnitude pruning of each encoder Linear weight (per layer) to the sparsity",
    ),
    RecipeSpec(
        "prune-heads",
        "pruning",
        (
            Param("heads", int, 1, None, False, "attention heads to remove, over all layers"),
            Param("fraction", float, 0.0, 1.0, True, "fraction of all attention heads to remove"),
        ),
        (("heads", "fraction"),),
        "structured attention-head pruning by the L2 norm of each head's slice of the output projection",
    ),
    RecipeSpec(
        "drop-layers",
        "pruning",
        (
            Param("keep_first", int, 1, None, False, "keep the first N encoder layers"),
            Param("every", int, 2, None, False, "keep every K-th encoder layer (the K-th, 2K-th, ...)"),
        ),
        (("keep_first", "every"),),
        "layer dropping: keep the first N encoder layers, or every K-th",
    ),
    RecipeSpec(
        "low-rank",
        "low-rank",
        (
            Param("rank", int, 1, None, False, "rank of every factorized Linear"),
            Param("energy", float, 0.0, 1.0, True, "keep the fewest singular values holding this share of sum(s^2)"),
        ),
        (("rank", "energy"),),
        "truncated SVD of every encoder nn.Linear into two Linears (in->r, r->out)",
    ),
    RecipeSpec(
        "share-layers",
        "weight-sharing",
        (Param("groups", int, 1, None, False, "groups of consecutive layers sharing one layer's weights (default 1)"),),
        (),
        "ALBERT-style cross-layer sharing: each group of consecutive layers holds the mean of its layers' weights",
    ),
    RecipeSpec(
        "quantize-dynamic-int8-onnx",
        "quantization",
        summary="ONNX export, then ONNX Runtime dynamic int8 quantization (QInt8 weights); ends a chain and runs "
        "on the onnxruntime backend",
    ),
)
RECIPE_SPECS = {r.name: r for r in RECIPE_TABLE}
COMPRESSION_KEY = "compression"  # submission.yaml's key: the chain of recipes, in order


@dataclass(frozen=True)
class CompressionStep:
    """One step of a compression chain: the recipe's name and its parameters (name, value) in table order."""

    recipe: str
    params: tuple[tuple[str, int | float], ...] = ()

    def plain(self) -> dict[str, Any]:
        """The step as submission.yaml writes it: {recipe: NAME, param: value, ...}."""
        return {"recipe": self.recipe, **dict(self.params)}

    def text(self) -> str:
        """`prune-magnitude (sparsity 0.5)`: the step in a description."""
        args = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in self.params)
        return f"{self.recipe} ({args})" if args else self.recipe


def step_problems(recipe: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every problem of one step as (parameter or "recipe", message, fix): an unknown recipe or parameter, a value
    of the wrong type or range, alternatives given together or none of them."""
    spec = RECIPE_SPECS.get(recipe)
    if spec is None:
        return [("recipe", f"unknown recipe {recipe!r}", did_you_mean(recipe, RECIPE_SPECS, "recipes"))]
    out = []
    for name, value in params.items():
        param = spec.param(name)
        if param is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            out.append((name, f"recipe {recipe} takes no parameter {name!r}", f"its parameters: {known}"))
        elif (why := param.problem(value)) is not None:
            out.append((name, why, f"{param.name}: {param.help}"))
    for group in spec.one_of:
        given = [g for g in group if g in params]
        if len(given) != 1 and len(group) == 1:
            param = spec.params[[p.name for p in spec.params].index(group[0])]
            out.append((group[0], f"recipe {recipe} needs {group[0]} (missing)", f"{group[0]}: {param.help}"))
        elif len(given) != 1:
            what = "none" if not given else " and ".join(given)
            out.append((group[0], f"recipe {recipe} takes exactly one of {', '.join(group)}, got {what}", "give one"))
    return out


def make_step(recipe: str, params: dict[str, Any]) -> CompressionStep:
    """A checked step, its parameters in table order (ints kept ints); call step_problems first."""
    spec = RECIPE_SPECS[recipe]
    return CompressionStep(recipe, tuple((p.name, p.kind(params[p.name])) for p in spec.params if p.name in params))
