"""What to evaluate: a ModelRef per (task, model folder) of a submission folder or a bare model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelRef:
    """The model to evaluate on one task: a folder, its head and backend, and whose it is."""

    submission_id: str
    folder: Path
    head: str | None = None  # None: the task kind's default head
    backend: str = "torch"
    allow_pickle: bool = False
    sha256: str = ""  # digest of the submission's files, when it came from a submission folder
    within: str = ""  # the model folder's path inside the submission folder (part of the record's key)
    files: tuple[tuple[str, str], ...] = ()  # (relative path, sha256) of the evaluated files
    meta: tuple[tuple[str, Any], ...] = ()  # the submission's metadata (name, team, methods, links), for pages
    outputs: tuple[tuple[str, str], ...] = ()  # the task entry's `outputs:` (head output -> graph output name)

    def load_options(self, device: str = "cpu", dtype: str = "auto") -> Any:
        """How the backend loads this model: the pickle opt-in, the declared graph outputs, and the device and dtype
        of the run (EvalSettings.device, .dtype)."""
        from harness.backends import LoadOptions

        return LoadOptions(allow_pickle=self.allow_pickle, outputs=self.outputs, device=device, dtype=dtype)


def model_refs(
    path: Path, tasks: list[str] | None, head: str | None, allow_pickle: bool, submission: Any = None
) -> list[tuple[str, Any]]:
    """(task, ModelRef) pairs for a submission folder or a bare model folder.

    `submission`: the folder's Submission when the caller already loaded it (else it is read here).
    """
    from harness.errors import UserError
    from harness.submissions import (
        SUBMISSION_FILE,
        combined_sha256,
        load_submission,
        sha256_files,
        submission_meta,
    )

    if not path.is_dir():
        raise UserError(f"{path}: no such folder", fix="pass a submission folder or a model folder")
    if (path / SUBMISSION_FILE).is_file():
        if path.is_symlink():
            raise UserError(
                f"{path} is a link (to {path.resolve()})",
                fix="a submission is a real folder of its own, whose "
                "name is its id: evaluate the folder itself, or copy it in",
            )
        sub = submission if submission is not None else load_submission(path)
        names = tasks or list(sub.tasks)
        undeclared = [t for t in names if t not in sub.tasks]
        if undeclared:
            raise UserError(
                f"{path / SUBMISSION_FILE}: tasks {', '.join(undeclared)} are not declared under 'tasks'",
                fix=f"declared: {', '.join(sub.tasks)}",
            )
        files = sha256_files(path)
        digest = combined_sha256(files)
        meta = tuple(submission_meta(sub).items())
        return [
            (
                t,
                ModelRef(
                    sub.id,
                    sub.tasks[t].model,
                    head or sub.tasks[t].head,
                    sub.backend,
                    sub.allow_pickle and allow_pickle,
                    digest,
                    _within(sub.tasks[t].model, path),
                    tuple(sorted(files.items())),
                    meta,
                    sub.tasks[t].outputs,
                ),
            )
            for t in names
        ]
    backend = bare_backend(path)
    if backend is None:
        raise UserError(
            f"{path}: neither {SUBMISSION_FILE} nor config.json nor model.onnx", fix="see submissions/README.md"
        )
    if not tasks:
        raise UserError(f"{path}: a bare model folder needs --task")
    files = sha256_files(path)
    digest = combined_sha256(files)
    ref = ModelRef(
        bare_model_id(path, digest), path, head, backend, allow_pickle, digest, ".", tuple(sorted(files.items()))
    )
    return [(t, ref) for t in tasks]


def bare_backend(path: Path) -> str | None:
    """The backend a bare model folder runs on: onnxruntime for a model.onnx without config.json and safetensors
    weights beside it, torch for a config.json; None for neither."""
    from harness.backends.base import weight_files
    from harness.backends.files import ONNX_FILE

    torch_folder = (path / "config.json").is_file() and bool(weight_files(path)[0])
    if (path / ONNX_FILE).is_file() and not torch_folder:
        return "onnxruntime"
    return "torch" if (path / "config.json").is_file() else None


def _within(model: Path, submission: Path) -> str:
    """The model folder's path inside the submission folder, as posix text (its resolved path if outside)."""
    try:
        return model.resolve().relative_to(submission.resolve()).as_posix()
    except ValueError:
        return model.resolve().as_posix()


BARE_ID_DIGEST_CHARS = 8  # hex characters of the model files' sha256 in a bare folder's id


def bare_model_id(path: Path, digest: str) -> str:
    """A bare model folder's id: its name and its files' digest, so `a/model` and `b/model` (or a submission
    called `model`) never share records."""
    return f"{path.resolve().name}-{digest[:BARE_ID_DIGEST_CHARS]}"
