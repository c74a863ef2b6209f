"""The files a model folder holds, by kind: weights (safetensors, or pickle that needs an opt-in) and tokenizer files.

Light on purpose (no numpy): submission checks read these names when `harness --help` builds its parsers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import UserError

# What a model folder is loaded as, and the output its forward pass returns.
SAFE_WEIGHTS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth")  # weight files torch would unpickle
ONNX_FILE = "model.onnx"  # the graph the onnxruntime backend runs
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

# Files the tokenizer loader parses besides the vocabulary files above.
TOKENIZER_SIDE_FILES = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "merges.txt")
# Largest tokenizer file read: real tokenizer.json files reach 17 MB (large multilingual vocabularies); the limit
# leaves room for those and refuses a file that would take minutes and gigabytes to parse (issue 14).
MAX_TOKENIZER_BYTES = 64 << 20
OVERSIZED_FIX = "save the model's own tokenizer with tokenizer.save_pretrained(folder)"


def oversized_tokenizer_files(folder: Path) -> list[tuple[Path, int]]:
    """Tokenizer files of `folder` over MAX_TOKENIZER_BYTES, with their sizes (stat only, nothing read)."""
    out = []
    for name in TOKENIZER_FILES + TOKENIZER_SIDE_FILES:
        file = folder / name
        if file.is_file() and (size := file.stat().st_size) > MAX_TOKENIZER_BYTES:
            out.append((file, size))
    return out


def weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's safetensors weight files and its pickle weight files, each sorted by name."""
    safe = sorted(folder.glob(f"*{SAFE_WEIGHTS_SUFFIX}"))
    pickled = sorted(p for suffix in PICKLE_SUFFIXES for p in folder.glob(f"*{suffix}"))
    return safe, pickled


OUTSIDE_FIX = "copy the file into the folder (a link may point only inside the submission folder)"


def outside_files(folder: Path, root: Path) -> list[Path]:
    """Entries of `folder` (recursively) that resolve outside `root`: links out of a submission, sorted by path."""
    top = root.resolve()
    entries = [folder] + (sorted(folder.rglob("*")) if folder.is_dir() else [])
    return [entry for entry in entries if entry.is_symlink() and not _resolves_inside(entry, top)]


def _resolves_inside(entry: Path, top: Path) -> bool:
    """Whether a link's final target lies under `top` (a link loop counts as outside)."""
    try:
        return entry.resolve().is_relative_to(top)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return False


def containing_root(folder: Path) -> Path:
    """The folder a model folder's files must stay in: its submission folder when it sits in one, else itself."""
    return folder.parent if (folder.parent / "submission.yaml").is_file() else folder  # SUBMISSION_FILE, a layer up


def require_inside(folder: Path, root: Path | None = None) -> None:
    """Raise UserError, before any file is read, when a file of `folder` links outside `root` (default: its
    submission folder, else itself) or a tokenizer file is over MAX_TOKENIZER_BYTES; never shows a file's content."""
    from harness.errors import UserError

    outside = outside_files(folder, root if root is not None else containing_root(folder))
    if outside:
        raise UserError(f"{outside[0]}: not a regular file inside the folder: a link outside it", fix=OUTSIDE_FIX)
    for file, size in oversized_tokenizer_files(folder) if folder.is_dir() else []:
        raise UserError(f"{file}: {size} bytes, over the limit of {MAX_TOKENIZER_BYTES} (not read)", fix=OVERSIZED_FIX)


def load_tokenizer(folder: str | Path, *, trust_remote_code: bool = False, beside: str = "the model") -> Any:
    """The tokenizer saved in a model folder (transformers.AutoTokenizer); any failure of its files is one UserError
    naming the folder and the fix."""
    import transformers

    try:
        return transformers.AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    except Exception as e:  # noqa: BLE001 - transformers raises many kinds for a broken tokenizer
        raise UserError(
            f"{folder}: the tokenizer does not load ({type(e).__name__}: {e})",
            fix=f"save it next to {beside} with tokenizer.save_pretrained(folder)",
        ) from e
