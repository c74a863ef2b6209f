"""What a track page ranks and what it shows apart: a --limit run (never ranked, never the leader), estimated
energy (ranked among itself, with its power model), an aggregate over missing tasks ("k of n tasks"), a failed
task (one line on the track page, the cause on the submission page), the accuracy band, and no absolute path
of the machine that ran anything on any page or export."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from board_records import SUPERGLUE_METRICS, record
from site_records import META

from harness.publish.site.build import build_site
from harness.scoring.rank import rank
from harness.tracks.definitions import Cutoffs, get_track

TASKS = SUPERGLUE_METRICS
HOME = "/home/alice"
POWER_MODEL = "power = tdp_w 4 W x (process CPU seconds / (wall seconds x 2 logical CPUs))"
NO_DATA = (
    f"submission broken, task boolq: task boolq: no data at {HOME}/mirror/super_glue/boolq/val.jsonl; the "
    "mirror needs super_glue/boolq/val.jsonl (the official file of hub dataset aps/super_glue), or drop "
    "--data-dir/HARNESS_DATA_DIR to use the hub"
)
# submission -> (score, kWh per task, energy label, limit); "broken" fails boolq
SUBMISSIONS = {
    "meas-a": (0.70, 1e-6, "measured", None),
    "meas-b": (0.75, 3e-6, "measured", None),
    "est-c": (0.72, 1e-7, "estimated", None),
    "quick": (0.95, 1e-9, "measured", 10),
    "broken": (0.80, 2e-6, "measured", None),
}


def records() -> list[dict]:
    out = []
    for sub, (value, kwh, label, limit) in SUBMISSIONS.items():
        for task, metrics in TASKS.items():
            if sub == "broken" and task == "boolq":
                r = record(sub, task, {}, status="failed", error=NO_DATA)
            else:
                r = record(
                    sub,
                    task,
                    {m: value for m in metrics},
                    energy_kwh=kwh,
                    energy_label=label,
                    params=1000,
                    flops=1e6,
                    limit=limit,
                    examples=10 if limit else 100,
                    split_examples=100,
                )
                r.measurements["energy"].update(
                    method="harness CPU-TDP x utilisation estimate" if label == "estimated" else "RAPL counters",
                    power_model=POWER_MODEL if label == "estimated" else "sampled every 0.5 s",
                    backends={
                        "rapl": f"unavailable: PermissionError: [Errno 13] Permission denied: "
                        f"'{HOME}/powercap/energy_uj'"
                    },
                )
            r = r.with_(
                path=f"{HOME}/results/records/{sub}/{task}.cpu.record.json",
                model={"folder": f"{HOME}/submissions/{sub}/model", "head": "auto", "backend": "pytorch"},
            )
            out.append(r)
    return out


@pytest.fixture(scope="module")
def site():
    recs = records()
    track = get_track("sustainlp-cpu")
    banded = replace(track, id="sustainlp-banded", cutoffs=Cutoffs(min_score=60.0, require_all_tasks=True))
    boards = [rank(recs, t) for t in (track, banded)]
    files = build_site(boards, recs, META)
    return {k: v if isinstance(v, str) else v.decode("utf-8", "replace") for k, v in files.items()}


def table(page: str, table_id: str) -> str:
    return page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def ids(html: str) -> list[str]:
    return re.findall(r'<tr class="r [^"]*"[^>]*>.*?<small><code>(.*?)</code>', html)


def test_limit_runs_and_estimated_energy_show_apart_and_never_lead(site):
    page = site["tracks/sustainlp-cpu/index.html"]
    assert ids(table(page, "board")) == ["meas-a", "meas-b", "broken"]
    assert ids(table(page, "board-estimated")) == ["est-c"]
    assert ids(table(page, "board-partial")) == ["quick"]
    partial = table(page, "board-partial")
    assert "partial: 80 of 800 examples over 8 tasks" in partial and 'title="not ranked">-</td>' in partial
    estimated = table(page, "board-estimated")
    assert 'data-col="rank">1</td>' in estimated and "<sup>~</sup>" in estimated
    assert POWER_MODEL in page  # how the estimate was made
    leader = site["index.html"].split("SustaiNLP, SuperGLUE by energy (cpu)</a>", 1)[1].split("</tr>", 1)[0]
    assert ">MEAS-A</a>" in leader and "QUICK" not in leader.split("estimated")[0]


def test_energy_reads_in_joules(site):
    page = site["tracks/sustainlp-cpu/index.html"]
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert 'Energy (total_power)<span class="unit">J</span>' in head
    meas_a = next(r for r in re.findall(r"<tr class=\"r .*?</tr>", page) if "<code>meas-a</code>" in r)
    assert ">28.8<" in meas_a  # 8 tasks x 1e-6 kWh = 28.8 J
    assert not re.search(r">[0-9.]+e-0\d", page)
    assert "Energy (total\\_power) (J)" in site["tracks/sustainlp-cpu/sustainlp-cpu.md"]
    assert "estimated" in site["tracks/sustainlp-cpu/score-vs-energy_kwh.svg"]


def test_a_failed_task_is_one_line_on_the_track_page_and_whole_on_the_submission_page(site):
    page = site["tracks/sustainlp-cpu/index.html"]
    assert "boolq failed: no data" in page and "the mirror needs" not in page
    sub = site["submissions/broken.html"]
    assert "the mirror needs super_glue/boolq/val.jsonl" in sub


def test_an_aggregate_over_missing_tasks_reads_k_of_n_on_both_pages(site):
    page = site["tracks/sustainlp-cpu/index.html"]
    broken = next(r for r in re.findall(r"<tr class=\"r .*?</tr>", page) if "<code>broken</code>" in r)
    assert 'title="partial: 7 of 8 tasks (missing boolq)">7 of 8 tasks</td>' in broken
    data = page.split('id="board-data">', 1)[1]  # the boolq column is in the per-task view, rendered from the data
    assert '"failed"' in data and '"no data"' in data
    assert "7 of 8 tasks" in site["submissions/broken.html"]


def test_no_absolute_path_of_the_machine_on_any_page_or_export(site):
    for path, text in site.items():
        assert HOME not in text and "alice" not in text, path


def test_the_accuracy_band_in_force_is_stated(site):
    assert "Minimum score (accuracy band)</dt><dd>none set" in site["tracks/sustainlp-cpu/index.html"]
    assert (
        "Minimum score (accuracy band)</dt><dd>SuperGLUE score at least 60"
        in site["tracks/sustainlp-banded/index.html"]
    )
