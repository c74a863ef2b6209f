"""The track file schema: checks a parsed track document and returns plain values for `harness.tracks.definitions`.

Every key a track may hold is listed here (the data files it refers to: `harness.tracks.reference`);
tracks/README.md shows them with an annotated example.
Cross-checks: splits match the task registry, columns have their measurement, ranking and Pareto
columns exist on the board, reference-curve tasks belong to the track.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.backends.devices import DTYPES
from harness.measure import DEFAULT_MEASUREMENTS
from harness.tracks.columns import EFFICIENCY, MEASUREMENTS
from harness.tracks.reference import check_curve_block, check_reference_rows
from harness.yamlcheck import Checker, known, shown

TOP_KEYS = (
    "name",
    "description",
    "source",
    "hardware",
    "tasks",
    "score",
    "cutoffs",
    "measurement",
    "columns",
    "ranking",
    "pareto",
    "dynascore",
    "elue",
    "reference_rows",
    "robustness",
    "ood",
)
REQUIRED = ("name", "description", "source", "hardware", "tasks", "score", "ranking")
CUTOFF_KEYS = ("max_params", "max_bytes", "min_score", "require_all_tasks")
MEASUREMENT_KEYS = (
    "measure",
    "threads",
    "batch_size",
    "reference_length",
    "max_length",
    "latency_budget_s",
    "pue",
    "note",
    "dtype",
)
RANKING_KEYS = ("by", "order", "then", "rule")
ROBUSTNESS_KEYS = ("kinds", "rate", "seed")
OOD_KEYS = ("task", "on", "labels")
ORDERS = ("descending", "ascending")
HARDWARE = ("cpu", "gpu")
SCORE_RULES = ("glue", "superglue", "mean", "metric")
SCORE_LABELS = {"glue": "GLUE score", "superglue": "SuperGLUE score", "mean": "mean task score"}


def check_track(c: Checker, data: Any, path: Path) -> dict[str, Any]:
    """Validate a track document; problems go to `c`, the returned values are complete only when there are none."""

    top = c.mapping(data, "", TOP_KEYS, REQUIRED)
    if top is None:
        return {}
    out: dict[str, Any] = {k: c.text(top.get(k), k) for k in ("name", "description", "source")}
    out["hardware"] = c.text(top.get("hardware"), "hardware", HARDWARE)
    out["tasks"] = _tasks(c, top.get("tasks"))
    names = [t["task"] for t in out["tasks"]]
    out["score"] = _score(c, top.get("score"), names)
    out["cutoffs"] = _cutoffs(c, top.get("cutoffs", {}))
    out["measurement"] = _measurement(c, top.get("measurement", {}))
    measured = set(out["measurement"].get("measure", DEFAULT_MEASUREMENTS))
    out["columns"] = _columns(c, top.get("columns", []), measured)
    for key, needs in (("max_params", "params"), ("max_bytes", "system_size")):
        if out["cutoffs"].get(key) is not None and needs not in measured:
            c.fail(f"cutoffs.{key}", f"needs measurement.measure to include {needs!r}")
    curve = check_curve_block(c, top["elue"], path, names) if "elue" in top else None
    if curve:
        out["reference_curve"] = curve
    board = ["score"] + (["elue_score"] if "elue" in top else []) + [f"task:{n}" for n in names] + out["columns"]
    if "dynascore" in top:
        out["dynascore"] = _weights(c, top["dynascore"], board)
        board.append("dynascore")
    out["ranking"] = _ranking(c, top.get("ranking"), board)
    out["pareto"] = _pareto(c, top.get("pareto", []), board)
    if "reference_rows" in top:
        out["reference_rows"] = check_reference_rows(c, top["reference_rows"], path)
    if "robustness" in top:
        out["robustness"] = _robustness(c, top["robustness"], names)
    if "ood" in top:
        out["ood"] = _ood(c, top["ood"], names)
    return out


def _robustness(c: Checker, value: Any, tasks: list[str]) -> dict[str, Any]:
    """`robustness: {kinds: [typo, ...], rate: 0.1, seed: 0}`: the perturbation suite on the track's classification
    tasks (harness.inference.robustness); a track with none of them is refused."""
    from harness.inference.perturb import KINDS
    from harness.inference.robustness import DEFAULT_RATE, DEFAULT_SEED, offered
    from harness.tasks import get_task

    entry = c.mapping(value, "robustness", ROBUSTNESS_KEYS, ("kinds",))
    if entry is None:
        return {}
    named = [
        known(c, k, f"robustness.kinds[{i}]", KINDS, "perturbation")
        for i, k in enumerate(c.sequence(entry.get("kinds"), "robustness.kinds", non_empty=True) or [])
    ]
    rate = c.number(entry.get("rate", DEFAULT_RATE), "robustness.rate", 0, 1, above=True)
    seed = c.integer(entry.get("seed", DEFAULT_SEED), "robustness.seed", minimum=0)
    if tasks and not any(offered(get_task(t)) for t in tasks):
        c.fail("robustness", "none of the track's tasks is a classification task the suite perturbs", "drop the key")
    return {"kinds": tuple(k for k in KINDS if k in named), "rate": rate, "seed": seed}


def _ood(c: Checker, value: Any, tasks: list[str]) -> list[dict[str, Any]]:
    """`ood: [{task: sst2, on: imdb, labels: {negative: neg, positive: pos}}]`: the submission's model for a track
    task also scored on another classification task's data; `labels` maps each of its labels onto one of the other
    task's (default: the same names), reaching each of them: one to one, or many to one (`_ood_labels`)."""
    from harness.tasks import get_task, task_names

    out: list[dict[str, Any]] = []
    for i, item in enumerate(c.sequence(value, "ood", non_empty=True) or []):
        where = f"ood[{i}]"
        if isinstance(item, dict) and True in item and "on" not in item:  # YAML 1.1 reads a bare `on` key as true
            item = {("on" if k is True else k): v for k, v in item.items()}
        entry = c.mapping(item, where, OOD_KEYS, ("task", "on"))
        if entry is None:
            continue
        source = known(c, entry.get("task"), f"{where}.task", tasks, "track task")
        target = known(c, entry.get("on"), f"{where}.on", task_names(), "task")
        if source is None or target is None:
            continue
        if target in tasks:
            c.fail(
                f"{where}.on",
                f"task {target} is scored on this track: its out-of-distribution record would stand in for the "
                "submission's own model of it",
                "pair the model with a task the track does not score",
            )
            continue
        a, b = get_task(source), get_task(target)
        if a.kind != "classification" or b.kind != "classification":
            c.fail(where, f"tasks {source} ({a.kind}) and {target} ({b.kind}) must both be classification tasks")
            continue
        labels = _ood_labels(c, entry.get("labels"), f"{where}.labels", a.labels, b.labels)
        if labels is None:
            continue
        if any(o["task"] == source and o["on"] == target for o in out):
            c.fail(where, f"the pair {source} -> {target} is listed twice")
            continue
        out.append({"task": source, "on": target, "labels": labels})
    return out


