"""A fixture set of result records and two tracks for the site tests: measured, self-reported, ineligible,
hostile (a submission named `<script>alert(1)</script>` with a javascript: paper link) and reference rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from board_records import HEAD, record, write_track

from harness.records import Record, new_record, store_record

XSS = "<script>alert(1)</script>"
META = {"generated_at": "2026-03-01T12:00:00+00:00", "harness_version": "test"}
TRACK = (
    HEAD.replace("test track", "Fixture track")
    + """tasks:
  - {task: sst2, split: validation}
  - {task: mrpc, split: validation}
score: {rule: mean, label: Mean score}
cutoffs: {max_params: 40000000}
measurement: {measure: [params, size, flops, latency, energy]}
columns: [params, size_bytes, flops, latency_ms, energy_kwh]
ranking: {by: score, then: [params]}
pareto: [[score, params]]
reference_rows: {file: data/refs.yaml, ids: [paper-bert]}
"""
)
ELUE_TRACK = (
    HEAD.replace("test track", "ELUE fixture track")
    + """tasks:
  - {task: sst2, split: validation}
  - {task: mrpc, split: validation}
score: {rule: mean}
measurement: {measure: [params, flops]}
columns: [params, flops]
elue:
  reference_curve:
    model: hand-made curve
    source: tests
    points: {sst2: [[0.5e9, 80], [3.0e9, 92]], mrpc: [[0.5e9, 75], [3.0e9, 88]]}
ranking: {by: elue_score, then: [score]}
pareto: [[score, flops]]
"""
)
REFS = """rows:
- id: paper-bert
  model: Paper BERT
  params_m: 110
  split: glue-dev
  scores: {sst2: 93.0, mrpc: 88.0}
  avg_rule: as printed
  source: a paper (2019)
