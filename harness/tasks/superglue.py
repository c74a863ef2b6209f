"""SuperGLUE (Wang et al. 2019): the eight tasks on their validation sets, and the AX-b/AX-g diagnostics.

Rows follow the hub's `aps/super_glue` (the script-free copy of `super_glue`); the mirror holds the
official JSON-lines files (`superglue/<Task>/val.jsonl`), read here into that schema. Test labels are
hidden, so the eight tasks evaluate validation; the diagnostics' public labelled `test` split is all they have.
Every task's formulation (how a row becomes model inputs) is stated in its `description`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from harness.errors import UserError
from harness.tasks import register_task
from harness.tasks.base import DataSource, MetricSpec, Row, Task, metric
from harness.tasks.files import json_lines

HUB = "aps/super_glue"
BENCHMARK = "superglue"
BOOL = ("False", "True")  # hub ClassLabel names of the yes/no tasks (BoolQ, MultiRC, WiC, WSC)
LOWER_BOOL = ("false", "true")  # how the SuperGLUE server wants BoolQ and WiC labels written
CB_LABELS = ("entailment", "contradiction", "neutral")  # hub order, not GLUE MNLI's
NLI2 = ("entailment", "not_entailment")
COPA_LABELS = ("choice1", "choice2")
MULTIRC_FILE = ("0", "1")  # MultiRC server files write answer labels as 0/1
UNLABELLED = -1  # the hub's label for a row whose gold is hidden
PASSAGE_MAX_LENGTH = 256  # BoolQ, MultiRC and ReCoRD pair a question with a paragraph: 128 tokens cut most of it
COPA_CONNECTORS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
PLACEHOLDER = "@placeholder"  # ReCoRD queries mark the masked entity with this token
RECORD_VERSION = 2  # 2: scored by record_evaluation.py's rules, no longer SQuAD v2.0's (issue 11)
AXG_PAIR_SIZE = 2  # AX-g minimal pairs are rows 2k and 2k+1 (each row has its own `pair_id`, so pairs are idx // 2)

ACC = (metric("accuracy"),)


# ---------------------------------------------------------------------------------------------
# reading the official JSON-lines layout
# ---------------------------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """('file:line', object) for each line of an official SuperGLUE file."""
    return json_lines(path, "one JSON object of the official SuperGLUE layout")


def _get(obj: dict[str, Any], name: str, where: str) -> Any:
    """A required field, or an error naming the place, the field and the fix."""
    if not isinstance(obj, dict) or name not in obj:
        fields = ", ".join(obj) if isinstance(obj, dict) else "none"
        raise UserError(f"{where}: no field {name!r} (fields: {fields})", fix="use the official SuperGLUE file")
    return obj[name]


def _label(value: Any, labels: tuple[str, ...], where: str) -> int:
    """A label index from the file's value: a label name, a JSON bool (yes/no tasks), or an index; absent = -1."""
    if value is None:
        return UNLABELLED
    if isinstance(value, bool) and labels == BOOL:
        return int(value)
    if isinstance(value, str) and value in labels:
        return labels.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
        return value
    raise UserError(f"{where}: label {value!r} is not one of {', '.join(labels)}", fix="is this the right task's file?")


def _flat_reader(fields: Sequence[str], labels: tuple[str, ...]) -> Callable[[Path], list[Row]]:
    """A reader for one-example-per-line files: the named fields, `idx`, and the label as an index."""

    def read(path: Path) -> list[Row]:
        rows = []
        for where, obj in _records(path):
            row = {f: _get(obj, f, where) for f in fields}
            row["idx"] = _get(obj, "idx", where)
            row["label"] = _label(obj.get("label"), labels, where)
            rows.append(row)
        return rows

    return read


