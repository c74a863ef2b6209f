"""Parameter counts as the model's backend counts them (the torch backend: unique tensors, shared or tied weights
once, packed int8 weights too: harness.backends.torch_count)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.measure.result import NOT_COUNTED, NotTaken, not_counted
from harness.measure.spec import Inputs

UNIT = "parameters (tensor elements)"


@dataclass(frozen=True)
class Params:
    """Parameter counts of one model, with storage dtypes, the names that alias a counted tensor and the method."""

    total_params: int
    embedding_params: int
    non_embedding_params: int
    params_by_dtype: dict[str, int]
    tensor_bytes: int
    method: str
    aliases: dict[str, str] = field(default_factory=dict)
    unit: str = UNIT

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the method and unit."""
        return asdict(self)


def count_params(model: Any) -> Params | NotTaken:
    """The parameters of a model loaded by its backend (harness.backends.base.Model.count_params), or why they
    could not be counted."""
    counted = model.count_params()
    if counted.get("status") == NOT_COUNTED:
        return not_counted(str(counted.get("reason")), unit=UNIT)
    return Params(**counted)


def take(inputs: Inputs, **options: Any) -> Params | NotTaken:
    """The measurement `params` of the table: the model's parameter counts."""
    return count_params(inputs.model, **options)
