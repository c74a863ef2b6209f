"""ELUE (Liu et al. 2022): its own released splits of SST-2, MRPC, STS-B, SNLI and SciTail, IMDb's public test set,
and SNLI and SciTail as their authors released them.

ELUE's own data (`elue/<Set>/dev.tsv` and `test_full.tsv`, the test split with its gold labels) differs from
GLUE's: its SST-2 is SST's own split (1,101 dev / 2,210 test, not GLUE's 872 dev), its SNLI text is tokenized,
its MRPC test has `-` for ids. These are tasks of their own, `elue/<set>` for the test split that ELUE scores
and `elue/<set>_dev` for the dev split. No hub copy of them is shown identical (no published checksum), so
they are mirror-only. IMDb (`imdb`) evaluates the public test split (hub `stanfordnlp/imdb`, 25,000 reviews):
ELUE re-split IMDb itself and that split has no public copy, so IMDb scores are on the public test set.

Reading: as ELUE's own data processors (ElasticBERT's `elue.py`, through transformers' `DataProcessor._read_tsv`
with `quotechar=None`) read them: tab-separated with no quoting, so CSV-style doubled quotes in some STS-B and MRPC
fields stay in the text as the file has them; the header line is skipped; columns by position (SST-2 and IMDb
`text label`; MRPC `label #1ID #2ID #1String #2String`; STS-B, SNLI, SciTail `text_a text_b label`). Unlike
those processors, a row with another column count than its header is refused (a tab inside a field would
move the text into the label). Labels as ELUE's files write them: SNLI 0/1/2 = entailment/neutral/contradiction,
**SciTail 1 = entails, 0 = neutral** (checked row by row against the official label strings), MRPC 1 = paraphrase.

`snli` and `scitail` are the authors' own validation splits (hub `stanfordnlp/snli`, `allenai/scitail`
`tsv_format`), read from the original files (`snli_1.0_dev.txt`, `scitail_1.0_dev.tsv`); SNLI drops its rows
without an annotator majority (`-`, hub -1), as SNLI's own evaluation does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, Row, Task, metric
from harness.tasks.files import column, label_index, read_tsv

BENCHMARK = "elue"
SENTIMENT = ("neg", "pos")  # hub `stanfordnlp/imdb` ClassLabel order; IMDb test.tsv writes 0 = neg, 1 = pos
NLI3 = ("entailment", "neutral", "contradiction")  # hub `stanfordnlp/snli` ClassLabel order, as ELUE's 0/1/2
SCITAIL = ("entails", "neutral")  # strings of the hub's `tsv_format` label column, in the hub task's index order
ELUE_SCITAIL = ("neutral", "entails")  # ELUE's SciTail files: 0 = neutral, 1 = entails
SST2 = ("negative", "positive")
MRPC = ("not_equivalent", "equivalent")
NO_GOLD = ("-1", "-")  # SNLI: no annotator majority (hub -1, original files "-")
INDEX_LABELS = {2: ("0", "1"), 3: ("0", "1", "2")}  # how ELUE's files and prediction files write labels
STSB_SCALE = (0.0, 5.0)  # STS-B gold similarity scores run from 0 to 5 (Cer et al. 2017)
ACC = (metric("accuracy"),)
ACC_F1 = (metric("accuracy"), metric("f1", "f1_binary"))
CORRELATIONS = (metric("pearson"), metric("spearmanr"))


def _elue_reader(
    header: tuple[str, ...], texts: dict[str, int], label_at: int, labels: tuple[str, ...] | None
) -> Callable[[Path], list[Row]]:
    """A reader for one of ELUE's TSVs: the header line must be `header`; `texts` maps each row field to its
    column; the gold is the column `label_at`, an index into `labels` (None: a float score)."""

    def read(path: Path) -> list[Row]:
        lines = read_tsv(path, header=False)
        if not lines or tuple(lines[0]) != header:
            found = "an empty file" if not lines else f"header {lines[0]}"
            raise UserError(f"{path}:1: {found}, expected ELUE's header {list(header)}", fix="use ELUE's released file")
        rows = []
        for n, line in enumerate(lines[1:], start=2):
            if len(line) != len(header):
                raise UserError(
                    f"{path}:{n}: {len(line)} columns, the header has {len(header)}",
                    fix=f"{'is the file truncated?' if len(line) < len(header) else 'a field contains a tab?'}"
                    " Use ELUE's released file",
                )
            row: dict[str, Any] = {"idx": len(rows), **{field: line[i] for field, i in texts.items()}}
            gold = line[label_at].strip()
            row["label"] = (
                _index(gold, INDEX_LABELS[len(labels)], path, n) if labels is not None else _score(gold, path, n)
            )
            rows.append(row)
        return rows

    return read


def _index(text: str, written: tuple[str, ...], path: Path, line: int) -> int:
    if text not in written:
        raise UserError(
            f"{path}:{line}: label {text!r} is not one of {', '.join(written)}, as ELUE's files write labels",
            fix="use ELUE's released file",
        )
    return written.index(text)


def _score(text: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{path}:{line}: score {text!r} is not a number", fix="use ELUE's released file") from None


def _elue_set(
    name: str,
    folder: str,
    header: tuple[str, ...],
    texts: dict[str, int],
    label_at: int,
    labels: tuple[str, ...] | None,
    metrics: tuple,
    description: str,
    dev_header: tuple[str, ...] | None = None,
) -> None:
    """Register ELUE's test split (`elue/<name>`, test_full.tsv) and its dev split (`elue/<name>_dev`, dev.tsv,
    whose header is `dev_header` where it differs)."""
    for suffix, file, split, which, head in (
        ("", "test_full.tsv", "test", "test split", header),
        ("_dev", "dev.tsv", "validation", "dev split", dev_header or header),
    ):
        reader = _elue_reader(head, texts, label_at, labels)
        register_task(
            Task(
                name=f"elue/{name}{suffix}",
                benchmark=BENCHMARK,
                kind="classification" if labels else "regression",
                source=DataSource(None, None, split, f"elue/{folder}/{file}", reader),
                metrics=metrics,
                format="glue_tsv",
                labels=labels or (),
                file_labels=INDEX_LABELS[len(labels)] if labels else (),
                text_fields=tuple(texts),
                description=f"{description}; ELUE's own {which} (elue/{folder}/{file}), mirror-only",
                gold_range=None if labels else STSB_SCALE,
            )
        )


_elue_set(
    "sst2",
    "SST-2",
    ("sentence", "label"),
    {"sentence": 0},
    1,
    SST2,
    ACC,
    "sentiment of movie-review sentences, SST's own split",
)
_elue_set(
    "mrpc",
    "MRPC",
    ("label", "#1 ID", "#2 ID", "#1 String", "#2 String"),
    {"sentence1": 3, "sentence2": 4},
    0,
    MRPC,
    ACC_F1,
    "paraphrase detection (news), tokenized text",
    dev_header=("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"),
)  # dev.tsv keeps GLUE's header
_elue_set(
    "stsb",
    "STS-B",
    ("sentence1", "sentence2", "label"),
    {"sentence1": 0, "sentence2": 1},
    2,
    None,
    CORRELATIONS,
    "semantic similarity, 0-5 (regression)",
)
_elue_set(
    "snli",
    "SNLI",
    ("premise", "hypothesis", "label"),
    {"premise": 0, "hypothesis": 1},
    2,
    NLI3,
    ACC,
    "3-way NLI on image captions, tokenized text, rows without a gold label left out by ELUE",
)
_elue_set(
    "scitail",
    "SciTail",
    ("premise", "hypothesis", "label"),
    {"premise": 0, "hypothesis": 1},
    2,
    ELUE_SCITAIL,
    ACC,
    "2-way entailment of science-exam hypotheses (0 = neutral, 1 = entails)",
)


def _read_imdb(path: Path) -> list[Row]:
    return _elue_reader(("text", "label"), {"text": 0}, 1, SENTIMENT)(path)


def _read_snli(path: Path) -> list[Row]:
    """SNLI's own snli_1.0_dev.txt: headed TSV; rows whose gold_label is `-` (no majority) are left out."""
    rows = []
    for r in read_tsv(path):
        gold = column(r, "gold_label", path)
        if gold in NO_GOLD:
            continue
        rows.append(
            {
                "idx": len(rows),
                "premise": column(r, "sentence1", path),
                "hypothesis": column(r, "sentence2", path),
                "label": label_index(gold, NLI3, path),
            }
        )
    return rows