def _read_wsc(path: Path) -> list[Row]:
    """WSC: the `target` span fields lifted to the top level, spans fixed as in the hub's `wsc.fixed`."""
    rows = []
    for where, obj in _records(path):
        target = _get(obj, "target", where)
        row = {"text": _get(obj, "text", where)}
        for k in ("span1_index", "span2_index", "span1_text", "span2_text"):
            row[k] = _get(target, k, f"{where} target")
        row["idx"] = _get(obj, "idx", where)
        row["label"] = _label(obj.get("label"), BOOL, where)
        rows.append(_fix_wsc_spans(row))
    return rows


def _fix_wsc_spans(row: Row) -> Row:
    """Make a span text a substring of the text where it only differs in case, a final period or a newline."""
    words = row["text"].split()
    for k in ("span1", "span2"):
        span = row[f"{k}_text"]
        index = row[f"{k}_index"]
        if span in row["text"] or not span or not 0 <= index < len(words):
            continue
        first = words[index][0]
        span = (span[0].lower() if first.islower() else span[0].upper()) + span[1:]
        span = span.rstrip(".").replace("\n", " ")
        if span in row["text"]:
            row[f"{k}_text"] = span
    return row


def _read_multirc(path: Path) -> list[Row]:
    """MultiRC: passage -> questions -> answers flattened to one row per answer option (the hub schema)."""
    rows = []
    for where, obj in _records(path):
        passage = _get(obj, "passage", where)
        p = _get(obj, "idx", where)
        text = _get(passage, "text", f"{where} passage")
        for question in _get(passage, "questions", f"{where} passage"):
            q = _get(question, "idx", f"{where} question")
            for answer in _get(question, "answers", f"{where} question {q}"):
                here = f"{where} question {q} answer"
                rows.append(
                    {
                        "paragraph": text,
                        "question": _get(question, "question", f"{where} question {q}"),
                        "answer": _get(answer, "text", here),
                        "idx": {"paragraph": p, "question": q, "answer": _get(answer, "idx", here)},
                        "label": _label(answer.get("label"), BOOL, here),
                    }
                )
    return rows


def _read_record(path: Path) -> list[Row]:
    """ReCoRD: one row per query; entity spans become exclusive-end spans (the file's `end` is inclusive)."""
    rows = []
    for where, obj in _records(path):
        passage = _get(obj, "passage", where)
        text = _get(passage, "text", f"{where} passage")
        spans = sorted(
            (
                (int(_get(e, "start", f"{where} entity")), int(_get(e, "end", f"{where} entity")) + 1)
                for e in _get(passage, "entities", f"{where} passage")
            )
        )
        span_texts = [text[s:e] for s, e in spans]
        for qa in _get(obj, "qas", where):
            rows.append(
                {
                    "passage": text,
                    "query": _get(qa, "query", f"{where} qas"),
                    "entities": sorted(set(span_texts)),
                    "entity_spans": {"text": span_texts, "start": [s for s, _ in spans], "end": [e for _, e in spans]},
                    "answers": sorted({_get(a, "text", f"{where} answer") for a in qa.get("answers", [])}),
                    "idx": {"passage": _get(obj, "idx", where), "query": _get(qa, "idx", f"{where} qas")},
                }
            )
    return rows


def _read_axg(path: Path) -> list[Row]:
    """AX-g: premise/hypothesis rows in the official file's order, where rows 2k and 2k+1 are one minimal pair.

    The official file gives every row its own `pair_id`, so pairs are known only by position: a row whose idx is
    not its position, or a pair whose two rows differ in hypothesis or label (a minimal pair changes only the
    pronoun of the premise), means the file is not the official one in its order, and is refused.
    """
    rows = []
    for n, (where, obj) in enumerate(_records(path)):
        idx = _get(obj, "idx", where)
        if idx != n:
            raise UserError(
                f"{where}: idx {idx!r} on row {n}",
                fix="AX-g pairs rows 2k and 2k+1 by position, so rows must "
                "be in the official file's order: use the official AX-g.jsonl",
            )
        rows.append(
            {
                "premise": _get(obj, "premise", where),
                "hypothesis": _get(obj, "hypothesis", where),
                "idx": idx,
                "label": _label(obj.get("label"), NLI2, where),
            }
        )
        if n % AXG_PAIR_SIZE == AXG_PAIR_SIZE - 1:
            first, second = rows[-2], rows[-1]
            if (first["hypothesis"], first["label"]) != (second["hypothesis"], second["label"]):
                raise UserError(
                    f"{where}: rows {n - 1} and {n} are not a minimal pair (their hypothesis or label differs)",
                    fix="AX-g pairs rows 2k and 2k+1: use the official AX-g.jsonl, in its order",
                )
    if len(rows) % AXG_PAIR_SIZE:
        raise UserError(
            f"{path}: {len(rows)} rows, an odd number",
            fix="AX-g is made of minimal pairs (rows 2k, 2k+1): use the whole official AX-g.jsonl",
        )
    return rows


