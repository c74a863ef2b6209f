"""Shared fixtures: tiny models built in code (no hub), and the local data mirror."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pytest

from harness.testing import tiny

SHARED = Path(__file__).resolve().parents[2] / "shared"
MIRROR = Path(os.environ.get("HARNESS_DATA_DIR") or SHARED / "data")
VOCAB = MIRROR / tiny.VOCAB_FILE
_MIRROR_AT_START: dict[str, str] = {}
# The smallest valid submission.yaml, as a mapping: one task on a model folder named `model`.
VALID = {
    "name": "Tiny BERT",
    "team": "Test Lab",
    "contact": "someone@example.org",
    "methods": ["distillation"],
    "tasks": {"sst2": {"model": "model"}},
}


def mirror_state(root: Path) -> dict[str, str]:
    """Every path under the mirror (files, folders, links) with its md5 or kind: what no test may change."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = f"link -> {os.readlink(path)}"
        elif path.is_dir():
            state[rel] = "folder"
        else:
            state[rel] = hashlib.md5(path.read_bytes()).hexdigest()
    return state


@pytest.fixture(scope="session", autouse=True)
def _hash_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Content hashes are cached in a folder of this session (harness.submissions.hashing), never the real home."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("hash-cache")))
        yield


def pytest_sessionstart(session: pytest.Session) -> None:
    if MIRROR.is_dir():
        _MIRROR_AT_START.update(mirror_state(MIRROR))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any test wrote into the shared mirror (a file changed, added or removed)."""
    if not _MIRROR_AT_START:
        return
    now = mirror_state(MIRROR)
    changed = sorted(k for k in _MIRROR_AT_START.keys() | now.keys() if _MIRROR_AT_START.get(k) != now.get(k))
    if changed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(
            f"\nFAILED: the test run changed the data mirror {MIRROR}: {', '.join(changed[:10])}"
            f"{' ...' if len(changed) > 10 else ''}; tests never write into it (check the md5 sums in MANIFEST.md)"
        )


NO_GPU_REASON = "needs a GPU: torch.cuda.is_available() is False here (benchmarks/gpu_check.py runs it on one)"


def _gpu_present() -> bool:
    """Whether torch sees a GPU: the `gpu`-marked tests run only then."""
    import torch

    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `mirror` every test that reads the data mirror: through the `mirror` fixture (directly or not), or in a
    module that imports this file's helpers that read its vocabulary; `pytest -m "not mirror"` runs the rest.
    Skip every `gpu`-marked test, with the reason, where torch sees no GPU."""
    readers = {id(save_tiny_bert), id(save_tiny_t5), id(VOCAB)}
    no_gpu = pytest.mark.skip(reason=NO_GPU_REASON) if not _gpu_present() else None
    for item in items:
        if no_gpu is not None and item.get_closest_marker("gpu") is not None:
            item.add_marker(no_gpu)
        module = getattr(item, "module", None)
        uses_helpers = module is not None and any(id(v) in readers for v in vars(module).values())
        if "mirror" in getattr(item, "fixturenames", ()) or uses_helpers:
            item.add_marker(pytest.mark.mirror)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local mirror of real evaluation data (HARNESS_DATA_DIR, else ../shared/data)."""
    if not (MIRROR / "MANIFEST.md").is_file():
        pytest.fail(f"no data mirror at {MIRROR}; set HARNESS_DATA_DIR to the shared data folder")
    return MIRROR


def assert_predictions_refused(path: Path, text: str, task: str, message: str) -> None:
    """Reading `text`, written to `path`, as `task`'s predictions fails with a UserError that matches
    `message` and names the file."""
    from harness.errors import UserError
    from harness.formats import read_predictions
    from harness.tasks import get_task

    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as err:
        read_predictions(get_task(task), path)
    assert str(path) in str(err.value)


def save_tiny_bert(
    folder: Path, head: str = "sequence_classification", num_labels: int = 2, seed: int = 0, **config
) -> Path:
    """Write a tiny random BERT with the real uncased vocab, in save_pretrained layout."""
    return tiny.save_tiny_bert(folder, VOCAB, head, num_labels, seed, **config)


def write_valid_submission(folder: Path) -> Path:
    """A valid one-task submission (VALID, sst2) with a tiny classifier at folder/model; returns `folder`."""
    import yaml

    from harness.submissions import SUBMISSION_FILE

    save_tiny_bert(folder / "model")
    (folder / SUBMISSION_FILE).write_text(yaml.safe_dump(VALID), encoding="utf-8")
    return folder


def save_tiny_t5(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random T5 (seq2seq) with a BERT WordPiece tokenizer, in save_pretrained layout."""
    return tiny.save_tiny_t5(folder, VOCAB, seed)


@pytest.fixture
def tiny_bert(tmp_path: Path, mirror: Path):
    """A factory: tiny_bert(head="sequence_classification", num_labels=2, **config) -> folder (its vocabulary is
    the mirror's)."""
    count = iter(range(1000))

    def make(head: str = "sequence_classification", num_labels: int = 2, **config) -> Path:
        return save_tiny_bert(tmp_path / f"model{next(count)}", head, num_labels, **config)

    return make


TESTS = Path(__file__).resolve().parent


@pytest.fixture
def plugins(monkeypatch):
    """Workers import the hostile backends (tests/hostile_backend.py) and find the tests folder's modules."""
    monkeypatch.setenv("HARNESS_PLUGINS", "hostile_backend")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


# Device nodes a job must not open, those of them a machine has: disks, loop devices, memory, the kernel's log,
# virtual machines, FUSE and host sockets
OTHER_DEVICES = (
    "/dev/loop0", "/dev/loop-control", "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/mem", "/dev/kmsg",
    "/dev/kvm", "/dev/fuse", "/dev/vsock", "/dev/zram0", "/dev/tty0", "/dev/console",
)  # fmt: skip
# All that a job's /dev may hold
JOBS_DEV = ("null", "zero", "full", "random", "urandom", "fd", "stdin", "stdout", "stderr", "shm")


def write_hostile_submission(
    subs: Path, name: str, mirror: Path, backend: str | None = None, tasks: tuple[str, ...] = ("sst2", "rte")
) -> Path:
    """A tiny submission subs/name for `tasks` whose yaml names `backend` (a hostile one, by its kind), if given."""
    folder = tiny.write_tiny_submission(subs / name, list(tasks), mirror / tiny.VOCAB_FILE)
    if backend:
        yaml = folder / "submission.yaml"
        yaml.write_text(yaml.read_text(encoding="utf-8") + f"backend: {backend}\n", encoding="utf-8")
    return folder


def process_alive(pid: int) -> bool:
    """Whether the process `pid` (as this machine numbers it) exists and is no zombie."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_holding(folder: Path) -> list[int]:
    """The live processes (as this machine numbers them) with a file under `folder` open, even one removed since."""
    prefix = str(folder).rstrip("/") + "/"
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd).startswith(prefix) for fd in fd_dir.iterdir()):
                if process_alive(int(fd_dir.parent.name)):
                    found.append(int(fd_dir.parent.name))
    return found
