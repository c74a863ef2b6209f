"""Size limits before parsing, hard links out of a submission, and the content-hash cache (issue 14).

The limits are lowered with monkeypatch so every file stays a few KiB; no test times anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import save_tiny_bert

from harness.backends import files, load_model
from harness.errors import UserError
from harness.submissions import SUBMISSION_FILE, check_submission, hashing, sha256_files
from harness.yamlcheck import Problem

ONNX = "onnxruntime"
SECRET = "organizer-secret-token-123"
GARBAGE = b"\xff\x00 not json, not safetensors, not protobuf \x00\xff" * 8  # 384 bytes no parser accepts
SMALL_LIMIT = 100  # bytes: the lowered limit, under GARBAGE's size


def _yaml(backend: str = "torch", head: str = "sequence_classification", task: str = "sst2") -> str:
    return yaml.safe_dump(
        {
            "name": "Tiny",
            "team": "Test Lab",
            "contact": "someone@example.org",
            "methods": ["distillation"],
            "backend": backend,
            "tasks": {task: {"model": "model", "head": head}},
        }
    )


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    """A valid one-task torch submission with a tiny classifier, and a secret file beside (outside) it."""
    folder = tmp_path / "sub"
    save_tiny_bert(folder / "model")
    (folder / SUBMISSION_FILE).write_text(_yaml(), encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    return folder


@pytest.fixture()
def onnx_submission(submission: Path) -> Path:
    """The submission as an ONNX one: a garbage model.onnx (no parser accepts it) beside the tokenizer files."""
    model = submission / "model"
    for name in ("config.json", "model.safetensors"):
        (model / name).unlink()
    (model / files.ONNX_FILE).write_bytes(GARBAGE)
    (submission / SUBMISSION_FILE).write_text(_yaml(ONNX, "cosine", "stsb"), encoding="utf-8")
    return submission


def _assert_size_error(text: str, file: Path, limit: int) -> None:
    assert f"{file}: {file.stat().st_size} bytes, over the limit of {limit}" in text, text
    assert "not read" in text and SECRET not in text and "not json" not in text


def _text(problem: Problem) -> str:
    """A problem as one line, without its field: `file: message; fix`."""
    return f"{problem.file}: {problem.message}; {problem.fix}"


# --- sizes before parsing


@pytest.mark.parametrize(
    "name,constant", [("model.safetensors", "MAX_WEIGHTS_BYTES"), ("config.json", "MAX_CONFIG_BYTES")]
)
def test_oversized_torch_file_is_refused_by_load_before_parsing(
    submission: Path, monkeypatch: pytest.MonkeyPatch, name: str, constant: str
) -> None:
    file = submission / "model" / name
    file.write_bytes(GARBAGE)
    monkeypatch.setattr(files, constant, SMALL_LIMIT)
    with pytest.raises(UserError) as err:
        load_model(submission / "model", "sequence_classification")
    _assert_size_error(str(err.value), file, SMALL_LIMIT)
    assert err.value.fix


def test_oversized_weights_are_refused_by_check(submission: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = submission / "model" / "model.safetensors"
    file.write_bytes(GARBAGE)
    monkeypatch.setattr(files, "MAX_WEIGHTS_BYTES", SMALL_LIMIT)
    problems = check_submission(submission)
    assert len(problems) == 1, problems
    _assert_size_error(_text(problems[0]), file, SMALL_LIMIT)
    assert "max_shard_size" in problems[0].fix


def test_oversized_config_is_refused_by_check(submission: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = submission / "model" / "config.json"
    file.write_bytes(GARBAGE)
    monkeypatch.setattr(files, "MAX_CONFIG_BYTES", SMALL_LIMIT)
    problems = check_submission(submission)
    assert any(f"over the limit of {SMALL_LIMIT}" in str(p) for p in problems), problems


def test_oversized_onnx_graph_is_refused_by_check_and_load(
    onnx_submission: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = onnx_submission / "model" / files.ONNX_FILE
    monkeypatch.setattr(files, "MAX_ONNX_BYTES", SMALL_LIMIT)
    problems = check_submission(onnx_submission)
    assert len(problems) == 1, problems
    _assert_size_error(_text(problems[0]), file, SMALL_LIMIT)
    assert "external data" in problems[0].fix
    with pytest.raises(UserError) as err:
        load_model(onnx_submission / "model", "cosine", backend=ONNX)
    _assert_size_error(str(err.value), file, SMALL_LIMIT)


def test_oversized_onnx_external_data_is_refused_by_check_and_load(
    onnx_submission: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = onnx_submission / "model" / "weights" / "model.onnx.data"  # any other file, at any depth
    data.parent.mkdir()
    data.write_bytes(GARBAGE)
    monkeypatch.setattr(files, "MAX_WEIGHTS_BYTES", SMALL_LIMIT)
    problems = check_submission(onnx_submission)
    assert len(problems) == 1, problems
    _assert_size_error(_text(problems[0]), data, SMALL_LIMIT)
    with pytest.raises(UserError) as err:
        load_model(onnx_submission / "model", "cosine", backend=ONNX)
    _assert_size_error(str(err.value), data, SMALL_LIMIT)


@pytest.mark.parametrize(
    "name,constant",
    [
        ("generation_config.json", "MAX_CONFIG_BYTES"),
        ("compressed.json", "MAX_CONFIG_BYTES"),
        ("model.safetensors.index.json", "MAX_CONFIG_BYTES"),
        ("passages.jsonl", "MAX_PASSAGES_BYTES"),
        ("pytorch_model.bin", "MAX_WEIGHTS_BYTES"),
        ("tokenizer.json", "MAX_TOKENIZER_BYTES"),
    ],
)
def test_each_file_a_loader_reads_has_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, constant: str
) -> None:
    (tmp_path / name).write_bytes(GARBAGE)
    (tmp_path / "small.json").write_bytes(b"{}")
    monkeypatch.setattr(files, constant, SMALL_LIMIT)
    ((file, size, limit, _, fix),) = files.oversized_files(tmp_path)
    assert (file, size, limit) == (tmp_path / name, len(GARBAGE), SMALL_LIMIT) and fix
    with pytest.raises(UserError, match=f"{name}: {len(GARBAGE)} bytes, over the limit of {SMALL_LIMIT}"):
        files.require_sizes(tmp_path)
    monkeypatch.setattr(files, constant, len(GARBAGE))  # the limit itself is allowed
    assert files.oversized_files(tmp_path) == []
    files.require_sizes(tmp_path)


def test_the_tokenizer_check_is_the_shared_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vocab.txt").write_bytes(GARBAGE)
    (tmp_path / "model.safetensors").write_bytes(GARBAGE)
    monkeypatch.setattr(files, "MAX_TOKENIZER_BYTES", SMALL_LIMIT)
    monkeypatch.setattr(files, "MAX_WEIGHTS_BYTES", SMALL_LIMIT)
    assert [(o.file.name, o.kind) for o in files.oversized_files(tmp_path)][1] == ("vocab.txt", files.TOKENIZER_KIND)
    assert [o.file.name for o in files.oversized_files(tmp_path)] == ["model.safetensors", "vocab.txt"]


def test_the_file_names_match_their_readers() -> None:
    from harness.backends.torch_compressed import COMPRESSED_FILE
    from harness.inference.retrieval import PASSAGES_FILE

    assert PASSAGES_FILE == files.PASSAGES_FILE and COMPRESSED_FILE in files.CONFIG_FILES


def test_real_limits_leave_room_for_real_models() -> None:
    assert files.MAX_WEIGHTS_BYTES > 11 * 10**9  # T5-3B fp32 in one file
    assert files.MAX_CONFIG_BYTES >= 1 << 20 and files.MAX_ONNX_BYTES == 2 << 30


# --- hard links


def _hard_link_out(file: Path) -> None:
    """Replace `file` by a hard link to the secret file outside the submission."""
    file.unlink()
    os.link(file.parents[2] / "secret.txt", file)


def test_hard_link_out_is_refused_by_check_load_and_hashing(submission: Path) -> None:
    file = submission / "model" / "tokenizer.json"
    _hard_link_out(file)
    problems = check_submission(submission)
    named = [p for p in problems if p.file == str(file)]
    assert named and "link" in named[0].message and "cp, not ln" in named[0].fix, problems
    assert all(SECRET not in str(p) for p in problems)
    for call in (lambda: load_model(submission / "model", "sequence_classification"), lambda: sha256_files(submission)):
        with pytest.raises(UserError, match=r"tokenizer.json: a hard link \(2 links\)") as err:
            call()
        assert err.value.fix == files.HARD_LINK_FIX and "cp, not ln" in err.value.fix
        assert SECRET not in str(err.value)


def test_hard_linked_submission_yaml_is_refused(submission: Path) -> None:
    file = submission / SUBMISSION_FILE
    (submission.parent / "organizer.yaml").write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    file.unlink()
    os.link(submission.parent / "organizer.yaml", file)
    (problem,) = check_submission(submission)
    assert problem.file == str(file) and "cp, not ln" in problem.fix


def test_link_to_a_file_inside_that_is_hard_linked_out_is_refused(submission: Path) -> None:
    shared = submission / "shared-tokenizer.json"
    os.link(submission.parent / "secret.txt", shared)
    file = submission / "model" / "tokenizer.json"
    file.unlink()
    file.symlink_to(Path("..") / shared.name)
    with pytest.raises(UserError, match=r"tokenizer.json: a hard link \(2 links\)"):
        load_model(submission / "model", "sequence_classification")


def test_hard_links_between_files_of_the_folder_are_accepted(submission: Path) -> None:
    model = submission / "model"
    os.link(model / "tokenizer.json", submission / "tokenizer-copy.json")
    assert sha256_files(submission)["tokenizer-copy.json"] == sha256_files(submission)["model/tokenizer.json"]
    assert files.outside_files(model, submission) == []  # its other name is inside the submission folder
    assert files.escaping_files(model, model) == [(model / "tokenizer.json", 2)]  # not inside the model folder


def test_normal_files_and_folders_have_one_link(submission: Path) -> None:
    assert files.escaping_files(submission, submission) == []
    assert os.stat(submission).st_nlink > 1  # a folder: exempt


# --- the content-hash cache


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own cache folder, caching every file however small or recent."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(folder))
    monkeypatch.delenv("HARNESS_HASH_CACHE", raising=False)
    monkeypatch.setattr(hashing, "MIN_CACHED_BYTES", 0)
    monkeypatch.setattr(hashing, "RACY_NS", 0)
    return folder / hashing.CACHE_FILE


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "files"
    (out / "sub").mkdir(parents=True)
    (out / "a.bin").write_bytes(b"a" * 1000)
    (out / "sub" / "b.txt").write_text("b\n", encoding="utf-8")
    return out


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files hashing reads from now on (hashing.file_sha256 calls), in order."""
    read: list[Path] = []
    real = hashing.file_sha256

    def counted(file: Path) -> str:
        read.append(file)
        return real(file)

    monkeypatch.setattr(hashing, "file_sha256", counted)
    return read


