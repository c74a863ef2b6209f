"""The one table of model heads: what each head outputs, which task kinds run it, which trained class it needs.

Every other place that knows about heads (formulations, the torch backend, submission checks, tiny models,
measurements) reads this table, so a new head is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    """A model head: its forward output, the task kinds it can do, and how transformers names its class."""

    name: str
    output: str  # the forward output formulations read ("" for generation only)
    kinds: tuple[str, ...]  # task kinds it can do
    trained_suffix: str = ""  # config.json `architectures` must end so for the head's weights to be trained
    class_suffix: str = ""  # how a transformers class of this head ends (BertForMultipleChoice)
    auto_class: str = ""  # the transformers Auto class that loads it


HEADS_TABLE = (
    Head(
        "sequence_classification",
        "logits",
        ("classification", "regression"),
        "ForSequenceClassification",
        "ForSequenceClassification",
        "AutoModelForSequenceClassification",
    ),  # logits [batch, num_labels]
    # [batch, hidden], mean-pooled; offered to classification too, where task_head refuses it with the reason
    Head("cosine", "embedding", ("classification", "regression"), "", "Model", "AutoModel"),
    Head(
        "multiple_choice",
        "logits",
        ("multiple_choice",),
        "ForMultipleChoice",
        "ForMultipleChoice",
        "AutoModelForMultipleChoice",
    ),  # [batch, 1]: one score per (context, option) sequence
    Head(
        "question_answering",
        "start_logits",
        ("extractive_qa",),
        "ForQuestionAnswering",
        "ForQuestionAnswering",
        "AutoModelForQuestionAnswering",
    ),  # and end_logits: [batch, length]
    Head("seq2seq", "", ("generative_qa",), "", "ForConditionalGeneration", "AutoModelForSeq2SeqLM"),
    # a question_answering model plus the passages in its folder
    Head(
        "retriever_reader",
        "start_logits",
        ("generative_qa",),
        "ForQuestionAnswering",
        "",
        "AutoModelForQuestionAnswering",
    ),
)
HEADS = {h.name: h for h in HEADS_TABLE}
# The outputs a graph backend (onnxruntime) reads for each head it runs, by their Hugging Face names; a
# submission's task entry may map them to other graph output names (`outputs:`)
HEAD_OUTPUTS = {
    "cosine": ("last_hidden_state",),
    "sequence_classification": ("logits",),
    "question_answering": ("start_logits", "end_logits"),
    "retriever_reader": ("start_logits", "end_logits"),
}
GRAPH_BACKENDS = ("onnxruntime",)  # the backends that read HEAD_OUTPUTS from named graph outputs
COSINE = "cosine"


def heads_for(kind: str) -> tuple[str, ...]:
    """The heads a task kind can run, its default first (the order of HEADS_TABLE)."""
    return tuple(h.name for h in HEADS_TABLE if kind in h.kinds)


def class_head(class_name: str) -> str | None:
    """The head a transformers class name stands for (BertForMultipleChoice -> multiple_choice), else None; the
    first row whose class suffix fits, so a bare encoder ("BertModel") reads as cosine."""
    return next((h.name for h in HEADS_TABLE if h.class_suffix and class_name.endswith(h.class_suffix)), None)
