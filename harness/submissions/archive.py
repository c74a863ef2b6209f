"""Unpack a submission archive (zip or tar) from a stranger without trusting it.

Every member is checked before anything is written: no path out of the folder (absolute, drive letter, `..`,
backslash), no links, devices, fifos or sparse files, no duplicates, no control characters, names that fit the file
system, a top folder that is a valid submission id, a bounded member count and declared size, no zip member and no
archive that decompresses like a bomb, nothing encrypted. Then each member's bytes are streamed by hand (never `extractall`)
into a hidden temporary folder beside the target, counting the real bytes, and the folder is renamed into place
only when all went well. A refusal leaves nothing behind and raises a UserError that names the archive, the
member, the rule and the fix; it never prints file content.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.errors import UserError
from harness.submissions.schema import ID_PATTERN

# 20 GiB: the largest sensible submission (BERT-large fp32 safetensors is 1.3 GB, T5-3B about 11 GB, a few task
# models and tokenizers beside) fits well below it, while a bomb that fills the organizer's disk does not.
MAX_UNPACKED_BYTES = 20 * 2**30
# 10,000: a model folder holds about ten files (config, weights, tokenizer), so even a hundred models fit; a
# million tiny members only exhaust inodes and time.
MAX_MEMBERS = 10_000
# 200: safetensors and tokenizer files compress about 1.1-4x (random-looking floats, text vocabularies), even
# pruned weights stay far below 200x, while a decompression bomb compresses 1000x and more.
MAX_RATIO = 200.0
# The ratio is judged only above 1 MiB: a small config.json of spaces may compress 100x and harms nobody. It is
# judged per zip member and for the whole archive (bytes unpacked over the archive's size on disk, any format), so
# neither a tar.gz bomb nor many members each just below the floor get through.
RATIO_MIN_BYTES = 2**20
# 255 bytes of UTF-8 per path component: NAME_MAX on Linux (and macOS); a longer name cannot be written anyway.
NAME_MAX_BYTES = 255
# 1024 bytes for a member's whole path: a model folder nests a few levels (sub/model/tokenizer/file), and the
# organizer's folder plus the hidden temporary folder must still fit within Linux's PATH_MAX of 4096.
PATH_MAX_BYTES = 1024
# C0, DEL and C1 control characters: a newline or escape in a name garbles listings, terminals and result files.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAME_CHARS = 200  # a member name printed in a message is cut here: names come from strangers, any length
CHUNK_BYTES = 1 << 20
FILE_MODE = 0o644  # the archive's own modes are ignored: no setuid, no executable weights
FOLDER_MODE = 0o755
# longest first, so `x.tar.gz` loses both suffixes
SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".tbz", ".txz", ".tar", ".zip")
DRIVE = re.compile(r"^[A-Za-z]:")
TEMP_PREFIX = ".unpack-"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or an empty zip's end record

RELATIVE_FIX = "pack the submission with paths relative to its folder (e.g. `zip -r NAME.zip NAME` from its parent)"
REPACK_FIX = "pack the submission folder again, each file once (e.g. `zip -r NAME.zip NAME`)"
KIND_FIX = "leave it out of the archive: a submission holds only regular files and folders"
LINK_FIX = "replace the link by a copy of the file it points to, then pack again"
NAME_FIX = "rename the file or folder shorter (or nest it less deeply), then pack again"
CONTROL_FIX = "rename the file or folder without newlines, tabs or other control characters, then pack again"
BOMB_FIX = "weights and tokenizer files compress a few times at most: pack the real files"
SIZE_FIX = (
    "leave out what the submission does not need, or ask the organizer to raise the limit (`harness unpack "
    "--max-bytes N`)"
)
# errors of reading a damaged archive: zipfile, tarfile and their decompressors (bz2 and gzip raise OSError)
READ_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    OSError,
)


@dataclass(frozen=True)
class Member:
    """One archive member as checked: its name as stored, its normalised path parts, kind and declared size."""

    name: str
    parts: tuple[str, ...]
    is_dir: bool
    size: int


def unpack(
    archive: Path,
    dest_root: Path,
    *,
    max_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_MEMBERS,
    max_ratio: float = MAX_RATIO,
) -> Path:
    """Check and unpack a zip or tar `archive` into a new folder under `dest_root`; returns that folder.

    The folder is the archive's single top-level folder, else the archive's name without its suffixes. Raises
    UserError, leaving nothing behind, on the first member that breaks a rule or when the folder exists.
    """
    archive = Path(archive)
    dest_root = Path(dest_root)
    if not archive.is_file():
        raise UserError(f"{archive}: no such archive file", "check the path")
    with archive.open("rb") as fh:
        magic = fh.read(4)
    # a zip starts with a local header; a plain tar may end with a zip member, which is_zipfile alone takes for one
    if magic in ZIP_MAGIC:
        kind = "zip"
    elif tarfile.is_tarfile(archive):
        kind = "tar"
    elif zipfile.is_zipfile(archive):  # a zip behind a prefix (self-extracting)
        kind = "zip"
    else:
        raise UserError(
            f"{archive}: not a zip or tar archive (tar may be gzip, bzip2 or xz compressed)",
            "pack the submission folder with zip or tar",
        )
    archive_bytes = archive.stat().st_size
    members = _scan(archive, kind, max_bytes, max_members, max_ratio, archive_bytes)
    top = _single_top(members)
    name = top or _stem(archive)
    if not ID_PATTERN.match(name):
        raise UserError(
            f"{archive}: would unpack to the folder name {_shown(name)}, which is not a valid submission id "
            "(letters, digits, '.', '_' and '-', starting with a letter or digit); refused, nothing was unpacked",
            f"rename the {'top-level folder' if top else 'archive'} to the submission's id and pack again",
        )
    target = dest_root / name
    if target.exists() or target.is_symlink():
        raise _exists(archive, target)
    made_root = not dest_root.exists()
    dest_root.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=dest_root))
    placeholder = False
    try:
        os.chmod(temp, FOLDER_MODE)
        _extract(archive, kind, members, temp, max_bytes, max_ratio, archive_bytes)
        source = temp / top if top else temp
        try:
            os.mkdir(target)  # claims the name: a folder made meanwhile by someone else is never replaced
        except FileExistsError:
            raise _exists(archive, target) from None
        placeholder = True
        os.rename(source, target)  # atomic; replaces only the empty placeholder just made
        placeholder = False
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        with contextlib.suppress(OSError):  # each only when still empty: someone else's files stay
            if placeholder:
                os.rmdir(target)
            if made_root:
                os.rmdir(dest_root)
        raise
    shutil.rmtree(temp, ignore_errors=True)
    return target


def _scan(
    archive: Path, kind: str, max_bytes: int, max_members: int, max_ratio: float, archive_bytes: int
) -> list[Member]:
    """Every member, checked against every rule that needs no writing; raises on the first that breaks one."""
    members: list[Member] = []
    total = 0
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_count(archive, info.filename, len(members) + 1, max_members)
                    member = _zip_member(archive, info, max_ratio)
                    total += member.size
                    _check_declared_total(archive, member.name, total, max_bytes, max_ratio, archive_bytes)
                    members.append(member)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for tinfo in tf:
                    _check_count(archive, tinfo.name, len(members) + 1, max_members)
                    member = _tar_member(archive, tinfo)
                    total += member.size
                    _check_declared_total(
                        archive, member.name, total, max_bytes, max_ratio, archive_bytes
                    )  # stops a bomb mid-scan
                    members.append(member)
    except READ_ERRORS as e:
        raise _unreadable(archive, e) from None
    if not any(m.parts for m in members):
        raise UserError(f"{archive}: holds no files", "pack the submission folder with its files")
    _check_paths(archive, members)
    return members


def _zip_member(archive: Path, info: zipfile.ZipInfo, max_ratio: float) -> Member:
    """One zip entry checked: name, kind (external_attr), encryption and compression ratio."""
    name = info.filename
    mode = info.external_attr >> 16
    is_dir = info.is_dir() or stat.S_ISDIR(mode)
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refused(archive, name, f"is {_kind_of_mode(mode)}", LINK_FIX if stat.S_ISLNK(mode) else KIND_FIX)
    parts = _parts(archive, name, is_dir)
    if info.flag_bits & 0x1:
        raise _refused(archive, name, "is encrypted", "pack the submission without a password")
    size = 0 if is_dir else info.file_size
    if size > RATIO_MIN_BYTES and (info.compress_size <= 0 or size / info.compress_size > max_ratio):
        ratio = size / info.compress_size if info.compress_size > 0 else float("inf")
        raise _refused(
            archive,
            name,
            f"compresses {ratio:.0f}x ({size} bytes from {info.compress_size}), more than {max_ratio:g}x: "
            "a decompression bomb",
            BOMB_FIX,
        )
    return Member(name, parts, is_dir, size)


def _tar_member(archive: Path, info: tarfile.TarInfo) -> Member:
    """One tar entry checked: name and kind (regular file or folder only)."""
    name = info.name
    if info.issym():
        raise _refused(archive, name, "is a symbolic link, which could point outside the submission", LINK_FIX)
    if info.islnk():
        raise _refused(archive, name, "is a hard link, which could point outside the submission", LINK_FIX)
    if info.ischr() or info.isblk():
        raise _refused(archive, name, "is a device file", KIND_FIX)
    if info.isfifo():
        raise _refused(archive, name, "is a fifo", KIND_FIX)
    if info.issparse():
        raise _refused(
            archive,
            name,
            "is a sparse file, whose holes would unpack to real bytes far beyond the archive's size",
            "a model folder holds no sparse files: pack without `tar -S` (--sparse)",
        )
    if not (info.isreg() or info.isdir()):
        raise _refused(archive, name, "is not a regular file or folder", KIND_FIX)
    parts = _parts(archive, name, info.isdir())
    return Member(name, parts, info.isdir(), 0 if info.isdir() else info.size)


def _parts(archive: Path, name: str, is_dir: bool) -> tuple[str, ...]:
    """The path parts of a member name, `.` and empty parts dropped; raises on a name that could leave the folder."""
    if not name:
        raise _refused(archive, name, "has an empty name", REPACK_FIX)
    if "\\" in name:
        raise _refused(archive, name, "has a backslash, which some tools read as a folder separator", RELATIVE_FIX)
    if name.startswith("/"):
        raise _refused(archive, name, "is an absolute path", RELATIVE_FIX)
    if DRIVE.match(name):
        raise _refused(archive, name, "starts with a drive letter", RELATIVE_FIX)
    control = CONTROL.search(name)
    if control:
        raise _refused(archive, name, f"has a control character ({control.group()!r})", CONTROL_FIX)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refused(archive, name, "has a '..' component, which would write outside the submission", RELATIVE_FIX)
    for part in parts:
        if len(os.fsencode(part)) > NAME_MAX_BYTES:  # fsencode: a tar name's undecodable bytes are surrogates
            raise _refused(
                archive, name, f"has a file or folder name of more than {NAME_MAX_BYTES} bytes (UTF-8)", NAME_FIX
            )
    path_bytes = len(os.fsencode("/".join(parts)))
    if path_bytes > PATH_MAX_BYTES:
        raise _refused(
            archive, name, f"has a path of {path_bytes} bytes, more than {PATH_MAX_BYTES} bytes in all", NAME_FIX
        )
    if not parts and not is_dir:
        raise _refused(archive, name, "has an empty name", REPACK_FIX)
    return parts


def _check_count(archive: Path, name: str, count: int, max_members: int) -> None:
    if count > max_members:
        raise _refused(
            archive,
            name,
            f"goes past the limit: the archive holds more than {max_members} members",
            "a submission needs a few files per model (config, weights, tokenizer): leave out the rest",
        )


def _check_declared_total(
    archive: Path, name: str, total: int, max_bytes: int, max_ratio: float, archive_bytes: int
) -> None:
    """Refuse once the sizes the headers declare pass `max_bytes` or `max_ratio` times the archive's size (the
    write counts real bytes again)."""
    if total > max_bytes:
        raise _refused(
            archive,
            name,
            f"brings the declared unpacked size to {total} bytes, more than the limit of {max_bytes} bytes",
            SIZE_FIX,
        )
    _check_ratio(archive, name, "brings the declared unpacked size to", total, max_ratio, archive_bytes)


def _check_ratio(archive: Path, name: str, what: str, total: int, max_ratio: float, archive_bytes: int) -> None:
    """Refuse once `total` bytes pass RATIO_MIN_BYTES and `max_ratio` times the archive's size on disk."""
    if total > RATIO_MIN_BYTES and total > max_ratio * max(archive_bytes, 1):
        raise _refused(
            archive,
            name,
            f"{what} {total} bytes from an archive of {archive_bytes} bytes ({total / max(archive_bytes, 1):.1f}x), "
            f"more than {max_ratio:g}x: a decompression bomb",
            BOMB_FIX,
        )


