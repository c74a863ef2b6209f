"""Benchmark aggregates from per-task metrics: the official GLUE and SuperGLUE scores.

Rules (docs/design.md; Wang et al. 2019a/b): a task scores the unweighted mean of its metrics, MNLI is the
mean of matched and mismatched, the score is the mean over the tasks, diagnostics are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from harness.errors import UserError
from harness.tasks.benchmarks import BENCHMARKS

Metrics = Mapping[str, Mapping[str, float]]  # {task_id: {metric_name: fraction}}


@dataclass(frozen=True)
class BenchmarkScore:
    """An aggregate on a 0-100 scale; `partial` when components are missing, and then no score: a mean over some
    of the tasks is not the benchmark's score, and read as one it would rank above complete submissions."""

    benchmark: str
    score: float | None
    partial: bool
    components: dict[str, float] = field(default_factory=dict)  # component -> 0-100
    missing: tuple[str, ...] = ()
    diagnostics: dict[str, dict[str, float]] = field(default_factory=dict)
    of: int = 0  # the benchmark's components (GLUE: 9; MNLI counts once)

    @property
    def scored(self) -> int:
        """How many of the benchmark's components were scored."""
        return len(self.components)

    def tasks_text(self) -> str:
        """`7 of 9 tasks (missing qqp, mnli)`: what a partial aggregate shows instead of a number."""
        return f"{self.scored} of {self.of} tasks" + (f" (missing {', '.join(self.missing)})" if self.missing else "")

    def label(self) -> str:
        """The score as a reader should see it; a partial aggregate reads k of n tasks, not a number."""
        if self.partial:
            return f"{self.benchmark}: {self.tasks_text()}: no score until every task is scored"
        return f"{self.benchmark}: {self.score:.1f}"


def benchmark_score(benchmark: str, metrics: Metrics) -> BenchmarkScore:
    """The official aggregate of `benchmark` from {task: {metric: fraction}}; 0-100, None (partial) if incomplete.

    >>> benchmark_score("glue", {"sst2": {"accuracy": 0.9}}).label()
    'glue: 1 of 9 tasks (missing cola, mrpc, stsb, qqp, mnli, qnli, rte, wnli): no score until every task is scored'
    """
    from harness.tasks import get_task

    spec = BENCHMARKS.get(benchmark)
    known = spec.members
    unknown = sorted(set(metrics) - known)
    if unknown:
        raise UserError(
            f"{benchmark}: tasks {', '.join(unknown)} are not part of it", fix=f"known: {', '.join(sorted(known))}"
        )
    components: dict[str, float] = {}
    missing = []
    for comp in spec.components:
        name = _component_name(comp)
        if not all(t in metrics for t in comp):
            missing.append(name)
            continue
        components[name] = 100 * sum(get_task(t).score(metrics[t]) for t in comp) / len(comp)
    diagnostics = {t: {k: 100 * float(v) for k, v in metrics[t].items()} for t in spec.diagnostics if t in metrics}
    score = sum(components.values()) / len(components) if components and not missing else None
    return BenchmarkScore(
        benchmark, score, bool(missing), components, tuple(missing), diagnostics, len(spec.components)
    )


def _component_name(tasks: tuple[str, ...]) -> str:
    """`("mnli_matched", "mnli_mismatched")` -> "mnli"; a single task keeps its id."""
    if len(tasks) == 1:
        return tasks[0]
    prefix = tasks[0].split("_")[0]
    return prefix if all(t.startswith(prefix) for t in tasks) else "+".join(tasks)
