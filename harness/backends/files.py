"""The files a model folder holds, by kind: weights (safetensors, or pickle that needs an opt-in) and tokenizer files.

Light on purpose (no numpy): submission checks read these names when `harness --help` builds its parsers.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any, NamedTuple

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
# Small JSON files the loaders parse: the model's config, its generation config, a sharded checkpoint's index and
# harness.backends.torch_compressed.COMPRESSED_FILE (a test keeps the names equal).
CONFIG_FILES = ("config.json", "generation_config.json", "compressed.json")
INDEX_SUFFIX = ".index.json"  # model.safetensors.index.json: a sharded checkpoint's tensor -> file map
PASSAGES_FILE = "passages.jsonl"  # harness.inference.retrieval.PASSAGES_FILE (a layer up; a test keeps them equal)

# Size limits, checked by stat before a loader parses a file (issue 14): each leaves room for real models and
# refuses a file that would take minutes and gigabytes to parse (or a sparse file that claims terabytes).
# Tokenizer files: real tokenizer.json files reach 17 MB (large multilingual vocabularies).
MAX_TOKENIZER_BYTES = 64 << 20
# config.json and the other JSON files above: real ones are under 10 KB (100 KB for a large sharded index).
MAX_CONFIG_BYTES = 1 << 20
# model.onnx: protobuf cannot parse a message over 2 GiB, so larger graphs keep their weights as external data.
MAX_ONNX_BYTES = 2 << 30
# passages.jsonl: about 2M passages of 100 words; the TF-IDF index of unigrams and bigrams built from them in memory
# takes several times the text's size.
MAX_PASSAGES_BYTES = 1 << 30
# Every other file, one at a time (safetensors and pickle weights, ONNX external data): BERT-large fp32 is 1.3 GB,
# T5-3B fp32 11 GB; bigger checkpoints are sharded (save_pretrained's max_shard_size).
MAX_WEIGHTS_BYTES = 20 << 30
OVERSIZED_FIX = "save the model's own tokenizer with tokenizer.save_pretrained(folder)"
CONFIG_FIX = "save the model with model.save_pretrained(folder), which writes a config of a few KB"
ONNX_FIX = (
    "store the weights as external data: onnx.save(model, path, save_as_external_data=True, location='model.onnx.data')"
)
PASSAGES_FIX = f'keep {PASSAGES_FILE} to the passages the retriever searches, one {{"id", "text"}} object per line'
WEIGHTS_FIX = (
    "shard the weights: model.save_pretrained(folder, max_shard_size='5GB') (ONNX external data: "
    "onnx.save(..., save_as_external_data=True, all_tensors_to_one_file=False))"
)
TOKENIZER_KIND = "a tokenizer file"


class Oversized(NamedTuple):
    """A file over its size limit: what `require_sizes` refuses and `harness check` reports, unread."""

    file: Path
    size: int
    limit: int
    kind: str  # "a tokenizer file", ...
    fix: str

    def message(self) -> str:
        """`FILE: SIZE bytes, over the limit of LIMIT for KIND (not read)`."""
        return f"{self.file}: {self.size} bytes, over the limit of {self.limit} for {self.kind} (not read)"


def size_limit(rel: str) -> tuple[int, str, str]:
    """(limit in bytes, what the file is, the fix) for the file at posix path `rel` in a model folder: the files a
    loader parses by name sit at its top level; any other file has the weights limit."""
    name = rel if "/" not in rel else ""
    if name in TOKENIZER_FILES + TOKENIZER_SIDE_FILES:
        return MAX_TOKENIZER_BYTES, TOKENIZER_KIND, OVERSIZED_FIX
    if name in CONFIG_FILES or name.endswith(INDEX_SUFFIX):
        return MAX_CONFIG_BYTES, "a JSON config file", CONFIG_FIX
    if name == ONNX_FILE:
        return MAX_ONNX_BYTES, "an ONNX graph", ONNX_FIX
    if name == PASSAGES_FILE:
        return MAX_PASSAGES_BYTES, "a passages file", PASSAGES_FIX
    return MAX_WEIGHTS_BYTES, "a weights or data file", WEIGHTS_FIX


def oversized_files(folder: Path) -> list[Oversized]:
    """Files of `folder` (recursively, links followed) over their `size_limit`, sorted by path (stat only)."""
    if not folder.is_dir():
        return []
    out = []
    for file in sorted(folder.rglob("*")):
        try:
            st = file.stat()
        except OSError:  # a dangling link: left to the loader that looks for the file
            continue
        limit, kind, fix = size_limit(file.relative_to(folder).as_posix())
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            out.append(Oversized(file, st.st_size, limit, kind, fix))
    return out


def require_sizes(folder: Path) -> None:
    """Raise UserError, before any file is read, when a file of `folder` is over its `size_limit` or no regular file
    (special_files): the message names the file (and its size and the limit), never its content."""
    oversized = oversized_files(folder)
    if oversized:
        raise UserError(oversized[0].message(), fix=oversized[0].fix)
    special = special_files(folder)
    if special:
        raise UserError(special_message(special[0]), fix=SPECIAL_FIX)


SPECIAL_FIX = "replace it by a plain file (a FIFO, device or socket is never read: it could block or never end)"


def special_files(folder: Path) -> list[Path]:
    """Entries of `folder` (recursively, links followed) that are neither folders nor regular files: FIFOs,
    devices, sockets, which a loader opening them could wait on forever (stat only, sorted by path)."""
    if not folder.is_dir():
        return []
    out = []
    for file in sorted(folder.rglob("*")):
        try:
            mode = file.stat().st_mode
        except OSError:  # a dangling link: left to the loader that looks for the file
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            out.append(file)
    return out


def special_message(file: Path) -> str:
    """`FILE: not a regular file (...)`: what refuses a FIFO, device or socket, unread."""
    return f"{file}: not a regular file (a FIFO, device or socket; not read)"


def read_json(file: Path, fix: str) -> Any:
    """The JSON document in `file`; UserError (naming the file, never its content) when it is no regular file, or
    unreadable, or not JSON, or nested deeper than Python's parser recurses."""
    try:
        regular = stat.S_ISREG(file.stat().st_mode)
    except OSError as e:
        raise UserError(f"{file}: cannot read the file ({e.strerror or e})", fix=fix) from e
    if not regular:  # checked before opening: opening a FIFO waits for a writer
        raise UserError(special_message(file), fix=SPECIAL_FIX)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except RecursionError as e:
        raise UserError(f"{file}: not valid JSON (nested deeper than the JSON parser allows)", fix=fix) from e
    except (OSError, ValueError) as e:
        raise UserError(f"{file}: not valid JSON ({str(e)[:200]})", fix=fix) from e


def weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's safetensors weight files and its pickle weight files, each sorted by name."""
    safe = sorted(folder.glob(f"*{SAFE_WEIGHTS_SUFFIX}"))
    pickled = sorted(p for suffix in PICKLE_SUFFIXES for p in folder.glob(f"*{suffix}"))
    return safe, pickled


INDEX_FIX = (
    "keep every shard inside the model folder and name it in weight_map by its plain file name "
    "(model.save_pretrained(folder, max_shard_size=...) writes both)"
)
SHOWN_NAME = 80  # characters of a weight_map entry shown in a message: enough to recognise, never a flood


def index_problems(folder: Path) -> list[tuple[Path, str]]:
    """(index file, message) for each `*.index.json` of `folder` whose weight_map is no mapping of tensor names to
    shard files, or names a shard that is no regular file inside `folder` (absolute, `..`, a link out, missing): a
    loader would open it, and the submission's hashes would omit it. One message per index file; no shard is read."""
    if not folder.is_dir():
        return []
    top = folder.resolve()
    out = []
    for index in sorted(folder.glob(f"*{INDEX_SUFFIX}")):
        try:
            doc = read_json(index, INDEX_FIX)
        except UserError as e:
            out.append((index, e.message.removeprefix(f"{index}: ")))
            continue
        weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
        if not isinstance(weight_map, dict):
            out.append((index, "weight_map: expected a mapping of tensor names to shard file names"))
            continue
        for key, name in weight_map.items():
            problem = _shard_problem(folder, top, name)
            if problem:
                shown = str(key)[:SHOWN_NAME]
                out.append((index, f"weight_map entry {shown!r}: {problem} (not read)"))
                break
    return out


