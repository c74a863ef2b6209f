"""What `harness check --no-load` says of each model folder's config.json: the parameters it implies
(harness.backends.config_params, a lower bound counted in pure Python) against the organizer's ceiling
(harness.backends.base.MAX_MODEL_PARAMS), its layers against the layer ceiling (MAX_MODEL_LAYERS), and the fields
that are no size."""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import MAX_MODEL_LAYERS, MAX_MODEL_PARAMS
from harness.backends.config_params import SIZE_FIX, BadField, depth_fix, implied_parameters, shown_count, too_deep
from harness.submissions.folders import _backend_checks, _read_config
from harness.submissions.schema import parse_submission
from harness.yamlcheck import Problem


def config_size_problems(path: str | Path, found: list[Problem], ceiling: int = MAX_MODEL_PARAMS) -> list[Problem]:
    """The problems of each model folder's config.json estimate (over `ceiling`, or a field that is no size), for a
    submission whose other problems are `found`: a folder with any of those (its config unreadable, a link out of
    the submission) is left alone, and so are backends with their own folder checks."""
    sub, _ = parse_submission(Path(path))
    if sub is None or _backend_checks(sub.backend) is not None:
        return []
    out: list[Problem] = []
    seen: set[Path] = set()
    for name, entry in sub.tasks.items():
        if entry.model in seen or any(Path(p.file).is_relative_to(entry.model) for p in found):
            continue
        seen.add(entry.model)
        config = _read_config(entry.model)
        if config is None:
            continue
        file, where = str(entry.model / "config.json"), f"tasks.{name}.model"
        if (deep := too_deep(config, MAX_MODEL_LAYERS)) is not None:
            out.append(Problem(file, f"{where}: {deep[0]}", deep[1], depth_fix(deep[0])))
            continue
        try:
            count = implied_parameters(config)
        except BadField as e:
            out.append(Problem(file, f"{where}: {e.key}", f"{e}, so no model can be built from it", SIZE_FIX))
            continue
        if count is not None and count > ceiling:
            out.append(
                Problem(
                    file,
                    where,
                    f"at least {shown_count(count)} parameters implied by config.json (estimate: embeddings and "
                    f"layers of {config.get('model_type')}), over the ceiling of {ceiling:,}",
                    SIZE_FIX,
                )
            )
    return out
