"""Tiny random models and submissions built in code: for tests, benchmarks and dry runs, never the hub.

A 2-layer, 32-wide BERT (or T5) with the real BERT uncased vocabulary loads in a fraction of a second,
so a whole track can be exercised end to end on a laptop.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.heads import HEADS, heads_for

TINY_BERT = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=512
)
TINY_T5 = dict(d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2)
BERT_VOCAB_SIZE = 30522  # bert-base-uncased WordPiece vocabulary
VOCAB_FILE = "vocab/bert-base-uncased-vocab.txt"  # inside the data mirror


def bert_tokenizer(vocab: Path):
    """A BERT WordPiece tokenizer from a vocab file (transformers 5: `vocab=`, not `vocab_file=`)."""
    from transformers import BertTokenizer

    return BertTokenizer(vocab=str(vocab))


def save_tiny_bert(
    folder: Path, vocab: Path, head: str = "sequence_classification", num_labels: int = 2, seed: int = 0, **config
) -> Path:
    """Write a tiny random BERT for `head` in save_pretrained layout."""
    import torch
    import transformers

    torch.manual_seed(seed)
    cfg = transformers.BertConfig(vocab_size=BERT_VOCAB_SIZE, num_labels=num_labels, **{**TINY_BERT, **config})
    row = HEADS[head]
    getattr(transformers, "Bert" + (row.trained_suffix or row.class_suffix))(cfg).save_pretrained(folder)
    bert_tokenizer(vocab).save_pretrained(folder)
    return folder


def save_tiny_t5(folder: Path, vocab: Path, seed: int = 0) -> Path:
    """Write a tiny random T5 (seq2seq) that uses a BERT WordPiece tokenizer."""
    import torch
    import transformers

    torch.manual_seed(seed)
    tok = bert_tokenizer(vocab)
    cfg = transformers.T5Config(
        vocab_size=BERT_VOCAB_SIZE,
        decoder_start_token_id=tok.pad_token_id,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.sep_token_id,
        **TINY_T5,
    )
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_tiny_submission(folder: Path, tasks: list[str], vocab: Path, seed: int = 0) -> Path:
    """A submission folder with one tiny model per (head, label count) that `tasks` need."""
    from harness.tasks import get_task

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    made: set[str] = set()
    for name in tasks:
        task = get_task(name)
        head = heads_for(task.kind)[0]
        labels = 1 if task.kind in ("regression", "multiple_choice") else max(len(task.labels), 2)
        model = f"{head}-{labels}"
        if model not in made:
            if head == "seq2seq":
                save_tiny_t5(folder / model, vocab, seed)
            else:
                save_tiny_bert(folder / model, vocab, head, labels, seed)
            made.add(model)
        entries.append(f"  {name}: {{model: {model}}}")
    (folder / "submission.yaml").write_text(
        f"name: tiny random models ({folder.name})\nteam: harness tests\ncontact: tests@example.org\n"
        "methods: [other]\ndescription: random 2-layer models built in code; scores are chance level\n"
        "tasks:\n" + "\n".join(entries) + "\n",
        encoding="utf-8",
    )
    return folder
