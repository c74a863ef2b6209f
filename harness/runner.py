"""Moved to harness.evaluation.evaluate (issue 12); this re-export keeps old scripts working for one release."""

from harness.evaluation.evaluate import evaluate
from harness.evaluation.refs import ModelRef

__all__ = ["ModelRef", "evaluate"]