def _ood_labels(
    c: Checker, value: Any, path: str, source: tuple[str, ...], target: tuple[str, ...]
) -> dict[str, str] | None:
    """The label map of an OOD pair: every source label named once, onto a target label, every target label reached.
    One to one, or many to one (MNLI's neutral and contradiction onto HANS's non-entailment, as McCoy et al. 2019
    score MNLI models: their argmax over the source labels, then mapped; harness.inference.robustness.relabelled)."""
    fix = (
        "map each source label to one target label, e.g. labels: {"
        + ", ".join(f"{a}: {target[min(i, len(target) - 1)]}" for i, a in enumerate(source))
        + "}"
    )
    if len(source) < len(target):
        c.fail(
            path,
            f"the source's {len(source)} labels ({', '.join(source)}) cannot reach the target's {len(target)} "
            f"({', '.join(target)}): each of its labels needs a source label mapped onto it",
            "pair the model with a task of as many labels or fewer",
        )
        return None
    if value is None:
        if sorted(source) != sorted(target):
            c.fail(path, f"missing: the labels {list(source)} and {list(target)} differ", fix)
            return None
        return {name: name for name in source}
    entry = c.mapping(value, path, fix=fix)
    if entry is None:
        return None
    mapped = {str(k): v for k, v in entry.items()}
    if (
        len(mapped) != len(entry)
        or sorted(mapped) != sorted(source)
        or not all(isinstance(v, str) for v in mapped.values())
    ):
        c.fail(path, f"expected each of {', '.join(source)} once, mapped to a label, got {shown(value)}", fix)
        return None
    unknown = [f"{k}: {v}" for k, v in mapped.items() if v not in target]
    if unknown:
        c.fail(path, f"{', '.join(unknown)}: not a label of the target ({', '.join(target)})", fix)
        return None
    unreached = [name for name in target if name not in mapped.values()]
    if unreached:
        c.fail(
            path,
            f"no source label is mapped onto {', '.join(unreached)}: every label of the target ({', '.join(target)}) "
            "must be reached (its examples could never be predicted right)",
            fix,
        )
        return None
    return mapped


