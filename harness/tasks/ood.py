"""Robustness sets (issue 15): HANS, PAWS and AdvGLUE, classification tasks read from the Hugging Face hub, for a
track's out-of-distribution pairs (`ood: [{task: mnli_matched, on: hans, labels: {...}}]`) or on their own.

- `hans`: HANS (McCoy, Pavlick and Linzen 2019, Right for the Wrong Reasons, ACL), hub `jhu-cogsci/hans`, split
  validation (the evaluation set, 30,000 pairs); labels entailment, non-entailment (the hub's ClassLabel order);
  each row keeps its heuristic, subcase and template, as the paper breaks results down by them. An MNLI model is
  scored on it by mapping neutral and contradiction onto non-entailment after its own argmax, as the paper does
  (a many-to-one `ood` label map, harness.inference.robustness.relabelled).
- `paws`: PAWS-Wiki labeled final (Zhang, Baldridge and He 2019, PAWS: Paraphrase Adversaries from Word Scrambling,
  NAACL), hub `google-research-datasets/paws`, config labeled_final, split test (8,000 pairs); labels
  not_paraphrase, paraphrase (the hub writes 0, 1), examples keyed by the dataset's own `id`.
- `adv_<task>`: AdvGLUE (Wang et al. 2021, Adversarial GLUE, NeurIPS Datasets and Benchmarks), hub
  `AI-Secure/adv_glue`, split validation (its public dev set), one config per GLUE task (sst2, qqp, mnli,
  mnli_mismatched, qnli, rte), each with its GLUE task's labels (names and order) and text fields, scored with
  accuracy as AdvGLUE reports.

None of them is in the data mirror (MANIFEST.md): with a data dir each fails at once (DataNotFound) naming the file
it would read there, the dataset's own release in its original layout (`hans/heuristics_evaluation_set.txt`,
`paws/final/test.tsv`, `adv_glue/dev/dev.json`), and saying to drop --data-dir to use the hub. An organizer who
adds that file gets it read by the readers here, into the hub's schema. They are in no benchmark aggregate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, cast

import harness.tasks.glue  # noqa: F401  (registers the GLUE tasks whose labels and fields AdvGLUE keeps)
from harness.errors import UserError
from harness.tasks import TASKS, register_task
from harness.tasks.base import DataSource, Row, Task, metric
from harness.tasks.files import column, label_index, read_tsv

BENCHMARK = "robustness"
ACC = (metric("accuracy"),)
BINARY = ("0", "1")  # how PAWS's files (and the hub's ClassLabel) write its labels

HANS_HUB = "jhu-cogsci/hans"
HANS_FILE = "hans/heuristics_evaluation_set.txt"  # the authors' evaluation set (github.com/tommccoy1/hans)
HANS = ("entailment", "non-entailment")  # hub ClassLabel order; the file's gold_label strings
NO_CONSENSUS = "-"  # HANS: a row without a 3-of-5 annotator consensus, which the hub's loader leaves out
# The hub's field for each column of the authors' file (the hub loader's renaming).
HANS_COLUMNS = {
    "premise": "sentence1",
    "hypothesis": "sentence2",
    "parse_premise": "sentence1_parse",
    "parse_hypothesis": "sentence2_parse",
    "binary_parse_premise": "sentence1_binary_parse",
    "binary_parse_hypothesis": "sentence2_binary_parse",
    "heuristic": "heuristic",
    "subcase": "subcase",
    "template": "template",
}

PAWS_HUB = "google-research-datasets/paws"
PAWS_FILE = "paws/final/test.tsv"  # paws_wiki_labeled_final.tar.gz, extracted under paws/
PAWS = ("not_paraphrase", "paraphrase")

ADV_HUB = "AI-Secure/adv_glue"
ADV_FILE = "adv_glue/dev/dev.json"  # AdvGLUE's dev.zip, extracted under adv_glue/ (one key per GLUE task)
# AdvGLUE config: (the GLUE task whose labels and text fields it keeps, its key in dev.json)
ADV_TASKS = {
    "adv_sst2": ("sst2", "sst2"),
    "adv_qqp": ("qqp", "qqp"),
    "adv_mnli": ("mnli_matched", "mnli"),
    "adv_mnli_mismatched": ("mnli_mismatched", "mnli-mm"),
    "adv_qnli": ("qnli", "qnli"),
    "adv_rte": ("rte", "rte"),
}


def _indexed(labels: tuple[str, ...], add_idx: bool) -> Callable[[Any], list[Row]]:
    """Convert hub rows: a label string becomes its index in `labels` (ClassLabel ints stay), and, where the hub
    has no example id (`add_idx`), each row gets its position as `idx`, as the mirror reader numbers them."""

    def convert(ds: Any) -> list[Row]:
        rows = []
        for n, r in enumerate(ds):
            row = dict(r)
            label = row["label"]
            row["label"] = labels.index(label) if isinstance(label, str) and label in labels else label
            if add_idx:
                row["idx"] = n
            rows.append(row)
        return rows

    return convert


def _headed(path: Path) -> list[dict[str, str]]:
    """The rows of a headed TSV, as dicts by column name."""
    return cast("list[dict[str, str]]", read_tsv(path))


def _read_hans(path: Path) -> list[Row]:
    """The authors' heuristics_evaluation_set.txt: headed TSV; rows numbered in file order, without the rows that
    have no consensus label (none in the evaluation set), as the hub's loader reads it."""
    rows: list[Row] = []
    for r in _headed(path):
        gold = column(r, "gold_label", path)
        if gold == NO_CONSENSUS:
            continue
        row: Row = {"idx": len(rows), "label": label_index(gold, HANS, path)}
        row.update({field: column(r, name, path) for field, name in HANS_COLUMNS.items()})
        rows.append(row)
    return rows