def _want(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_second_hash_of_an_unchanged_folder_reads_no_file(
    folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sha256_files(folder)
    assert first == _want(folder) and cache.is_file()
    read = _counting(monkeypatch)
    assert sha256_files(folder) == first and read == []


def test_a_same_size_rewrite_with_its_mtime_restored_is_rehashed(
    folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = folder / "a.bin"
    sha256_files(folder)
    before = file.stat()
    file.write_bytes(b"z" * 1000)
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    while file.stat().st_ctime_ns == before.st_ctime_ns:  # same clock tick: utime moves ctime on
        os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = file.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    read = _counting(monkeypatch)
    assert sha256_files(folder)["a.bin"] == hashlib.sha256(b"z" * 1000).hexdigest()
    assert read == [file]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"version": 1, "entries": {"x": 3}}', "\xff\xfe"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(folder: Path, cache: Path, text: str) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text(text, encoding="latin-1")
    assert sha256_files(folder) == _want(folder)
    assert len(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == 2


def test_a_forged_entry_is_not_trusted(folder: Path, cache: Path) -> None:
    sha256_files(folder)
    doc = json.loads(cache.read_text(encoding="utf-8"))
    for entry in doc["entries"].values():
        entry[-1] = "not a digest"
    cache.write_text(json.dumps(doc), encoding="utf-8")
    assert sha256_files(folder) == _want(folder)


def test_an_unwritable_cache_is_no_error(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(blocker / "cache"))  # under a file: nothing can be created
    monkeypatch.setattr(hashing, "MIN_CACHED_BYTES", 0)
    assert sha256_files(folder) == _want(folder) == sha256_files(folder)


def test_harness_hash_cache_0_disables_the_cache(folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_HASH_CACHE", "0")
    sha256_files(folder)
    read = _counting(monkeypatch)
    assert sha256_files(folder) == _want(folder) and len(read) == 2
    assert not cache.exists()
    monkeypatch.delenv("HARNESS_HASH_CACHE")
    sha256_files(folder, cache=False)
    assert not cache.exists()


def test_small_files_skip_the_cache(folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "MIN_CACHED_BYTES", 100)  # a.bin (1000 bytes) is cached, sub/b.txt is not
    sha256_files(folder)
    read = _counting(monkeypatch)
    sha256_files(folder)
    assert read == [folder / "sub" / "b.txt"]
    assert list(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == [str((folder / "a.bin").resolve())]


def test_the_cache_is_bounded(folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sha256_files(folder)
    (folder / "a.bin").unlink()
    sha256_files(folder)  # the removed file's entry goes
    assert list(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == [str((folder / "sub" / "b.txt").resolve())]
    monkeypatch.setattr(hashing, "MAX_CACHE_ENTRIES", 2)
    for name in ("c", "d", "e"):
        (folder / name).write_text(name, encoding="utf-8")
    sha256_files(folder)
    assert len(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == 2


def test_the_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "own"))
    assert hashing.cache_file() == tmp_path / "own" / "hashes.json"
    monkeypatch.delenv("HARNESS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hashing.cache_file() == tmp_path / "xdg" / "harness" / "hashes.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert hashing.cache_file() == tmp_path / "home" / ".cache" / "harness" / "hashes.json"


def test_the_test_session_never_caches_in_the_real_home() -> None:
    home = Path.home().resolve()
    assert not hashing.cache_file().resolve().is_relative_to(home / ".cache")