def _tasks(c: Checker, value: Any) -> list[dict[str, str]]:
    from harness.tasks import get_task, task_names

    out = []
    for i, item in enumerate(c.sequence(value, "tasks", non_empty=True) or []):
        where = f"tasks[{i}]"
        entry = c.mapping(item, where, ("task", "split"), ("task", "split"))
        if entry is None:
            continue
        name = known(c, entry.get("task"), f"{where}.task", task_names(), "task")
        split = c.text(entry.get("split"), f"{where}.split")
        if name is None or split is None:
            continue
        expected = get_task(name).source.split
        if split != expected:
            c.fail(
                f"{where}.split",
                f"task {name} evaluates split {expected!r}, got {shown(split)}; "
                "test labels of these benchmarks are not public",
            )
        if name in [t["task"] for t in out]:
            c.fail(f"{where}.task", f"task {name} is listed twice")
        else:
            out.append({"task": name, "split": split})
    return out


def _score(c: Checker, value: Any, tasks: list[str]) -> dict[str, Any]:
    from harness.tasks import get_task

    entry = c.mapping(value, "score", ("rule", "task", "metric", "label"), ("rule",))
    if entry is None:
        return {}
    rule = c.text(entry.get("rule"), "score.rule", SCORE_RULES)
    out: dict[str, Any] = {"rule": rule}
    if rule == "metric":
        task = known(c, entry.get("task"), "score.task", tasks, "track task")
        if task is not None:
            metrics = [m.name for m in get_task(task).metrics]
            out["metric"] = known(c, entry.get("metric"), "score.metric", metrics, f"metric of {task}")
            out["task"] = task
    elif rule in ("glue", "superglue"):
        from harness.tasks.benchmarks import BENCHMARKS

        spec = BENCHMARKS.get(rule)
        for t in tasks:
            if t not in spec.members:
                c.fail("score.rule", f"task {t} is not part of the {rule} score", "use rule: mean, or drop the task")
    label = entry.get("label")
    default = SCORE_LABELS.get(rule or "", f"{out.get('task')} {out.get('metric')}")
    out["label"] = c.text(label, "score.label") if label is not None else default
    return out


def _cutoffs(c: Checker, value: Any) -> dict[str, Any]:
    entry = c.mapping(value, "cutoffs", CUTOFF_KEYS)
    if entry is None:
        return {}
    out: dict[str, Any] = {}
    for key in ("max_params", "max_bytes"):
        if entry.get(key) is not None:
            out[key] = c.integer(entry[key], f"cutoffs.{key}")
    if entry.get("min_score") is not None:
        out["min_score"] = c.number(entry["min_score"], "cutoffs.min_score", 0, 100)
    if "require_all_tasks" in entry:
        out["require_all_tasks"] = c.boolean(entry["require_all_tasks"], "cutoffs.require_all_tasks")
    return out