def _check_paths(archive: Path, members: list[Member]) -> None:
    """No two members with one normalised path, and no member under a path that another member makes a file."""
    seen: dict[tuple[str, ...], Member] = {}
    for member in members:
        if not member.parts:
            continue
        earlier = seen.get(member.parts)
        if earlier is not None:
            raise _refused(archive, member.name, f"is a duplicate of member {_shown(earlier.name)}", REPACK_FIX)
        seen[member.parts] = member
    for member in members:
        for depth in range(1, len(member.parts)):
            above = seen.get(member.parts[:depth])
            if above is not None and not above.is_dir:
                raise _refused(archive, member.name, f"sits under a file (member {_shown(above.name)})", REPACK_FIX)


def _single_top(members: list[Member]) -> str:
    """The one top-level folder every member sits in, or "" when there is none."""
    tops = {m.parts[0] for m in members if m.parts}
    if len(tops) != 1:
        return ""
    if any(len(m.parts) == 1 and not m.is_dir for m in members):
        return ""  # a lone top-level file
    return tops.pop()


def _stem(archive: Path) -> str:
    """The archive's name without its archive suffixes (`sub.tar.gz` -> `sub`)."""
    name = archive.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return archive.stem


def _extract(
    archive: Path, kind: str, members: list[Member], root: Path, max_bytes: int, max_ratio: float, archive_bytes: int
) -> None:
    """Write every checked member under `root`, streaming bytes by hand and counting them against `max_bytes` and
    `max_ratio` times the archive's size."""
    written = 0
    with contextlib.closing(_sources(archive, kind, members)) as sources:
        for member, source in sources:
            path = root.joinpath(*member.parts) if member.parts else root
            _make_folders(root, member.parts if member.is_dir else member.parts[:-1])
            if source is None:
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), FILE_MODE)  # whatever the umask
                while chunk := _read(archive, source):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _refused(
                            archive,
                            member.name,
                            f"unpacked to more than the limit of {max_bytes} bytes in all, more than the headers "
                            "declared",
                            SIZE_FIX,
                        )
                    _check_ratio(archive, member.name, "unpacked", written, max_ratio, archive_bytes)
                    out.write(chunk)


