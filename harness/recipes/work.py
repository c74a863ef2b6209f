"""What a recipe works on: the torch module being compressed, its head and the declarative transforms so far,
with the lookups every recipe shares (the encoder's layers, its float Linears)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError


@dataclass
class Work:
    """A model under compression: the module (changed in place by each recipe), its head, and the transforms of
    compressed.json (harness.backends.torch_compressed) that rebuild what no stock class can, in order."""

    module: Any
    head: str
    transforms: list[dict[str, Any]] = field(default_factory=list)
    recipes: list[str] = field(default_factory=list)  # the chain's recipes that ran before this one, in order
    # set by a recipe that ends the chain in another format: (saved torch folder, output folder, head) -> None
    export: Callable[[Path, Path, str], None] | None = None

    def has(self, kind: str) -> bool:
        """Whether a transform of this type ran already."""
        return any(t["type"] == kind for t in self.transforms)

    def names(self) -> dict[int, str]:
        """id(module) -> its first name in the model ("" for the root)."""
        return {id(m): n for n, m in self.module.named_modules()}

    def encoder(self) -> tuple[str, Any]:
        """The name of the encoder's layer list (e.g. `bert.encoder.layer`) and the list: BERT-family models."""
        encoder = getattr(getattr(self.module, "base_model", None), "encoder", None)
        layers = getattr(encoder, "layer", None)
        if layers is None:
            raise UserError(
                f"a {type(self.module).__name__} has no encoder layer list (base_model.encoder.layer)",
                fix="the recipes compress BERT-family encoders (BERT, MiniLM, DistilRoBERTa-style); compress such a model",
            )
        return self.names()[id(layers)], layers

    def unique_layers(self) -> list[tuple[str, Any]]:
        """Each encoder layer object once (shared layers under their first name), in order."""
        prefix, layers = self.encoder()
        seen: set[int] = set()
        out = []
        for i, layer in enumerate(layers):
            if id(layer) not in seen:
                seen.add(id(layer))
                out.append((f"{prefix}.{i}", layer))
        return out

    def encoder_linears(self, recipe: str) -> list[tuple[str, Any]]:
        """Every float nn.Linear inside the encoder, each object once under its first name; none (all int8 after
        quantize-dynamic-int8) is refused naming `recipe`."""
        from torch import nn

        prefix, _ = self.encoder()
        found = [(n, m) for n, m in self.module.named_modules() if n.startswith(prefix + ".") and type(m) is nn.Linear]
        if not found:
            raise refused(recipe, "the encoder has no float nn.Linear left (quantize-dynamic-int8 ran before it)")
        return found


def refused(recipe: str, why: str, fix: str = "") -> UserError:
    """The error of a recipe that cannot run on this model: names the recipe (the --recipe/--then value)."""
    return UserError(
        f"--recipe {recipe}: {why}", fix=fix or "run quantize-dynamic-int8 last in the chain (--then ... last)"
    )
