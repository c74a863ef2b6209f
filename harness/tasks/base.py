"""What every task declares: where its data lives, how its gold labels read, how it is scored.

A task never imports torch: formulations (how rows become model inputs) live in `harness.inference.formulations`.
Rows are dicts in the schema of the task's Hugging Face dataset, whether they came from the hub or
from a local mirror in the benchmark's original layout, so everything downstream sees one schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

Row = dict[str, Any]
Prediction = Any  # int label index, float score, or answer text, depending on the task kind

KINDS = ("classification", "regression", "multiple_choice", "extractive_qa", "generative_qa")
# Metric values are fractions (docs/design.md: "stored as fractions in [0, 1]"); correlations (MCC, Pearson,
# Spearman) reach down to -1.
METRIC_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class DataSource:
    """Where a task's evaluation split comes from: a hub dataset and a file of the local mirror."""

    hub_path: str | None  # None: no public hub copy, the mirror file is the only source
    hub_config: str | None
    split: str
    mirror_file: str  # relative to the data dir, in the benchmark's original layout
    reader: Callable[[Path], list[Row]]  # reads the mirror file into rows of the hub schema
    hub_rows: Callable[[Any], list[Row]] | None = None  # converts a hub `Dataset` when its schema differs


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a task: the name it has in records, the function that computes it."""

    name: str
    fn: str  # id in harness.metrics.METRICS


def metric(name: str, fn: str | None = None) -> MetricSpec:
    """Shorthand: `metric("f1", "f1_macro")` records macro-F1 under the name "f1"."""
    return MetricSpec(name, fn or name)


@dataclass(frozen=True)
class Task:
    """A task: data source, formulation kind, labels, metrics, prediction-file format and version."""

    name: str
    benchmark: str
    kind: str
    source: DataSource
    metrics: tuple[MetricSpec, ...]
    format: str  # id in harness.formats.FORMATS: the benchmark's own submission file format
    version: int = 1
    labels: tuple[str, ...] = ()  # class names in dataset order (classification, multiple choice)
    file_labels: tuple[str, ...] = ()  # strings the benchmark's prediction file uses, if not `labels`
    text_fields: tuple[str, ...] = ()  # row fields paired as model input (classification, regression)
    label_field: str = "label"
    uid: Callable[[Row], str] = field(default=lambda row: str(row["idx"]))
    gold: Callable[[Row], Any] | None = None  # gold answer of a row; default `row[label_field]`
    groups: Callable[[Row], str] | None = None  # group id for grouped metrics (MultiRC questions)
    inputs: Callable[[Row], Sequence[str]] | None = None  # model input texts, if not `text_fields`
    # multiple choice: per option, its input texts and the prediction it stands for (COPA index, ReCoRD entity)
    choices: Callable[[Row], Sequence[tuple[Sequence[str], Any]]] | None = None
    max_length: int = 128
    score_metrics: tuple[str, ...] = ()  # metrics averaged into the task score; default: all
    description: str = ""
    gold_range: tuple[float, float] | None = None  # regression: the scale of the gold scores
    answerless: bool = False  # QA: a question may have no gold answer (SQuAD v2's unanswerable questions)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name}: kind {self.kind!r} is not one of {KINDS}")

    def texts(self, row: Row) -> tuple[str, ...]:
        """The input texts of a row, in model order (one text, or a pair)."""
        if self.inputs is not None:
            return tuple(self.inputs(row))
        return tuple(row[f] for f in self.text_fields)

    def gold_of(self, row: Row) -> Any:
        """The gold answer of a row (label index, score, or list of answer texts)."""
        return self.gold(row) if self.gold is not None else row[self.label_field]

    def label_strings(self) -> tuple[str, ...]:
        """Label strings as the benchmark's prediction files write them."""
        return self.file_labels or self.labels

    def compute_metrics(
        self, rows: Sequence[Row], predictions: Mapping[str, Prediction], predictions_file: str | Path | None = None
    ) -> dict[str, float]:
        """Score predictions (keyed by uid) against the gold of `rows` with the task's metrics.

        A refusal (an example without a prediction, a metric undefined for these predictions, such as a correlation
        of constant scores) is a UserError naming `predictions_file`, when the predictions came from one, and the task.
        """
        from harness.errors import UserError
        from harness.metrics import get_metric

        where = f"{predictions_file}: task {self.name}" if predictions_file else f"task {self.name}"
        missing = [self.uid(r) for r in rows if self.uid(r) not in predictions]
        if missing:
            raise UserError(
                f"{where}: {len(missing)} of {len(rows)} examples have no prediction (first: {missing[:3]})",
                fix="predict every example of the split (official scorers such as SQuAD v1.1's and ReCoRD's would count "
                "a missing prediction as wrong; the harness refuses a partial file, so that no leaderboard ranks one)",
            )
        available = {
            "predictions": [predictions[self.uid(r)] for r in rows],
            "references": [self.gold_of(r) for r in rows],
            "groups": [self.groups(r) for r in rows] if self.groups else None,
        }
        out = {}
        for spec in self.metrics:
            fn = get_metric(spec.fn, f"task {self.name}")
            try:
                out[spec.name] = fn.of(available)
            except ValueError as e:  # metrics raise ValueError only for inputs they cannot score, named and explained
                raise UserError(f"{where}: {e}") from e
        return out

    def score(self, metrics: Mapping[str, float]) -> float:
        """The task score, a fraction: the unweighted mean of its score metrics (official rule)."""
        names = self.score_names
        return sum([float(metrics[n]) for n in names]) / len(names)

    def check_metrics(self, metrics: Any, where: str) -> None:
        """Refuse (UserError naming `where`) metrics that are not this task's, lack a score metric, or are not
        finite fractions in METRIC_RANGE: one such value would move a ranking without a word."""
        low, high = METRIC_RANGE
        known = self.metric_names
        if type(metrics) is dict:  # the common case first, in plain loops: a board build reads 20,000 records
            for name, value in metrics.items():
                if name not in known or type(value) not in (float, int) or not low <= value <= high:
                    break
            else:
                for name in self.score_names:
                    if name not in metrics:
                        break
                else:
                    return
        from harness.errors import UserError, did_you_mean

        if not isinstance(metrics, dict):
            raise UserError(f"{where}: expected a mapping of metric: value, got {type(metrics).__name__}")
        for name, value in metrics.items():
            if name not in known:
                raise UserError(
                    f"{where}.{name}: not a metric of task {self.name}",
                    fix=did_you_mean(str(name), known, f"task {self.name} records"),
                )
            if type(value) not in (float, int) or value != value:  # bools, text, None, NaN
                raise UserError(f"{where}.{name} is {value!r}, expected a finite number")
            if not low <= value <= high:
                raise UserError(
                    f"{where}.{name} is {value!r}, outside [{low:g}, {high:g}]: metrics are stored as "
                    "fractions (divide a percentage by 100)"
                )
        for name in self.score_names:
            if name not in metrics:
                raise UserError(f"{where}: has no {name!r}, which the score of task {self.name} averages")

    @cached_property
    def metric_names(self) -> tuple[str, ...]:
        """The names the task's metrics have in records."""
        return tuple(m.name for m in self.metrics)

    @cached_property
    def score_names(self) -> tuple[str, ...]:
        """The metrics the task's score averages."""
        return self.score_metrics or self.metric_names
