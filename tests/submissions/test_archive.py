"""Submission archives from strangers: traversal, links, bombs and lying sizes are refused before anything lands."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import VALID, save_tiny_bert

from harness.cli import main
from harness.errors import UserError
from harness.submissions import SUBMISSION_FILE, check_submission
from harness.submissions import archive as archive_module
from harness.submissions.archive import unpack

SECRET = b"archive-member-secret-content-42"


@pytest.fixture(scope="module")
def submission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid one-task submission folder `sub` with a tiny classifier."""
    folder = tmp_path_factory.mktemp("made") / "sub"
    save_tiny_bert(folder / "model")
    (folder / SUBMISSION_FILE).write_text(yaml.safe_dump(VALID), encoding="utf-8")
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def zip_folder(folder: Path, archive: Path) -> Path:
    """Zip `folder` with its own name as the single top-level folder."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, str(path.relative_to(folder.parent)))
    return archive


def make_zip(archive: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return archive


def make_tar(archive: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> Path:
    with tarfile.open(archive, mode) as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return archive


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def assert_nothing_left(dest: Path, before: set[str] | None = None) -> None:
    """`dest` holds what it held before (or still does not exist): no partial folder, no hidden temporary folder."""
    assert ({p.name for p in dest.iterdir()} if dest.exists() else set()) == (before or set())


# --- good archives ---------------------------------------------------------------------------------------------


def test_a_zipped_submission_unpacks_byte_for_byte_and_checks_valid(submission: Path, tmp_path: Path) -> None:
    archive = zip_folder(submission, tmp_path / "upload.zip")
    dest = tmp_path / "submissions"
    folder = unpack(archive, dest)
    assert folder == dest / "sub"  # the single top-level folder names it, not the archive
    assert files_of(folder) == files_of(submission)
    assert {p.name for p in dest.iterdir()} == {"sub"}
    assert check_submission(folder, load_models=False) == []
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_formats_are_detected_by_content_and_named_after_the_stem(tmp_path: Path, mode: str) -> None:
    members: list[tarfile.TarInfo | tuple[str, bytes]] = [("a.txt", b"alpha\n"), ("inner/b.bin", bytes(range(256)))]
    suffix = {"w": ".tar", "w:gz": ".tgz", "w:bz2": ".tar.bz2", "w:xz": ".tar.xz"}[mode]
    folder = unpack(make_tar(tmp_path / f"mysub{suffix}", members, mode), tmp_path / "out")
    assert folder == tmp_path / "out" / "mysub"
    assert files_of(folder) == {"a.txt": b"alpha\n", "inner/b.bin": bytes(range(256))}


def test_an_archive_with_a_misleading_suffix_is_read_by_its_content(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "team-x.upload", {"x/a.txt": b"a", "x/b/c.txt": b"c"})
    folder = unpack(archive, tmp_path / "out")
    assert folder == tmp_path / "out" / "x" and files_of(folder) == {"a.txt": b"a", "b/c.txt": b"c"}


def test_setuid_and_odd_modes_in_the_archive_are_ignored(tmp_path: Path) -> None:
    info = tarfile.TarInfo("run.sh")
    info.size, info.mode = 3, 0o4777
    archive = tmp_path / "modes.tar"
    with tarfile.open(archive, "w") as tf:
        tf.addfile(info, io.BytesIO(b"abc"))
    folder = unpack(archive, tmp_path / "out")
    assert stat.S_IMODE((folder / "run.sh").stat().st_mode) == 0o644


# --- refused archives ------------------------------------------------------------------------------------------


def _symlink_zip(tmp: Path) -> Path:
    archive = tmp / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("sub/ok.txt", b"ok")
        info = zipfile.ZipInfo("sub/model.safetensors")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return archive


def _encrypted_zip(tmp: Path) -> Path:
    """A zip whose member carries the encryption flag (zipfile cannot write real encryption)."""
    archive = make_zip(tmp / "locked.zip", {"sub/weights.bin": SECRET})
    data = bytearray(archive.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_at] |= 0x1
    archive.write_bytes(bytes(data))
    return archive


def _bomb_zip(tmp: Path) -> Path:
    archive = tmp / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("sub/model.safetensors", bytes(8 * 2**20))  # 8 MiB of zeros deflate about 1000x
    return archive


def _duplicate_zip(tmp: Path) -> Path:
    archive = tmp / "dup.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name" and writes it anyway
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("sub/config.json", b"{}")
            zf.writestr("sub/./config.json", b"{}")
    return archive


def _sparse_tar(tmp: Path) -> Path:
    """A tar whose member is sparse (PAX GNU.sparse 0.1, as `tar -S` writes): 1 stored byte declares 3 GiB."""
    info = tarfile.TarInfo("sub/sparse.bin")
    info.size = 1
    info.pax_headers = {"GNU.sparse.map": "0,1", "GNU.sparse.size": str(3 << 30)}
    archive = tmp / "sparse.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(info, io.BytesIO(b"x"))
    return archive


def _targz_bomb(tmp: Path) -> Path:
    """8 MiB of zeros gzip about 1000x: no per-member rule for tar, so only the whole-archive ratio stops it."""
    return make_tar(tmp / "bomb.tar.gz", [("sub/model.safetensors", bytes(8 * 2**20))], "w:gz")


def _many_small_zip(tmp: Path) -> Path:
    """Members of 512 KiB zeros each sit below the per-member floor; together they pass it at about 1000x."""
    return make_zip(tmp / "many.zip", {f"sub/w{i}.bin": bytes(2**19) for i in range(4)})


def _tar_named(name: str) -> Callable[[Path], Path]:
    return lambda t: make_tar(t / "a.tar", [(name, b"x")])


LONG_PATH = "sub/" + "/".join(["d" * 250] * 20) + "/f"


REFUSED: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "dot-dot": (lambda t: make_zip(t / "a.zip", {"sub/ok.txt": b"x", "../evil": SECRET}), "'../evil'", r"'\.\.'"),
    "absolute": (lambda t: make_zip(t / "a.zip", {"/tmp/x": SECRET}), "'/tmp/x'", "absolute path"),
    "drive letter": (lambda t: make_zip(t / "a.zip", {"C:/x": SECRET}), "'C:/x'", "drive letter"),
    "backslash": (lambda t: make_zip(t / "a.zip", {"sub\\..\\..\\x": SECRET}), r"'sub\\", "backslash"),
    "duplicate": (_duplicate_zip, "'sub/./config.json'", "duplicate"),
    "tar symlink": (
        lambda t: make_tar(t / "a.tar", [("sub/ok.txt", b"x"), tar_entry("sub/vocab.txt", tarfile.SYMTYPE, "/etc")]),
        "'sub/vocab.txt'",
        "symbolic link",
    ),
    "tar hard link": (
        lambda t: make_tar(t / "a.tar", [("sub/ok.txt", b"x"), tar_entry("sub/hard", tarfile.LNKTYPE, "sub/ok.txt")]),
        "'sub/hard'",
        "hard link",
    ),
    "tar device": (lambda t: make_tar(t / "a.tar", [tar_entry("sub/dev", tarfile.CHRTYPE)]), "'sub/dev'", "device"),
    "tar fifo": (lambda t: make_tar(t / "a.tar", [tar_entry("sub/pipe", tarfile.FIFOTYPE)]), "'sub/pipe'", "fifo"),
    "zip symlink": (_symlink_zip, "'sub/model.safetensors'", "symbolic link"),
    "zip bomb": (_bomb_zip, "'sub/model.safetensors'", "compresses .*decompression bomb"),
    "encrypted": (_encrypted_zip, "'sub/weights.bin'", "encrypted"),
    "not an archive": (lambda t: _write(t / "notes.zip", b"plain text, no archive"), "notes.zip", "not a zip or tar"),
    "sparse tar": (_sparse_tar, "'sub/sparse.bin'", "sparse"),
    "tar.gz bomb": (_targz_bomb, "'sub/model.safetensors'", "archive of .* bytes.*decompression bomb"),
    "many small zip members": (_many_small_zip, "'sub/w", "archive of .* bytes.*decompression bomb"),
    "long tar component": (_tar_named("sub/" + "a" * 300), "'sub/aaaa", "more than 255 bytes"),
    "long multibyte component": (_tar_named("sub/" + "\u00e9" * 200), "'sub/", "more than 255 bytes"),
    "long zip component": (lambda t: make_zip(t / "a.zip", {"sub/" + "b" * 300: b"x"}), "'sub/bbbb", "255 bytes"),
    "long tar path": (_tar_named(LONG_PATH), "'sub/dddd", "more than 1024 bytes in all"),
    "newline in top folder": (_tar_named("bad\nname/a.txt"), r"'bad\nname/a.txt'", "control character"),
    "escape in a file name": (_tar_named("sub/\x1b[2Jx.bin"), r"'sub/\x1b", "control character"),
    "invalid top folder id": (_tar_named("my sub/a.txt"), "'my sub'", "not a valid submission id"),
    "invalid archive name id": (lambda t: make_zip(t / "my (1).zip", {"a.txt": b"x"}), "'my (1)'", "submission id"),
    "hidden top folder": (_tar_named(".git/config"), "'.git'", "not a valid submission id"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", REFUSED)
def test_hostile_archives_are_refused_naming_member_and_rule_and_leave_nothing(tmp_path: Path, case: str) -> None:
    build, member, rule = REFUSED[case]
    archive = build(tmp_path)
    dest = tmp_path / "submissions"
    with pytest.raises(UserError, match=rule) as err:
        unpack(archive, dest)
    text = str(err.value)
    assert member in text and str(archive) in text and err.value.fix, text
    assert SECRET.decode() not in text
    assert_nothing_left(dest)
    assert not (tmp_path / "evil").exists()


def test_more_members_than_the_limit_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"sub/f{i}.txt": b"x" for i in range(6)})
    with pytest.raises(UserError, match="more than 5 members") as err:
        unpack(archive, tmp_path / "out", max_members=5)
    assert "'sub/f5.txt'" in str(err.value) and err.value.fix
    assert_nothing_left(tmp_path / "out")


def test_a_tar_larger_than_max_bytes_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "big.tar.gz", [("sub/a.bin", bytes(600)), ("sub/b.bin", bytes(600))], "w:gz")
    with pytest.raises(UserError, match="more than the limit of 1000 bytes") as err:
        unpack(archive, tmp_path / "out", max_bytes=1000)
    assert "'sub/b.bin'" in str(err.value) and "--max-bytes" in err.value.fix
    assert_nothing_left(tmp_path / "out")


def test_real_bytes_are_counted_while_writing_even_when_the_declared_sizes_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers can lie: with the declared-size check out of the way, the running count still stops the write."""
    monkeypatch.setattr(archive_module, "_check_declared_total", lambda *args: None)
    archive = make_tar(tmp_path / "big.tar", [("sub/a.bin", bytes(600)), ("sub/b.bin", bytes(600))])
    with pytest.raises(UserError, match="unpacked to more than the limit of 1000 bytes") as err:
        unpack(archive, tmp_path / "out", max_bytes=1000)
    assert "'sub/b.bin'" in str(err.value)
    assert_nothing_left(tmp_path / "out")  # the half-written temporary folder is gone too