# ---------------------------------------------------------------------------------------------
# inputs and options
# ---------------------------------------------------------------------------------------------


def _wic_inputs(row: Row) -> tuple[str, str]:
    """The target word prefixed to the first sentence, so the model knows which word to compare."""
    return f"{row['word']}: {row['sentence1']}", row["sentence2"]


def _wsc_inputs(row: Row) -> tuple[str, str]:
    """The text, and the coreference claim to judge: "<pronoun> refers to <noun phrase>"."""
    return row["text"], f"{row['span2_text']} refers to {row['span1_text']}"


def _multirc_inputs(row: Row) -> tuple[str, str]:
    """The paragraph, and the question followed by one candidate answer."""
    return row["paragraph"], f"{row['question']} {row['answer']}"


def _multirc_uid(row: Row) -> str:
    i = row["idx"]
    return f"{i['paragraph']}-{i['question']}-{i['answer']}"


def _multirc_question(row: Row) -> str:
    i = row["idx"]
    return f"{i['paragraph']}-{i['question']}"


def _copa_choices(row: Row) -> list[tuple[tuple[str, str], int]]:
    """Premise plus a question naming the relation (cause or effect), paired with each choice; value = its index."""
    if row["question"] not in COPA_CONNECTORS:
        raise UserError(
            f"COPA example {row['idx']}: question {row['question']!r} is not 'cause' or 'effect'",
            fix="use the official COPA data",
        )
    context = f"{row['premise']} {COPA_CONNECTORS[row['question']]}"
    return [((context, row["choice1"]), 0), ((context, row["choice2"]), 1)]


def _record_choices(row: Row) -> list[tuple[tuple[str, str], str]]:
    """The passage paired with the query completed by each entity; value = the entity text."""
    return [((row["passage"], row["query"].replace(PLACEHOLDER, e)), e) for e in row["entities"]]


# ---------------------------------------------------------------------------------------------
# the tasks
# ---------------------------------------------------------------------------------------------


def _superglue(
    name: str,
    config: str,
    mirror: str,
    reader: Callable[[Path], list[Row]],
    metrics: tuple[MetricSpec, ...],
    description: str,
    *,
    split: str = "validation",
    kind: str = "classification",
    **fields: Any,
) -> Task:
    return register_task(
        Task(
            name=name,
            benchmark=BENCHMARK,
            kind=kind,
            source=DataSource(HUB, config, split, f"superglue/{mirror}", reader),
            metrics=metrics,
            format="superglue_jsonl",
            description=description,
            **fields,
        )
    )


