"""SQuAD v1.1 and v2.0 (Rajpurkar et al. 2016, 2018): extractive QA on the dev sets.

The mirror holds the official nested JSON (data -> paragraphs -> qas); rows are flattened into the
schema of the hub's `rajpurkar/squad` datasets. v2.0 questions marked `is_impossible` get an empty
answer list, which the metrics read as "no answer". Each version scores with its own official script's
rules (harness.metrics): v1.1 keeps every gold answer, v2.0 drops golds that normalize to "".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, MetricSpec, Row, Task, metric

SPLIT = "validation"
MAX_LENGTH = 384  # the sequence length SQuAD fine-tuning and evaluation conventionally use
V1_METRICS = (metric("exact_match", "squad_exact_match"), metric("f1", "squad_f1"))
V2_METRICS = (metric("exact_match", "squad_v2_exact_match"), metric("f1", "squad_v2_f1"))
# v2: v1.1 had scored with v2.0's rules (empty golds dropped, empty-vs-empty F1 1) until issue 11
V1_VERSION = 2
V2_VERSION = 1


def _field(obj: dict[str, Any], name: str, where: str, path: Path) -> Any:
    """A required field of an object in the official layout, or an error naming file and field."""
    if not isinstance(obj, dict) or name not in obj:
        raise UserError(
            f"{path}: {where} has no field {name!r}", fix="is this the official SQuAD JSON (data -> paragraphs -> qas)?"
        )
    return obj[name]


def read_squad_json(path: Path) -> list[Row]:
    """Flatten an official SQuAD dev file (v1.1 or v2.0) into one hub-schema row per question."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not valid JSON ({e.msg})", fix="use the official SQuAD dev file") from e
    rows: list[Row] = []
    for a, article in enumerate(_field(doc, "data", "the top level", path)):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, paragraph in enumerate(_field(article, "paragraphs", f"data[{a}]", path)):
            context = _field(paragraph, "context", f"data[{a}].paragraphs[{p}]", path)
            for q, qa in enumerate(_field(paragraph, "qas", f"data[{a}].paragraphs[{p}]", path)):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                impossible = qa.get("is_impossible", False) if isinstance(qa, dict) else False
                if not isinstance(impossible, bool):  # bool("false") is True: the question would lose its answers
                    raise UserError(
                        f"{path}: {where}.is_impossible is {impossible!r}, expected true or false",
                        fix="use the official SQuAD dev file",
                    )
                answers = [] if impossible else _field(qa, "answers", where, path)
                rows.append(
                    {
                        "id": str(_field(qa, "id", where, path)),
                        "title": title,
                        "context": context,
                        "question": _field(qa, "question", where, path),
                        "answers": {
                            "text": [_field(x, "text", f"{where}.answers", path) for x in answers],
                            "answer_start": [int(_field(x, "answer_start", f"{where}.answers", path)) for x in answers],
                        },
                    }
                )
    return rows


def _gold(row: Row) -> list[str]:
    return list(row["answers"]["text"])


def _squad(
    name: str,
    hub_path: str,
    mirror: str,
    description: str,
    metrics: tuple[MetricSpec, ...],
    version: int,
    answerless: bool = False,
) -> Task:
    return register_task(
        Task(
            name=name,
            benchmark="squad",
            kind="extractive_qa",
            source=DataSource(hub_path, None, SPLIT, mirror, read_squad_json),
            metrics=metrics,
            format="squad_json",
            version=version,
            uid=lambda row: str(row["id"]),
            gold=_gold,
            inputs=lambda row: (row["question"], row["context"]),
            max_length=MAX_LENGTH,
            description=description,
            answerless=answerless,
        )
    )


_squad(
    "squad",
    "rajpurkar/squad",
    "squad/dev-v1.1.json",
    "extractive QA on Wikipedia paragraphs (SQuAD v1.1); scored as evaluate-v1.1.py: every gold as it is",
    V1_METRICS,
    V1_VERSION,
)
_squad(
    "squad_v2",
    "rajpurkar/squad_v2",
    "squad/dev-v2.0.json",
    "extractive QA with unanswerable questions (SQuAD v2.0); scored as evaluate-v2.0.py",
    V2_METRICS,
    V2_VERSION,
    answerless=True,
)
