"""The benchmarks' task sets: which tasks make up GLUE and SuperGLUE, which of them are diagnostics.

Declarative: the scoring rules that combine them are in harness.scoring.aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.registry import Registry


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's aggregate: each component is one or more tasks whose scores are averaged first."""

    name: str
    components: tuple[tuple[str, ...], ...]
    diagnostics: tuple[str, ...] = ()
    source: str = ""

    @property
    def members(self) -> frozenset[str]:
        """Every task of the benchmark: those of its components and its diagnostics."""
        return frozenset(t for comp in self.components for t in comp) | frozenset(self.diagnostics)


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
BENCHMARKS.add(
    "glue",
    Benchmark(
        "glue",
        (
            ("cola",),
            ("sst2",),
            ("mrpc",),
            ("stsb",),
            ("qqp",),
            ("mnli_matched", "mnli_mismatched"),
            ("qnli",),
            ("rte",),
            ("wnli",),
        ),
        diagnostics=("ax",),
        source="GLUE paper (Wang et al. 2019) and gluebenchmark.com leaderboard rules",
    ),
)
BENCHMARKS.add(
    "superglue",
    Benchmark(
        "superglue",
        (("boolq",), ("cb",), ("copa",), ("multirc",), ("record",), ("superglue/rte",), ("wic",), ("wsc",)),
        diagnostics=("axb", "axg"),
        source="SuperGLUE paper (Wang et al. 2019) and super.gluebenchmark.com rules",
    ),
)
