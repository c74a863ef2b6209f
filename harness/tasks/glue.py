"""GLUE (Wang et al. 2019): the nine tasks and the AX diagnostic, on their dev sets.

Test labels are not public, so each task evaluates its validation split; the test-server file format
(`index<TAB>prediction`) is what `harness score` reads and `harness evaluate` writes.
Label orders follow the Hugging Face `nyu-mll/glue` dataset.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, Row, Task, metric
from harness.tasks.files import column, label_index, read_tsv

HUB = "nyu-mll/glue"
BINARY = ("0", "1")  # GLUE test-server files write these tasks' labels as 0/1
NLI3 = ("entailment", "neutral", "contradiction")
NLI2 = ("entailment", "not_entailment")


def _pair_reader(a: str, b: str, label: str, labels: tuple[str, ...], index: str | None = "index"):
    """A reader for a headed TSV whose two text columns and label column are named."""

    def read(path: Path) -> list[Row]:
        rows = []
        for n, r in enumerate(read_tsv(path)):
            rows.append(
                {
                    "idx": int(column(r, index, path)) if index else n,
                    "sentence1": column(r, a, path),
                    "sentence2": column(r, b, path),
                    "label": label_index(column(r, label, path), labels, path)
                    if labels
                    else float(column(r, label, path)),
                }
            )
        return rows

    return read


COLA_COLUMNS = 4  # CoLA has no header: source, label, original annotation, sentence


def _read_cola(path: Path) -> list[Row]:
    rows = []
    for n, line in enumerate(read_tsv(path, header=False)):
        if len(line) != COLA_COLUMNS:
            raise UserError(
                f"{path}: line {n + 1} has {len(line)} columns, CoLA's have {COLA_COLUMNS} (source, label, "
                "annotation, sentence)",
                fix="use the official file",
            )
        rows.append({"idx": n, "sentence": line[3], "label": _integer(line[1], path, n + 1)})
    return rows


def _integer(text: str, path: Path, line: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(
            f"{path}: line {line}: label {text!r} is not a whole number", fix="use the official file"
        ) from None


def _read_sst2(path: Path) -> list[Row]:
    return [
        {"idx": n, "sentence": column(r, "sentence", path), "label": _integer(column(r, "label", path), path, n + 2)}
        for n, r in enumerate(read_tsv(path))
    ]


def _renamed(reader, names: dict[str, str]):
    """Wrap a reader so its rows use the hub schema's field names."""

    def read(path: Path) -> list[Row]:
        return [{names.get(k, k): v for k, v in row.items()} for row in reader(path)]

    return read


def _read_mnli(path: Path) -> list[Row]:
    rows = []
    for n, r in enumerate(read_tsv(path)):
        rows.append(
            {
                "idx": n,
                "premise": column(r, "sentence1", path),
                "hypothesis": column(r, "sentence2", path),
                "label": label_index(column(r, "gold_label", path), NLI3, path),
            }
        )
    return rows


def _read_ax(path: Path) -> list[Row]:
    # diagnostic-full.tsv: category columns, then Premise, Hypothesis, Label.
    return [
        {
            "idx": n,
            "premise": column(r, "Premise", path),
            "hypothesis": column(r, "Hypothesis", path),
            "label": label_index(column(r, "Label", path), NLI3, path),
        }
        for n, r in enumerate(read_tsv(path))
    ]


def _glue(
    name,
    mirror,
    reader,
    fields,
    labels,
    metrics,
    *,
    file_labels=(),
    hub_config=None,
    hub_split="validation",
    description="",
    gold_range=None,
):
    return register_task(
        Task(
            name=name,
            benchmark="glue",
            kind="classification" if labels else "regression",
            source=DataSource(HUB, hub_config or name, hub_split, f"glue/{mirror}", reader),
            metrics=metrics,
            format="glue_tsv",
            labels=labels,
            file_labels=file_labels,
            text_fields=fields,
            description=description,
            gold_range=gold_range,
        )
    )


ACC = (metric("accuracy"),)
STSB_SCALE = (0.0, 5.0)  # STS-B gold similarity scores run from 0 to 5 (Cer et al. 2017, SemEval STS benchmark)
ACC_F1 = (metric("accuracy"), metric("f1", "f1_binary"))

_glue(
    "cola",
    "CoLA/dev.tsv",
    _read_cola,
    ("sentence",),
    ("unacceptable", "acceptable"),
    (metric("matthews_correlation"),),
    file_labels=BINARY,
    description="grammatical acceptability",
)
_glue(
    "sst2",
    "SST-2/dev.tsv",
    _read_sst2,
    ("sentence",),
    ("negative", "positive"),
    ACC,
    file_labels=BINARY,
    description="sentiment of movie-review sentences",
)
_glue(
    "mrpc",
    "MRPC/dev.tsv",
    _pair_reader("#1 String", "#2 String", "Quality", BINARY, index=None),
    ("sentence1", "sentence2"),
    ("not_equivalent", "equivalent"),
    ACC_F1,
    file_labels=BINARY,
    description="paraphrase detection (news)",
)
_glue(
    "qqp",
    "QQP/dev.tsv",
    _renamed(
        _pair_reader("question1", "question2", "is_duplicate", BINARY, index=None),
        {"sentence1": "question1", "sentence2": "question2"},
    ),
    ("question1", "question2"),
    ("not_duplicate", "duplicate"),
    ACC_F1,
    file_labels=BINARY,
    description="duplicate Quora questions",
)
_glue(
    "stsb",
    "STS-B/dev.tsv",
    _pair_reader("sentence1", "sentence2", "score", ()),
    ("sentence1", "sentence2"),
    (),
    (metric("pearson"), metric("spearmanr")),
    description="semantic similarity, 0-5 (regression)",
    gold_range=STSB_SCALE,
)
_glue(
    "mnli_matched",
    "MNLI/dev_matched.tsv",
    _read_mnli,
    ("premise", "hypothesis"),
    NLI3,
    ACC,
    hub_config="mnli",
    hub_split="validation_matched",
    description="NLI, in-genre",
)
_glue(
    "mnli_mismatched",
    "MNLI/dev_mismatched.tsv",
    _read_mnli,
    ("premise", "hypothesis"),
    NLI3,
    ACC,
    hub_config="mnli",
    hub_split="validation_mismatched",
    description="NLI, cross-genre",
)
_glue(
    "qnli",
    "QNLI/dev.tsv",
    _renamed(_pair_reader("question", "sentence", "label", NLI2), {"sentence1": "question", "sentence2": "sentence"}),
    ("question", "sentence"),
    NLI2,
    ACC,
    description="question-answer entailment (SQuAD)",
)
_glue(
    "rte",
    "RTE/dev.tsv",
    _pair_reader("sentence1", "sentence2", "label", NLI2),
    ("sentence1", "sentence2"),
    NLI2,
    ACC,
    description="textual entailment",
)
_glue(
    "wnli",
    "WNLI/dev.tsv",
    _pair_reader("sentence1", "sentence2", "label", BINARY),
    ("sentence1", "sentence2"),
    ("not_entailment", "entailment"),
    ACC,
    file_labels=BINARY,
    description="Winograd NLI",
)
# AX: the labelled diagnostic (the hub's `ax` config is the unlabelled test file), scored with R3 = MCC.
_glue(
    "ax",
    "diagnostic/diagnostic-full.tsv",
    _read_ax,
    ("premise", "hypothesis"),
    NLI3,
    (metric("matthews_correlation"),),
    hub_split="test",
    description="diagnostic NLI, evaluated with an MNLI model",
)
