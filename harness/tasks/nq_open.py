"""NQ-open (Lee et al. 2019) and EfficientQA (Min et al. 2021): open-domain QA, scored by exact match.

Predictions are keyed by question text, as EfficientQA prediction files are; the questions of each
dev set are unique. EfficientQA dev 1.1 is a different split of the same data and has no hub copy:
it loads only from the mirror, and the hub path below says so when the hub is tried.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, Row, Task, metric
from harness.tasks.files import read_jsonl

SPLIT = "validation"
METRICS = (metric("exact_match", "nq_exact_match"),)


def read_nq_jsonl(path: Path) -> list[Row]:
    """Rows {question, answer: [...]} of an NQ-open JSON-lines file; other fields are dropped."""
    rows = []
    for n, obj in enumerate(read_jsonl(path), start=1):
        question, answer = obj.get("question"), obj.get("answer")  # read_jsonl refuses non-object lines
        if not isinstance(question, str) or not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise UserError(
                f"{path}: record {n} needs a string 'question' and a list of strings 'answer'",
                fix="is this the official NQ-open file?",
            )
        rows.append({"question": question, "answer": list(answer)})
    return rows


def _nq(name: str, hub_path: str | None, mirror: str, description: str) -> Task:
    return register_task(
        Task(
            name=name,
            benchmark="nq_open",
            kind="generative_qa",
            source=DataSource(hub_path, None, SPLIT, mirror, read_nq_jsonl),
            metrics=METRICS,
            format="efficientqa_jsonl",
            uid=lambda row: row["question"],
            gold=lambda row: list(row["answer"]),
            inputs=lambda row: (row["question"],),
            description=description,
        )
    )


_nq(
    "nq_open",
    "google-research-datasets/nq_open",
    "nq_open/NQ-open.dev.jsonl",
    "open-domain QA over Wikipedia, original NQ-open dev split",
)
# EfficientQA dev 1.1 has no hub copy: it is published in the natural-questions repository, folder nq_open.
_nq(
    "efficientqa",
    None,
    "nq_open/NQ-open.efficientqa.dev.1.1.jsonl",
    "open-domain QA, EfficientQA competition dev split 1.1",
)
