"""Stage 1, a submission folder -> a checked Submission: load its submission.yaml, or check it all before a PR.

One idea a module: `submission` (the dataclasses and names), `schema` (submission.yaml on the YAML engine),
`folders` (model folders, weight and tokenizer files, declared sizes), `models` (loading each model once, labels,
declared parameters), `hashing` (the folder's content hashes a record keeps).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import ConfigError
from harness.submissions.folders import check_folders
from harness.submissions.hashing import HASH_CHUNK_BYTES, combined_sha256, sha256_files
from harness.submissions.models import check_models
from harness.submissions.schema import parse_submission
from harness.submissions.submission import (
    DEFAULT_BACKEND,
    METHODS,
    SUBMISSION_FILE,
    Declared,
    Submission,
    TaskEntry,
    submission_meta,
)
from harness.yamlcheck import Problem

__all__ = [
    "DEFAULT_BACKEND",
    "HASH_CHUNK_BYTES",
    "METHODS",
    "SUBMISSION_FILE",
    "Declared",
    "Problem",
    "Submission",
    "TaskEntry",
    "check_submission",
    "combined_sha256",
    "load_submission",
    "sha256_files",
    "submission_meta",
]


def load_submission(path: str | Path) -> Submission:
    """Parse a submission folder's submission.yaml; raises ConfigError listing every schema problem."""
    submission, problems = parse_submission(Path(path))
    if problems or submission is None:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the submission; run `harness check {path}`:\n{lines}")
    return submission


def check_submission(path: str | Path, *, allow_pickle: bool = False, load_models: bool = True) -> list[Problem]:
    """Every problem of a submission folder: schema, model folders and, if `load_models`, the loaded models.

    `allow_pickle` is the organizer's opt-in; pickle weights also need `allow_pickle: true` in the yaml.
    """
    submission, problems = parse_submission(Path(path))
    if submission is None:
        return problems
    usable = check_folders(submission, allow_pickle, problems)
    if load_models and usable:
        check_models(submission, usable, allow_pickle and submission.allow_pickle, problems)
    elif not load_models:  # loading, the backend checks the same estimate, then counts exactly on the meta device
        from harness.submissions.config_size import config_size_problems

        problems += config_size_problems(Path(path), problems)
    return problems