def _shard_problem(folder: Path, top: Path, name: Any) -> str | None:
    """What makes a weight_map value no shard file of the folder, or None."""
    if not isinstance(name, str) or not name:
        return f"expected a shard file name, got {str(name)[:SHOWN_NAME]!r}"
    shown = name[:SHOWN_NAME]
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name or "\0" in name:
        return f"{shown!r} is not a plain file name inside the model folder"
    try:
        inside = (folder / rel).resolve().is_relative_to(top)
        regular = stat.S_ISREG((folder / rel).stat().st_mode)
    except (OSError, RuntimeError, ValueError):  # missing, a link loop
        return f"{shown!r} is not a file of the model folder"
    if not inside:
        return f"{shown!r} links outside the model folder"
    if not regular:
        return f"{shown!r} is not a regular file"
    return None


def require_index(folder: Path) -> None:
    """Raise UserError, before any weights are loaded, when a sharded index of `folder` names a file that is not a
    regular file inside it (index_problems)."""
    problems = index_problems(folder)
    if problems:
        index, message = problems[0]
        raise UserError(f"{index}: {message}", fix=INDEX_FIX)


OUTSIDE_FIX = "copy the file into the folder (cp, not ln): a link may point only inside the submission folder"
HARD_LINK_FIX = "copy the file instead of linking it (cp, not ln)"


def escaping_files(folder: Path, root: Path) -> list[tuple[Path, int]]:
    """Entries of `folder` (recursively) whose content may lie outside `root`, sorted by path, each with its hard
    link count: a symlink resolving outside `root` (0), or a regular file (or a link to one) with more hard links
    (st_nlink > 1) than names under `root`: path containment cannot see where its other names are. Folders are
    exempt (their st_nlink counts subfolders)."""
    top = root.resolve()
    entries = [folder] + (sorted(folder.rglob("*")) if folder.is_dir() else [])
    out: list[tuple[Path, int]] = []
    shared: list[tuple[Path, tuple[int, int], int]] = []  # (entry, (st_dev, st_ino), st_nlink)
    for entry in entries:
        if entry.is_symlink() and not _resolves_inside(entry, top):
            out.append((entry, 0))
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            shared.append((entry, (st.st_dev, st.st_ino), st.st_nlink))
    if shared:  # rare: count the names of those files under `root` (distinct real paths)
        wanted = {key for _, key, _ in shared}
        names: dict[tuple[int, int], set[Path]] = {key: set() for key in wanted}
        for entry in [top, *top.rglob("*")] if top.is_dir() else [top]:
            try:
                st = entry.lstat()
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                names[st.st_dev, st.st_ino].add(entry)
        out += [(entry, links) for entry, key, links in shared if len(names[key]) < links]
    return sorted(out)


def outside_files(folder: Path, root: Path) -> list[Path]:
    """Entries of `folder` (recursively) that may reach outside `root`: symlinks resolving outside it and hard links
    with names outside it (escaping_files), sorted by path."""
    return [entry for entry, _ in escaping_files(folder, root)]


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
    submission folder, else itself): a symlink resolving outside, or a hard link (escaping_files); never shows a
    file's content. Sizes are require_sizes's."""
    escaping = escaping_files(folder, root if root is not None else containing_root(folder))
    if not escaping:
        return
    entry, links = escaping[0]
    if links:
        raise UserError(
            f"{entry}: a hard link ({links} links): the same content may be a file outside the folder (not read)",
            fix=HARD_LINK_FIX,
        )
    raise UserError(f"{entry}: not a regular file inside the folder: a link outside it", fix=OUTSIDE_FIX)


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


CUSTOM_CODE_KEY = "auto_map"  # config.json's pointer to Python files of the model folder (trust_remote_code)
CUSTOM_CODE_FIX = (
    "use a model class that transformers ships (a stock model_type) and save it with save_pretrained; remove "
    "auto_map and the .py files: the harness never runs a submission's own code"
)


def custom_code(config: Any) -> str | None:
    """What of a config.json would make transformers import the submission's own Python files, or None."""
    if isinstance(config, dict) and config.get(CUSTOM_CODE_KEY):
        value = config[CUSTOM_CODE_KEY]
        names = sorted(map(str, value)) if isinstance(value, dict) else [str(value)[:80]]
        return f"config.json declares custom code ({CUSTOM_CODE_KEY}: {', '.join(names)[:200]}), run only with trust_remote_code"
    return None