def test_an_existing_submission_is_never_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "mine.txt").write_bytes(b"keep")
    with pytest.raises(UserError, match="already exists"):
        unpack(make_zip(tmp_path / "a.zip", {"sub/mine.txt": b"theirs"}), dest)
    assert (dest / "sub" / "mine.txt").read_bytes() == b"keep"
    assert_nothing_left(dest, {"sub"})


def test_a_file_under_a_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"sub/model": b"x", "sub/model/config.json": b"{}"})
    with pytest.raises(UserError, match="'sub/model/config.json'.*under a file"):
        unpack(archive, tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_long_member_names_are_bounded_in_messages(tmp_path: Path) -> None:
    name = "../" + "a" * 5000
    with pytest.raises(UserError) as err:
        unpack(make_zip(tmp_path / "a.zip", {name: b"x"}), tmp_path / "out")
    assert len(str(err.value)) < 1000 and "..." in str(err.value)


def test_a_bomb_is_refused_by_the_running_count_even_when_the_declared_sizes_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the scan's declared-size checks out of the way, the bytes counted while writing still stop a bomb."""
    monkeypatch.setattr(archive_module, "_check_declared_total", lambda *args: None)
    for build in (_targz_bomb, _many_small_zip):
        archive = build(tmp_path)
        with pytest.raises(UserError, match="unpacked .* bytes from an archive of .*decompression bomb") as err:
            unpack(archive, tmp_path / "out")
        assert str(archive) in str(err.value) and err.value.fix
        assert_nothing_left(tmp_path / "out")


def test_well_compressed_archives_below_the_ratio_are_unpacked(tmp_path: Path) -> None:
    """A small total compresses as much as it likes; past the floor, 100x (below 200x) is still accepted."""
    tiny = make_tar(tmp_path / "tiny.tar.gz", [("sub/config.json", b" " * 100_000)], "w:gz")
    assert files_of(unpack(tiny, tmp_path / "out")) == {"config.json": b" " * 100_000}
    archive = make_zip(tmp_path / "ok.zip", {"ok/w.bin": bytes(2 * 2**20)})
    folder = unpack(archive, tmp_path / "out", max_ratio=archive_module.MAX_RATIO * 100)
    assert files_of(folder) == {"w.bin": bytes(2 * 2**20)}


def test_a_long_name_message_names_the_member_not_the_temporary_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        unpack(make_tar(tmp_path / "a.tar", [(LONG_PATH, b"x")]), tmp_path / "out")
    text = str(err.value)
    assert archive_module.TEMP_PREFIX not in text and "..." in text and len(text) < 1000, text
    assert "File name too long" not in text and "writable" not in err.value.fix
    assert_nothing_left(tmp_path / "out")


# --- `harness unpack` ------------------------------------------------------------------------------------------


def test_unpack_command_unpacks_and_checks_a_good_archive(
    submission: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = zip_folder(submission, tmp_path / "upload.zip")
    dest = tmp_path / "submissions"
    assert main(["unpack", str(archive), "-o", str(dest), "--no-load"]) == 0
    out = capsys.readouterr().out
    assert files_of(dest / "sub") == files_of(submission)
    assert str(dest / "sub") in out and "all valid" in out


def test_unpack_command_refuses_a_hostile_archive_and_keeps_a_bad_submission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = make_zip(tmp_path / "evil.zip", {"sub/ok.txt": b"x", "../evil": SECRET})
    invalid = make_zip(tmp_path / "nosub.zip", {"nosub/readme.txt": b"no submission.yaml here"})
    dest = tmp_path / "submissions"
    assert main(["unpack", str(hostile), str(invalid), "-o", str(dest), "--no-load", "--max-bytes", "10000"]) == 1
    captured = capsys.readouterr()
    assert "'../evil'" in captured.err and "'..'" in captured.err
    assert {p.name for p in dest.iterdir()} == {"nosub"}  # the refused archive left nothing, the invalid one is kept
    assert f"kept {dest / 'nosub'}" in captured.out and "submission.yaml" in captured.out
    assert SECRET.decode() not in captured.out + captured.err


def test_unpack_command_imports_neither_torch_nor_numpy() -> None:
    code = (
        "import sys, harness.commands.unpack, harness.submissions.archive; from harness.cli import build_parser; "
        "build_parser(); print('torch' in sys.modules or 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_zlib_is_what_the_bomb_test_relies_on() -> None:
    """The bomb case assumes zeros deflate far past MAX_RATIO; if zlib ever changed, the test would say so."""
    assert 2**20 / len(zlib.compress(bytes(2**20), 9)) > 2 * archive_module.MAX_RATIO