def _read_paws(path: Path) -> list[Row]:
    """PAWS's final/test.tsv: headed TSV `id sentence1 sentence2 label` (label 0 or 1)."""
    rows = []
    for n, r in enumerate(_headed(path), start=2):
        raw = column(r, "id", path)
        if not raw.isdigit():
            raise UserError(f"{path}:{n}: id {raw!r} is not a whole number", fix="use PAWS's released file")
        rows.append(
            {
                "id": int(raw),
                "sentence1": column(r, "sentence1", path),
                "sentence2": column(r, "sentence2", path),
                "label": label_index(column(r, "label", path), BINARY, path),
            }
        )
    return rows


def _adv_reader(key: str, fields: tuple[str, ...]) -> Callable[[Path], list[Row]]:
    """A reader for AdvGLUE's dev.json (one JSON object, a list of rows per task key): the rows under `key`, each
    with `idx`, integer `label` and the text `fields`, as the hub's loader takes them."""

    def read(path: Path) -> list[Row]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"{path}: not a JSON file ({e})", fix="use AdvGLUE's released dev.json") from e
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            found = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
            raise UserError(
                f"{path}: no list of rows under key {key!r} (found {found})", fix="use AdvGLUE's released dev.json"
            )
        rows = []
        for n, r in enumerate(data[key]):
            where = f"{path}: {key}[{n}]"
            wanted = ("idx", "label", *fields)
            if not isinstance(r, dict) or any(k not in r for k in wanted):
                raise UserError(
                    f"{where}: expected the keys {', '.join(wanted)}", fix="use AdvGLUE's released dev.json"
                )
            if type(r["idx"]) is not int:
                raise UserError(f"{where}: idx {r['idx']!r} is not a whole number", fix="use AdvGLUE's released file")
            rows.append({"idx": r["idx"], "label": r["label"], **{f: r[f] for f in fields}})
        return rows

    return read


register_task(
    Task(
        name="hans",
        benchmark=BENCHMARK,
        kind="classification",
        source=DataSource(HANS_HUB, None, "validation", HANS_FILE, _read_hans, hub_rows=_indexed(HANS, True)),
        metrics=ACC,
        format="glue_tsv",
        labels=HANS,
        text_fields=("premise", "hypothesis"),
        description="HANS (McCoy et al. 2019): NLI pairs where lexical-overlap, subsequence and constituent "
        "heuristics fail; the 30,000-pair evaluation set, hub jhu-cogsci/hans",
    )
)
register_task(
    Task(
        name="paws",
        benchmark=BENCHMARK,
        kind="classification",
        source=DataSource(PAWS_HUB, "labeled_final", "test", PAWS_FILE, _read_paws, hub_rows=_indexed(BINARY, False)),
        metrics=ACC,
        format="glue_tsv",
        labels=PAWS,
        file_labels=BINARY,
        text_fields=("sentence1", "sentence2"),
        uid=lambda row: str(row["id"]),
        description="PAWS-Wiki (Zhang et al. 2019): paraphrase pairs of high word overlap; labeled_final test "
        "split (8,000), hub google-research-datasets/paws",
    )
)
for _name, (_glue_name, _key) in ADV_TASKS.items():
    _glue = TASKS.get(_glue_name)
    register_task(
        Task(
            name=_name,
            benchmark=BENCHMARK,
            kind="classification",
            source=DataSource(
                ADV_HUB,
                _name,
                "validation",
                ADV_FILE,
                _adv_reader(_key, _glue.text_fields),
                hub_rows=_indexed(_glue.labels, False),
            ),
            metrics=ACC,
            format="glue_tsv",
            labels=_glue.labels,
            file_labels=_glue.file_labels,
            text_fields=_glue.text_fields,
            description=f"AdvGLUE (Wang et al. 2021): adversarial {_glue_name} examples, its GLUE labels; dev set, "
            f"hub {ADV_HUB} config {_name}",
        )
    )
