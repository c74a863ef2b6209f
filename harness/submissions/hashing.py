"""Content hashes of a submission folder: what a record stores to name exactly the files it was measured on.

Hashes are cached by file identity (resolved path, size, mtime, inode, ctime) in one JSON file, so a resume does
not re-hash gigabytes of weights; ctime is in the key because no user can set it (os.utime sets mtime only), so
a same-size rewrite with its mtime restored still misses the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

HASH_CHUNK_BYTES = 1 << 20
CACHE_DIR_ENV = "HARNESS_CACHE_DIR"  # the cache folder; else $XDG_CACHE_HOME/harness, else ~/.cache/harness
CACHE_SWITCH_ENV = "HARNESS_HASH_CACHE"  # 0 (or false, no, off) disables the cache
CACHE_OFF = ("0", "false", "no", "off")
CACHE_FILE = "hashes.json"
CACHE_VERSION = 1
# Files under 1 MiB are hashed every time: hashing a 4 KB file took 20 us, its entry more (resolving its path 25 us,
# plus 7 us a call to load and dump it in the JSON file); at 1 MiB hashing takes about 1 ms, and the cache keeps to
# the files worth it (weights), a few per model folder.
MIN_CACHED_BYTES = 1 << 20
# Entries kept at most (about 20 MB of JSON); the oldest written go first.
MAX_CACHE_ENTRIES = 100_000
# A file whose ctime is this close to the moment it was read is hashed but not cached: file times advance by the
# kernel's clock tick (up to 10 ms), so a same-size rewrite in that tick could keep every field of the key; 2 s
# also covers a file server's clock running a little ahead.
RACY_NS = 2_000_000_000
_DIGEST = re.compile(r"[0-9a-f]{64}")


def file_sha256(file: Path) -> str:
    """sha256 of one file's content, read in HASH_CHUNK_BYTES chunks."""
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def cache_file() -> Path:
    """Where hashes are cached: $HARNESS_CACHE_DIR, else $XDG_CACHE_HOME/harness, else ~/.cache/harness; hashes.json."""
    if own := os.environ.get(CACHE_DIR_ENV):
        return Path(own) / CACHE_FILE
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "harness" / CACHE_FILE


def cache_enabled() -> bool:
    """Whether sha256_files caches by default: unless HARNESS_HASH_CACHE is 0 (or false, no, off)."""
    return os.environ.get(CACHE_SWITCH_ENV, "1").strip().lower() not in CACHE_OFF


def sha256_files(path: str | Path, *, cache: bool | None = None) -> dict[str, str]:
    """sha256 of every file under `path` (hidden files and folders skipped), keyed by sorted posix relative path;
    a link out of `path` or a file over its size limit raises UserError (harness.backends.files.require_inside,
    require_sizes), unread. `cache`: use the hash cache (default: cache_enabled())."""
    from harness.backends.files import require_inside, require_sizes

    root = Path(path)
    require_inside(root, root)
    require_sizes(root)
    store = _Cache() if (cache_enabled() if cache is None else cache) else None
    out = {}
    for file in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = file.relative_to(root)
        if not file.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        out[rel.as_posix()] = store.sha256(file) if store is not None else file_sha256(file)
    if store is not None:
        store.save(root)
    return out


class _Cache:
    """The hash cache of one sha256_files call: read once, written once (atomically) when it changed; a cache file
    that is missing, corrupt or unreadable counts as empty, and one that cannot be written is skipped."""

    def __init__(self) -> None:
        self.file = _cache_file_or_none()
        self.entries = _read_entries(self.file) if self.file is not None else {}
        self.seen: set[str] = set()
        self.changed = False

    def sha256(self, file: Path) -> str:
        """The file's sha256: its cache entry when size, mtime, inode and ctime all match, else hashed (and stored
        unless the file is small, changed while read, or changed too recently)."""
        before = file.stat()
        if before.st_size < MIN_CACHED_BYTES:
            return file_sha256(file)
        real = str(file.resolve())
        self.seen.add(real)
        key = _key(before)
        entry = self.entries.get(real)
        if entry is not None and entry[:-1] == key:
            return str(entry[-1])
        started = time.time_ns()
        digest = file_sha256(file)
        if _key(file.stat()) == key and before.st_ctime_ns + RACY_NS <= started:
            self.entries.pop(real, None)  # re-inserted last: the newest entry
            self.entries[real] = [*key, digest]
            self.changed = True
        return digest

    def save(self, root: Path) -> None:
        """Drop the entries of files under `root` that are gone, keep the newest MAX_CACHE_ENTRIES, and write the
        cache if anything changed (temp file + os.replace: a reader sees the old file or the new, whole)."""
        prefix = str(root.resolve()).rstrip(os.sep) + os.sep
        gone = [p for p in self.entries if p.startswith(prefix) and p not in self.seen and not os.path.exists(p)]
        for p in gone:
            del self.entries[p]
        if len(self.entries) > MAX_CACHE_ENTRIES:
            self.entries = dict(list(self.entries.items())[-MAX_CACHE_ENTRIES:])
            self.changed = True
        if self.file is None or not (self.changed or gone):
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=f".{CACHE_FILE}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"version": CACHE_VERSION, "entries": self.entries}, fh)
                os.replace(tmp, self.file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:  # no cache this time: the next call hashes again
            return


def _key(st: os.stat_result) -> list[int]:
    """The fields a cache entry must match: size, mtime, inode, ctime (ns)."""
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _cache_file_or_none() -> Path | None:
    """cache_file(), or None when there is no home folder to put it in."""
    try:
        return cache_file()
    except RuntimeError:  # Path.home(): no HOME and no passwd entry
        return None


def _read_entries(file: Path) -> dict[str, list[Any]]:
    """The cache's {resolved path: [size, mtime_ns, inode, ctime_ns, sha256]}; {} when missing or not a cache."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return {}
    entries = data.get("entries") if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None
    return {p: e for p, e in entries.items() if _is_entry(e)} if isinstance(entries, dict) else {}


def _is_entry(entry: Any) -> bool:
    """Whether a cache value is [size, mtime_ns, inode, ctime_ns, sha256] (four ints and a hex digest)."""
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and all(type(v) is int for v in entry[:4])
        and isinstance(entry[4], str)
        and _DIGEST.fullmatch(entry[4]) is not None
    )


def combined_sha256(hashes: Mapping[str, str]) -> str:
    """One stable digest of a {relative path: sha256} mapping (sorted lines `sha256  path`)."""
    lines = "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
