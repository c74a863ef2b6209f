"""ELUE's three sets beyond GLUE (Liu et al. 2022): IMDb, SNLI and SciTail; its SST-2, MRPC, STS-B are GLUE's.

Splits: IMDb evaluates the hub's `test` split (25,000 reviews). ELUE re-split IMDb itself; that split
has no hub copy, so scores here are on the public test set, not on ELUE's dev/test. SNLI evaluates
`validation` without its label -1 rows (no annotator majority), as SNLI's own evaluation does.
SciTail evaluates `validation` of the `tsv_format` config.

Mirror layout (ELUE's released TSVs, `elue/<Set>/dev.tsv`): one header line, then by position
IMDb `text<TAB>label`, SNLI and SciTail `premise<TAB>hypothesis<TAB>label` (label last). Labels are
indices in the orders below, or the label names. SciTail's numeric labels are read as
0 = entails, 1 = neutral: an assumption (ELUE's files do not name them); check a copy before trusting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, Row, Task, metric
from harness.tasks.files import label_index, read_tsv

BENCHMARK = "elue"
SENTIMENT = ("neg", "pos")  # hub `stanfordnlp/imdb` ClassLabel order
NLI3 = ("entailment", "neutral", "contradiction")  # hub `stanfordnlp/snli` ClassLabel order
SCITAIL = ("entails", "neutral")  # strings of the hub's `tsv_format` label column
NO_GOLD = ("-1", "-")  # SNLI: no annotator majority (hub -1, original files "-")
INDEX_LABELS = {2: ("0", "1"), 3: ("0", "1", "2")}  # how ELUE's files and prediction files write labels


def _positional_reader(n_texts: int, fields: tuple[str, ...], labels: tuple[str, ...], drop_no_gold: bool):
    """A reader for ELUE's headed TSV read by position: `n_texts` text columns, the label last; rows without a
    gold label are dropped only where the set's own evaluation drops them (`drop_no_gold`), else refused."""

    def read(path: Path) -> list[Row]:
        lines = read_tsv(path, header=False)[1:]  # ELUE's processors skip the header line by position
        rows = []
        for n, line in enumerate(lines, start=2):
            if len(line) < n_texts + 1:
                raise UserError(f"{path}:{n}: {len(line)} columns, expected {n_texts} text column(s) and a label; "
                                "is this ELUE's TSV layout?")
            if drop_no_gold and line[-1].strip() in NO_GOLD:
                continue
            row: dict[str, Any] = {"idx": len(rows)}
            row.update(zip(fields, line[:n_texts]))
            row["label"] = label_index(line[-1].strip(), labels, path)
            rows.append(row)
        return rows

    return read


def _hub_rows(labels: tuple[str, ...], drop_no_gold: bool):
    """Convert hub rows: drop unlabelled ones where `drop_no_gold` (else they are refused on load), label strings
    become indices, add a running `idx`."""

    def convert(ds: Any) -> list[Row]:
        rows = []
        for r in ds:
            label = r["label"]
            if drop_no_gold and str(label) in NO_GOLD:
                continue
            row = dict(r)
            row["label"] = labels.index(label) if isinstance(label, str) else int(label)
            row["idx"] = len(rows)
            rows.append(row)
        return rows

    return convert


def _elue(name: str, hub: str, config: str | None, split: str, mirror: str, fields: tuple[str, ...],
          labels: tuple[str, ...], description: str, drop_no_gold: bool = False) -> Task:
    return register_task(Task(
        name=name, benchmark=BENCHMARK, kind="classification",
        source=DataSource(hub, config, split, f"elue/{mirror}", _positional_reader(len(fields), fields, labels,
                                                                                     drop_no_gold),
                          hub_rows=_hub_rows(labels, drop_no_gold)),
        metrics=(metric("accuracy"),), format="glue_tsv", labels=labels, file_labels=INDEX_LABELS[len(labels)],
        text_fields=fields, description=description,
    ))


_elue("imdb", "stanfordnlp/imdb", None, "test", "IMDb/dev.tsv", ("text",), SENTIMENT,
      "sentiment of full movie reviews (public test split, not ELUE's own re-split)")
_elue("snli", "stanfordnlp/snli", None, "validation", "SNLI/dev.tsv", ("premise", "hypothesis"), NLI3,
      "3-way NLI on image captions; rows without a gold label (-1) dropped", drop_no_gold=True)
_elue("scitail", "allenai/scitail", "tsv_format", "validation", "SciTail/dev.tsv", ("premise", "hypothesis"), SCITAIL,
      "2-way entailment of science-exam hypotheses")