_superglue(
    "boolq",
    "boolq",
    "BoolQ/val.jsonl",
    _flat_reader(("question", "passage"), BOOL),
    ACC,
    "yes/no questions about a Wikipedia paragraph; pair classification of (question, passage)",
    labels=BOOL,
    file_labels=LOWER_BOOL,
    text_fields=("question", "passage"),
    max_length=PASSAGE_MAX_LENGTH,
)
_superglue(
    "cb",
    "cb",
    "CB/val.jsonl",
    _flat_reader(("premise", "hypothesis"), CB_LABELS),
    (metric("accuracy"), metric("f1", "f1_macro")),
    "3-way entailment (CommitmentBank); pair classification of (premise, hypothesis); "
    "score = mean of accuracy and macro-F1",
    labels=CB_LABELS,
    text_fields=("premise", "hypothesis"),
)
_superglue(
    "copa",
    "copa",
    "COPA/val.jsonl",
    _flat_reader(("premise", "choice1", "choice2", "question"), COPA_LABELS),
    ACC,
    "causal reasoning; multiple choice: context = premise + 'What was the cause?' or 'What happened as a "
    "result?', each choice scored with it; prediction = choice index (0/1)",
    kind="multiple_choice",
    labels=COPA_LABELS,
    choices=_copa_choices,
)
_superglue(
    "multirc",
    "multirc",
    "MultiRC/val.jsonl",
    _read_multirc,
    (metric("exact_match", "multirc_exact_match"), metric("f1_a", "multirc_f1a")),
    "multi-answer reading comprehension; binary classification of each answer option as (paragraph, "
    "question + ' ' + answer); EM per question; score = mean of EM and F1a",
    labels=BOOL,
    file_labels=MULTIRC_FILE,
    inputs=_multirc_inputs,
    uid=_multirc_uid,
    groups=_multirc_question,
    max_length=PASSAGE_MAX_LENGTH,
)
_superglue(
    "record",
    "record",
    "ReCoRD/val.jsonl",
    _read_record,
    (metric("exact_match", "record_exact_match"), metric("f1", "record_f1")),
    "cloze-style news reading comprehension; multiple choice over the passage's entities: each entity "
    "replaces @placeholder in the query, paired with the passage; prediction = entity text; "
    "EM/F1 max over gold answers as record_evaluation.py scores them; score = mean of F1 and EM",
    kind="multiple_choice",
    gold=lambda row: list(row["answers"]),
    uid=lambda row: str(row["idx"]["query"]),
    choices=_record_choices,
    max_length=PASSAGE_MAX_LENGTH,
    version=RECORD_VERSION,
)
_superglue(
    "superglue/rte",
    "rte",
    "RTE/val.jsonl",
    _flat_reader(("premise", "hypothesis"), NLI2),
    ACC,
    "textual entailment (SuperGLUE's copy of RTE); pair classification of (premise, hypothesis)",
    labels=NLI2,
    text_fields=("premise", "hypothesis"),
)
_superglue(
    "wic",
    "wic",
    "WiC/val.jsonl",
    _flat_reader(("word", "sentence1", "sentence2", "start1", "start2", "end1", "end2"), BOOL),
    ACC,
    "same word sense in two sentences?; pair classification of ('word: sentence1', sentence2)",
    labels=BOOL,
    file_labels=LOWER_BOOL,
    inputs=_wic_inputs,
)
_superglue(
    "wsc",
    "wsc.fixed",
    "WSC/val.jsonl",
    _read_wsc,
    ACC,
    "Winograd coreference; binary classification of (text, 'span2_text refers to span1_text'), "
    "e.g. 'him refers to anyone'",
    labels=BOOL,
    inputs=_wsc_inputs,
)
_superglue(
    "axb",
    "axb",
    "AX-b/AX-b.jsonl",
    _flat_reader(("sentence1", "sentence2"), NLI2),
    (metric("matthews_correlation"),),
    "broad-coverage diagnostic, evaluated with an RTE model; pair classification of (sentence1, sentence2); "
    "reported apart from the SuperGLUE score",
    split="test",
    labels=NLI2,
    text_fields=("sentence1", "sentence2"),
)
_superglue(
    "axg",
    "axg",
    "AX-g/AX-g.jsonl",
    _read_axg,
    (metric("accuracy"), metric("gender_parity")),
    "Winogender diagnostic, evaluated with an RTE model; pair classification of (premise, hypothesis); "
    "records accuracy and gender parity (minimal pairs idx 2k, 2k+1); task score = accuracy, since a "
    "constant prediction has perfect parity; reported apart from the SuperGLUE score",
    split="test",
    labels=NLI2,
    text_fields=("premise", "hypothesis"),
    groups=lambda row: str(row["idx"] // AXG_PAIR_SIZE),
    score_metrics=("accuracy",),
)
