"""On-disk size of a model folder, plus gzip/zstd sizes of its weights so pruned zeros show."""

from __future__ import annotations

import gzip
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.measure.spec import Inputs

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".msgpack", ".gguf", ".npz")
GZIP_LEVEL = 6
ZSTD_LEVEL = 3
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Size:
    """Bytes of every file in a model folder and compressed bytes of its concatenated weights files."""

    files: list[dict[str, Any]]
    total_bytes: int
    weights_files: list[str]
    weights_bytes: int
    weights_gzip_bytes: int | None
    weights_zstd_bytes: int | None
    method: str = (
        "sum of file sizes under the folder (recursive, sorted by relative path); weights files "
        f"({', '.join(WEIGHT_SUFFIXES)}) concatenated in that order and compressed with "
        f"gzip level {GZIP_LEVEL} and zstd level {ZSTD_LEVEL}"
    )
    unit: str = "bytes"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the method and unit."""
        return asdict(self)


class _CountingSink(io.RawIOBase):
    """A write-only stream that only counts the bytes written to it."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(data)
        self.count += n
        return n


def _compressed_sizes(paths: list[Path]) -> tuple[int, int | None]:
    """gzip and zstd sizes of the concatenation of `paths`, streamed in 1 MiB chunks."""
    gz_sink = _CountingSink()
    try:
        import zstandard
    except ImportError:  # zstd is a declared dependency; keep gzip working without it
        zstandard = None
    zsink = _CountingSink()
    zwriter = zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(zsink, closefd=False) if zstandard else None
    with gzip.GzipFile(fileobj=gz_sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
        for path in paths:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    gz.write(chunk)
                    if zwriter is not None:
                        zwriter.write(chunk)
    if zwriter is None:
        return gz_sink.count, None
    zwriter.flush(zstandard.FLUSH_FRAME)
    return gz_sink.count, zsink.count


def measure_size(folder: str | Path, *, compress: bool = True) -> Size:
    """Measure the files of `folder` (every file, recursively) and, if `compress`, its weights' compressibility."""
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder; pass the model folder (the one holding config.json and the weights)")
    paths = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    files = [{"path": p.relative_to(root).as_posix(), "size_bytes": p.stat().st_size} for p in paths]
    weights = [p for p in paths if p.suffix.lower() in WEIGHT_SUFFIXES]
    gz = zs = None
    if compress and weights:
        gz, zs = _compressed_sizes(weights)
    return Size(
        files=files,
        total_bytes=sum(f["size_bytes"] for f in files),
        weights_files=[p.relative_to(root).as_posix() for p in weights],
        weights_bytes=sum(p.stat().st_size for p in weights),
        weights_gzip_bytes=gz,
        weights_zstd_bytes=zs,
    )


def take(inputs: Inputs, **options: Any) -> Size:
    """The measurement `size` of the table: the model folder's files and its weights' compressibility."""
    if inputs.folder is None:
        raise UserError("measurement 'size' needs the model folder; pass folder=<the folder the model was loaded from>")
    return measure_size(inputs.folder, **options)


def take_system(inputs: Inputs, **options: Any) -> Size:
    """The measurement `system_size` of the table: every file of the submission folder (weights, tokenizer, any
    index or data it reads), uncompressed."""
    if inputs.submission is None:
        raise UserError("measurement 'system_size' needs the submission folder; pass submission=<its folder>")
    return measure_size(inputs.submission, **{"compress": False, **options})
