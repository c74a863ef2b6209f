"""A toy measurement in one file: how many output values one forward pass returns per example.

A test adds it with one registry line, `add_measurement(Measurement("outputs", "toy_measurement:take", ...))`, and
it is then a name `--measure`, `--skip-measure` and a track's `measurement.measure` accept, a block of every record,
and a section of the submission page; one line in tracks.columns.EFFICIENCY makes it a board column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.measure.spec import Inputs

METHOD = "values of every output of one forward pass of a batch of 1 synthetic sequence at the reference length"


def take(inputs: Inputs, **options: Any) -> dict[str, Any]:
    """Run the model once through its backend's forward pass (its recorded lengths left as they were)."""
    model = inputs.model
    before = len(model.sequence_lengths)
    outputs = model.forward(inputs.single)
    del model.sequence_lengths[before:]
    values = sum(int(np.asarray(v)[0].size) for v in outputs.values())
    return {"values_per_example": values, "reference_length": inputs.reference_length, "method": METHOD}
