"""Content hashes of a submission folder: what a record stores to name exactly the files it was measured on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping

HASH_CHUNK_BYTES = 1 << 20


def sha256_files(path: str | Path) -> dict[str, str]:
    """sha256 of every file under `path` (hidden files and folders skipped), keyed by sorted posix relative path;
    a link out of `path` raises UserError (harness.backends.files.require_inside), unread."""
    from harness.backends.files import require_inside

    root = Path(path)
    require_inside(root, root)
    out = {}
    for file in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = file.relative_to(root)
        if not file.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        digest = hashlib.sha256()
        with file.open("rb") as fh:
            while chunk := fh.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
        out[rel.as_posix()] = digest.hexdigest()
    return out


def combined_sha256(hashes: Mapping[str, str]) -> str:
    """One stable digest of a {relative path: sha256} mapping (sorted lines `sha256  path`)."""
    lines = "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