SCITAIL_COLUMNS = 3  # scitail_1.0_dev.tsv: premise, hypothesis, label string; no header


def _read_scitail(path: Path) -> list[Row]:
    """SciTail's own tsv_format file: no header, `premise hypothesis entails|neutral`."""
    rows = []
    for n, line in enumerate(read_tsv(path, header=False), start=1):
        if len(line) != SCITAIL_COLUMNS:
            raise UserError(
                f"{path}:{n}: {len(line)} columns, SciTail's tsv_format has {SCITAIL_COLUMNS} (premise, "
                "hypothesis, label)",
                fix="use the official file",
            )
        if line[2] not in SCITAIL:
            raise UserError(
                f"{path}:{n}: label {line[2]!r} is not one of {', '.join(SCITAIL)}", fix="use the official file"
            )
        rows.append({"idx": len(rows), "premise": line[0], "hypothesis": line[1], "label": SCITAIL.index(line[2])})
    return rows


def _hub_rows(labels: tuple[str, ...], drop_no_gold: bool) -> Callable[[Any], list[Row]]:
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


register_task(
    Task(
        name="imdb",
        benchmark=BENCHMARK,
        kind="classification",
        source=DataSource(
            "stanfordnlp/imdb", None, "test", "elue/IMDb/test.tsv", _read_imdb, hub_rows=_hub_rows(SENTIMENT, False)
        ),
        metrics=ACC,
        format="glue_tsv",
        labels=SENTIMENT,
        file_labels=INDEX_LABELS[2],
        text_fields=("text",),
        description="sentiment of full movie reviews; the public test split (25,000), not ELUE's own re-split",
    )
)
register_task(
    Task(
        name="snli",
        benchmark=BENCHMARK,
        kind="classification",
        source=DataSource(
            "stanfordnlp/snli",
            None,
            "validation",
            "snli/snli_1.0/snli_1.0_dev.txt",
            _read_snli,
            hub_rows=_hub_rows(NLI3, True),
        ),
        metrics=ACC,
        format="glue_tsv",
        labels=NLI3,
        file_labels=INDEX_LABELS[3],
        text_fields=("premise", "hypothesis"),
        description="3-way NLI on image captions, SNLI's own dev split; rows without a gold label (-) dropped",
    )
)
register_task(
    Task(
        # version 2: its mirror reader read ELUE-layout files with 0 = entails, where ELUE writes 1 = entails
        name="scitail",
        benchmark=BENCHMARK,
        kind="classification",
        version=2,
        source=DataSource(
            "allenai/scitail",
            "tsv_format",
            "validation",
            "scitail/SciTailV1.1/tsv_format/scitail_1.0_dev.tsv",
            _read_scitail,
            hub_rows=_hub_rows(SCITAIL, False),
        ),
        metrics=ACC,
        format="glue_tsv",
        labels=SCITAIL,
        text_fields=("premise", "hypothesis"),
        description="2-way entailment of science-exam hypotheses, SciTail's own dev split (labels entails, neutral)",
    )
)
