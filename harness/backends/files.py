"""The files a model folder holds, by kind: weights (safetensors, or pickle that needs an opt-in) and tokenizer files.

Light on purpose (no numpy): submission checks read these names when `harness --help` builds its parsers.
"""

from __future__ import annotations

from pathlib import Path

# What a model folder is loaded as, and the output its forward pass returns.
SAFE_WEIGHTS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth")  # weight files torch would unpickle
# Vocabulary files AutoTokenizer reads (the VOCAB_FILES_NAMES of transformers' tokenizers); one must exist.
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "spm.model",
    "tokenizer.model",
)


def weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's safetensors weight files and its pickle weight files, each sorted by name."""
    safe = sorted(folder.glob(f"*{SAFE_WEIGHTS_SUFFIX}"))
    pickled = sorted(p for suffix in PICKLE_SUFFIXES for p in folder.glob(f"*{suffix}"))
    return safe, pickled