"""
# submission id -> (name, methods, sst2 accuracy, mrpc (accuracy, f1), params, latency ms or None, energy label)
SUBMISSIONS = {
    "alpha": ("Alpha-6L", ["distillation"], 0.92, (0.88, 0.90), 30_000_000, 10.0, "measured"),
    "beta": ("Beta|int8", ["quantization"], 0.88, (0.84, 0.86), 10_000_000, 4.0, "estimated"),
    "gamma": ("Gamma_pruned 50%", ["pruning"], 0.80, (0.78, 0.80), 20_000_000, None, "measured"),
    "big": ("Big teacher", ["distillation"], 0.95, (0.93, 0.95), 50_000_000, 30.0, "measured"),
    "xss": (XSS, ["other"], 0.70, (0.70, 0.70), 5_000_000, 2.0, "measured"),
}
ORDER = ["alpha", "beta", "selfrep", "gamma", "xss", "big"]  # ranked by score; the ineligible row last
ENVIRONMENT = {
    "cpu_model": "Test CPU 9000",
    "physical_cores": 2,
    "logical_cpus": 2,
    "threads": 1,
    "gpu": [],
    "memory_bytes": 8 * 2**30,
    "os": "Linux-test",
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
    "transformers": "5.24.0",
    "harness_version": "test",
    "harness_commit": None,
}
BY_MODULE = {
    "bert.embeddings": 1_000_000,
    "bert.encoder.layer.0": 400_000_000,
    "bert.encoder.layer.1": 400_000_000,
    "bert.encoder.layer.10": 400_000_000,
    "classifier": 3_000,
}


def _measured(sub: str, task: str, metrics: dict[str, float]) -> Record:
    name, methods, _, _, params, latency, label = SUBMISSIONS[sub]
    r = record(sub, task, metrics, params=params, flops=params * 60.0, energy_kwh=params * 1e-11)
    meta = r.submission.meta  # nested blocks stay mappings
    meta.update(
        name=name,
        methods=methods,
        team="Lab & Co",
        base_model="bert-base-uncased",
        teacher_model="bert-large-uncased",
        description=f"{name}: a compressed BERT",
    )
    meta["paper"] = "javascript:alert(1)" if sub == "xss" else "https://arxiv.org/abs/1234.5678"
    meta["code"] = "https://example.org/code?a=1&b=2"
    m = r.measurements
    m["energy"]["label"] = label
    m["energy"]["method"] = "RAPL package counters" if label == "measured" else "CPU time x TDP estimate"
    m["params"].update(embedding_params=params // 5, method="unique parameter tensors")
    m["size"] = {"total_bytes": params * 4, "method": "sum of file sizes", "unit": "bytes"}
    m["flops"].update(
        reference_length=128, by_module=BY_MODULE, by_op={"aten.addmm": 1_000_000}, convention="FLOPs = 2 x MACs"
    )
    if latency is not None:
        m["latency"] = {"p50_ms": latency, "p90_ms": latency * 1.1, "threads": 1, "method": "batch 1 percentiles"}
    fields = r.to_dict()
    return new_record(
        **{
            **fields,
            "key": None,  # the key its final fields give
            "environment": ENVIRONMENT,
            "settings": {"limit": None, "batch_size": 32},
            "submission": {
                **fields["submission"],
                "sha256": "ab" * 32,
                "files": {"model/model.safetensors": "cd" * 32, "submission.yaml": "ef" * 32},
            },
            "num_examples": 872 if task == "sst2" else 408,
            "model": {"backend": "onnxruntime" if sub == "beta" else "torch"},  # the backend the model ran on
        }
    )


def site_records() -> list[Record]:
    """Records of five measured submissions and one self-reported, on sst2 and mrpc."""
    out = []
    for sub, (_, _, sst2, (acc, f1), *_rest) in SUBMISSIONS.items():
        out.append(_measured(sub, "sst2", {"accuracy": sst2}))
        out.append(_measured(sub, "mrpc", {"accuracy": acc, "f1": f1}))
    points = [
        {"label": "exit 1", "flops": 0.6e9, "score": 0.82, "metrics": {"accuracy": 0.82}},
        {"label": "exit 2", "flops": 1.5e9, "score": 0.86, "metrics": {"accuracy": 0.86}},
    ]
    for task, metrics in (("sst2", {"accuracy": 0.86}), ("mrpc", {"accuracy": 0.83, "f1": 0.85})):
        r = record(
            "selfrep",
            task,
            metrics,
            kind="self-reported",
            name="Exits (self-reported)",
            declared={"parameters": 15_000_000},
            points=points
            if task == "sst2"
            else [{"label": "exit 1", "flops": 0.8e9, "score": 0.84, "metrics": metrics}],
        )
        out.append(r)
    return out


def write_fixture(root: Path) -> tuple[Path, Path]:
    """Write the records under root/results and the two tracks under root/tracks; returns (results, tracks)."""
    results, tracks = root / "results", root / "tracks"
    for r in site_records():
        store_record(r, results)
    write_track(tracks, "fixture", TRACK)
    write_track(tracks, "elue-fixture", ELUE_TRACK)
    (tracks / "data").mkdir()
    (tracks / "data" / "refs.yaml").write_text(REFS, encoding="utf-8")
    return results, tracks


@dataclass(frozen=True)
class Built:
    """The fixture written to disk, ranked the way `harness leaderboard` ranks, and the site built from it."""

    root: Path
    results: Path
    tracks: Path
    boards: list
    records: list
    files: dict


_BUILT: dict[str, Built] = {}


def built_site(tmp_path_factory: Any) -> Built:
    """Build the fixture site once per test session (matplotlib's figures are the slow part).

    Not a session fixture in tests/publish/site/conftest.py: a second conftest module shadows tests/conftest.py for the
    tests that import helpers from it (`from conftest import save_tiny_bert`), and their collection fails.
    """
    if "site" not in _BUILT:
        from harness.publish.boards import build_boards
        from harness.publish.site.build import build_site

        root = tmp_path_factory.mktemp("site-fixture")
        results, tracks = write_fixture(root)
        boards, records = build_boards(results, str(tracks))
        _BUILT["site"] = Built(root, results, tracks, boards, records, build_site(boards, records, META))
    return _BUILT["site"]


FAMILIES = ("distillation", "pruning", "quantization", "low-rank")


def many_records(n: int) -> list[Record]:
    """n measured submissions on the fixture track's tasks (sst2, mrpc): enough rows for pages of rows.

    Submission i is `m0000`...: every 7th breaks the parameter cutoff (ineligible), every 5th carries no latency.
    """
    from board_records import record as plain

    out = []
    for i in range(n):
        sid, acc = f"m{i:04d}", 0.6 + 0.3 * ((i * 37) % n) / n
        params = 5_000_000 + (i * 7919) % 30_000_000 + (20_000_000 if i % 7 == 3 else 0)
        for task, metrics in (("sst2", {"accuracy": acc}), ("mrpc", {"accuracy": acc - 0.02, "f1": acc})):
            r = plain(sid, task, metrics, params=params, flops=params * 60.0 * (1 + i % 13), name=f"Model {i:04d}")
            fields = r.to_dict()
            fields["submission"]["meta"]["methods"] = [FAMILIES[i % len(FAMILIES)]]
            if i % 5:
                fields["measurements"]["latency"] = {"p50_ms": 1.0 + (i % 17), "threads": 1}
            out.append(new_record(**{**fields, "key": None, "environment": ENVIRONMENT}))
    return out


def many_site(root: Path, n: int) -> tuple[list, list, dict]:
    """The fixture track with n synthetic submissions: (boards, records, site files)."""
    from harness.publish.boards import build_boards
    from harness.publish.site.build import build_site

    results, tracks = root / "results", root / "tracks"
    for r in many_records(n):
        store_record(r, results)
    write_track(tracks, "fixture", TRACK)
    (tracks / "data").mkdir(exist_ok=True)
    (tracks / "data" / "refs.yaml").write_text(REFS, encoding="utf-8")
    boards, records = build_boards(results, str(tracks))
    return boards, records, build_site(boards, records, META)
