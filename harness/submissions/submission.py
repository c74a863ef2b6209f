"""What a submission is: its folder's file name, method families, and the parsed submission.yaml as dataclasses.

A submission is a folder `submissions/ID/` (ID: letters, digits, `.`, `_`, `-`; it names result files)
holding `submission.yaml` and, per task, a model folder in Hugging Face `save_pretrained` layout
(`harness.submissions.schema` documents and checks every key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.submissions.compression import CompressionStep

SUBMISSION_FILE = "submission.yaml"
# Largest submission.yaml read: real ones are a few KiB; a 216 MB one took 5 minutes and 3.8 GB to check (issue 14).
MAX_SUBMISSION_YAML_BYTES = 1 << 20
METHODS = ("distillation", "pruning", "quantization", "weight-sharing", "low-rank", "other")
DEFAULT_BACKEND = "torch"


@dataclass(frozen=True)
class Declared:
    """Self-reported numbers, checked against measured ones; None when not declared."""

    parameters: int | None = None
    size_bytes: int | None = None

    def overridden_by(self, other: "Declared") -> "Declared":
        """These numbers with every number `other` declares put in their place."""
        return Declared(
            *(
                b if b is not None else a
                for a, b in ((self.parameters, other.parameters), (self.size_bytes, other.size_bytes))
            )
        )


@dataclass(frozen=True)
class TaskEntry:
    """One task of a submission: the model folder it is evaluated with, the head, the declared numbers."""

    task: str
    model: Path
    head: str
    declared: Declared = Declared()  # effective: the entry's own numbers, else the top-level ones
    own_declared: Declared = Declared()  # the entry's own `declared` block only
    outputs: tuple[tuple[str, str], ...] = ()  # `outputs:`: (head output name, graph output name), sorted


@dataclass(frozen=True)
class Submission:
    """A parsed, schema-valid submission.yaml; `id` is the folder name."""

    id: str
    path: Path
    name: str
    contact: str
    methods: tuple[str, ...]
    tasks: dict[str, TaskEntry]
    team: str | None = None
    authors: tuple[str, ...] = ()
    paper: str | None = None
    code: str | None = None
    base_model: str | None = None
    teacher_model: str | None = None
    description: str = ""
    backend: str = DEFAULT_BACKEND
    allow_pickle: bool = False
    declared: Declared = Declared()
    compression: tuple[CompressionStep, ...] = ()  # the recipe chain `harness compress` ran, in order
    license: str | None = None  # the licence of the weights, as the submitter states it
    teacher: str | None = None  # the teacher's submission id (`teacher:`), for agreement on the pages


def submission_meta(sub: Submission) -> dict[str, Any]:
    """What a record keeps of a submission's metadata, for ranking by method family and for its page."""
    return {
        "name": sub.name,
        "team": sub.team or ", ".join(sub.authors),
        "methods": list(sub.methods),
        "paper": sub.paper,
        "code": sub.code,
        "base_model": sub.base_model,
        "teacher_model": sub.teacher_model,
        "description": sub.description,
    } | ({"teacher": sub.teacher} if sub.teacher else {})  # only when named: older records' meta stays the same