def _read(archive: Path, source: IO[bytes]) -> bytes:
    """The next chunk of a member; a damaged archive (bad CRC, truncated stream) is a refusal, not a traceback."""
    try:
        return source.read(CHUNK_BYTES)
    except READ_ERRORS as e:
        raise _unreadable(archive, e) from None


def _sources(archive: Path, kind: str, members: list[Member]) -> Generator[tuple[Member, IO[bytes] | None], None, None]:
    """Each checked member with a stream of its bytes (None for folders), read again from the archive in order."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                if [i.filename for i in infos] != [m.name for m in members]:
                    raise _changed(archive)
                for member, info in zip(members, infos):
                    if member.is_dir:
                        yield member, None
                    else:
                        with zf.open(info) as source:
                            yield member, source
            return
        with tarfile.open(archive, "r:*") as tf:
            count = 0
            for tinfo in tf:
                if count >= len(members) or tinfo.name != members[count].name:
                    raise _changed(archive)
                member = members[count]
                count += 1
                yield member, (None if member.is_dir else tf.extractfile(tinfo))
            if count != len(members):
                raise _changed(archive)
    except READ_ERRORS as e:  # only the generator's own reads land here, never the caller's writes
        raise _unreadable(archive, e) from None


def _changed(archive: Path) -> UserError:
    """An archive whose members changed between the check and the write."""
    return UserError(f"{archive}: changed while it was unpacked", "unpack it again once nothing writes to it")


def _make_folders(root: Path, parts: tuple[str, ...]) -> None:
    """Make each folder of `parts` under `root` (mode 0o755); the members were checked, so none is a file."""
    path = root
    for part in parts:
        path = path / part
        if not path.is_dir():
            os.mkdir(path)
            os.chmod(path, FOLDER_MODE)


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link, which could point outside the submission"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    return "not a regular file or folder"


def _shown(name: str) -> str:
    """A member name fit for a message: repr, cut at NAME_CHARS characters."""
    return repr(name[:NAME_CHARS]) + ("..." if len(name) > NAME_CHARS else "")


def _refused(archive: Path, name: str, rule: str, fix: str) -> UserError:
    return UserError(f"{archive}: member {_shown(name)} {rule}; refused, nothing was unpacked", fix)


def _unreadable(archive: Path, error: BaseException) -> UserError:
    detail = str(error)[:NAME_CHARS]
    return UserError(
        f"{archive}: cannot be read ({type(error).__name__}: {detail}); refused, nothing was unpacked",
        "the archive is damaged or uses an unsupported compression: pack the submission folder again",
    )


def _exists(archive: Path, target: Path) -> UserError:
    return UserError(
        f"{archive}: would unpack to {target}, which already exists; a submission is never overwritten",
        "remove or rename the existing folder, or unpack into another folder (-o)",
    )