def _measurement(c: Checker, value: Any) -> dict[str, Any]:
    entry = c.mapping(value, "measurement", MEASUREMENT_KEYS)
    if entry is None:
        return {}
    out: dict[str, Any] = {}
    if "measure" in entry:
        names = [
            known(c, n, f"measurement.measure[{i}]", list(MEASUREMENTS), "measurement")
            for i, n in enumerate(c.sequence(entry["measure"], "measurement.measure") or [])
        ]
        out["measure"] = tuple(dict.fromkeys(n for n in names if n))
    for key in ("threads", "batch_size", "reference_length", "max_length"):
        if key in entry:
            out[key] = c.integer(entry[key], f"measurement.{key}")
    if "latency_budget_s" in entry:
        out["latency_budget_s"] = c.number(entry["latency_budget_s"], "measurement.latency_budget_s", 0, above=True)
    if "pue" in entry:
        out["pue"] = c.number(entry["pue"], "measurement.pue", 1)
    if "note" in entry:
        note = c.text(entry["note"], "measurement.note", fix="write one line of text, e.g. note: latency budget cut")
        if note is not None:
            out["note"] = note.strip()
    if "dtype" in entry:
        dtype = c.text(entry["dtype"], "measurement.dtype", DTYPES)
        if dtype is not None:
            out["dtype"] = dtype
    return out


def _columns(c: Checker, value: Any, measured: set[str]) -> list[str]:
    out = []
    for i, item in enumerate(c.sequence(value, "columns") or []):
        name = known(c, item, f"columns[{i}]", list(EFFICIENCY), "column")
        if name is None:
            continue
        needs = EFFICIENCY[name].measurement
        if needs not in measured:
            c.fail(f"columns[{i}]", f"column {name!r} reads measurements.{needs}; add {needs!r} to measurement.measure")
        out.append(name)
    return out


def _ranking(c: Checker, value: Any, board: list[str]) -> dict[str, Any]:
    entry = c.mapping(value, "ranking", RANKING_KEYS, ("by",))
    if entry is None:
        return {}
    out: dict[str, Any] = {"by": known(c, entry.get("by"), "ranking.by", board, "board column")}
    if entry.get("order") is not None:
        out["order"] = c.text(entry["order"], "ranking.order", ORDERS)
    out["then"] = tuple(
        known(c, x, f"ranking.then[{i}]", board, "board column")
        for i, x in enumerate(c.sequence(entry.get("then", []), "ranking.then") or [])
    )
    if entry.get("rule") is not None:
        out["rule"] = c.text(entry["rule"], "ranking.rule")
    return out


def _pareto(c: Checker, value: Any, board: list[str]) -> list[tuple[str, str]]:
    out = []
    for i, pair in enumerate(c.sequence(value, "pareto") or []):
        if not isinstance(pair, list) or len(pair) != 2:
            c.fail(f"pareto[{i}]", f"expected a pair [y, x] of column ids, e.g. [score, flops], got {shown(pair)}")
            continue
        a, b = (known(c, x, f"pareto[{i}][{j}]", board, "board column") for j, x in enumerate(pair))
        if a and b and a == b:
            c.fail(f"pareto[{i}]", f"both axes are {a!r}; a front needs two different columns")
        elif a and b:
            out.append((a, b))
    return out


def _weights(c: Checker, value: Any, board: list[str]) -> dict[str, float]:
    entry = c.mapping(value, "dynascore", ("weights",), ("weights",))
    weights = entry.get("weights") if entry else None
    if entry is None or not isinstance(weights, dict) or not weights:
        if entry is not None:
            c.fail("dynascore.weights", f"expected a mapping of column: weight, got {shown(weights)}")
        return {}
    return {
        str(k): c.number(w, f"dynascore.weights.{k}", 0, above=True) or 0.0
        for k, w in weights.items()
        if known(c, k, f"dynascore.weights.{k}", board, "board column")
    }
