"""A submission page shows its agreement with the teacher its `teacher:` names (issue 15): per task, from the files
beside both records; "not measured: no teacher record" without one; each definition and source once; and only
submissions that name a teacher read any outputs file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from board_records import record

from harness.formats import predictions_path, write_predictions
from harness.formats.outputs import outputs_path, write_outputs
from harness.publish.site.build import build_site, page_names
from harness.publish.site.submission_pages import submission_pages
from harness.records import Record
from harness.tasks import get_task

META = {"generated_at": "2026-03-01T12:00:00+00:00", "harness_version": "test"}
IDS = ["0", "1", "2", "3"]
LOGITS = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
FLIPPED = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # the last example: the other label


def saved(folder: Path, sub: str, task: str, values=None, answers=None, teacher: str | None = None) -> Record:
    """An ok record with its outputs (or, for span QA, answers) beside it; `teacher`: the id its meta names."""
    stem = folder / sub / f"{task}.cpu.0123456789ab"
    r = record(sub, task, {"accuracy": 0.5} if answers is None else {"exact_match": 0.5, "f1": 0.5})
    changes: dict = {"path": str(stem) + ".record.json", "num_examples": 4}
    if values is not None:
        write_outputs(outputs_path(stem), IDS, values, "logits")
        changes["outputs_file"] = outputs_path(stem).name
    if answers is not None:
        path = predictions_path(get_task(task), stem)
        write_predictions(get_task(task), dict(zip(IDS, answers)), path)
        changes["predictions_file"] = path.name
    if teacher is not None:
        changes["submission"] = replace(r.submission, meta={**r.submission.meta, "teacher": teacher})
    return r.with_(**changes)


def fixture_records(folder: Path) -> list[Record]:
    return [
        saved(folder, "kd", "rte", LOGITS, teacher="big"),
        saved(folder, "kd", "mrpc", LOGITS, teacher="big"),
        saved(folder, "kd", "squad", answers=["the Eiffel Tower", "1889", "Paris", ""], teacher="big"),
        saved(folder, "big", "rte", FLIPPED),
        saved(folder, "big", "squad", answers=["Eiffel Tower", "in 1889", "Lyon", ""]),
        saved(folder, "plain", "rte", LOGITS),
    ]


def pages(records: list[Record]) -> dict[str, str]:
    ids = [str(r.submission.id) for r in records]
    return submission_pages([], records, page_names(ids), META, only=set(ids))


def test_a_student_page_shows_its_agreement_with_the_teacher_per_task(tmp_path):
    page = pages(fixture_records(tmp_path))["kd"]
    section = page[page.index('<section id="agreement">') :]
    section = section[: section.index("</section>")]
    assert "Agreement with the teacher" in section and '<a href="big.html"><code>big</code></a>' in section
    rte, mrpc, squad = (
        section[section.index(f"<code>{t}</code>") :].split("</tr>")[0] for t in ("rte", "mrpc", "squad")
    )
    assert "label loyalty 75.00%" in rte and "fidelity top-1 75.00%" in rte
    assert "probability loyalty 0." in rte and "fidelity KL (nats) 0.1155" in rte  # (2 sigmoid(1) - 1) / 4 nats
    assert "not measured: no teacher record" in mrpc
    assert "EM vs teacher 50.00%" in squad and "F1 vs teacher 66.67%" in squad
    for source in ("Xu et al. 2021, &quot;Beyond Preserved Accuracy", "Stanton et al. 2021, &quot;Does Knowledge"):
        assert page.count(source) == 1  # each definition and its source stated once
    assert "not measured: no teacher record" not in pages(fixture_records(tmp_path))["big"]


def test_without_a_teacher_key_there_is_no_agreement_section(tmp_path):
    built = pages(fixture_records(tmp_path))
    assert "Agreement with the teacher" not in built["plain"] and "Agreement with the teacher" not in built["big"]


def test_a_missing_outputs_file_reads_not_measured_on_the_page(tmp_path):
    records = fixture_records(tmp_path)
    teacher = records[3]
    Path(teacher.path).with_name(teacher.outputs_file).unlink()
    page = pages(records)["kd"]
    assert "not measured: the teacher&#x27;s outputs file rte.cpu.0123456789ab.outputs.npz is missing" in page


def test_only_submissions_naming_a_teacher_read_outputs_files(tmp_path, monkeypatch):
    import harness.formats.outputs as outputs

    records = fixture_records(tmp_path)
    read: list[str] = []
    original = outputs.read_outputs
    monkeypatch.setattr(outputs, "read_outputs", lambda path: read.append(str(path)) or original(path))
    pages([r for r in records if r.submission.id != "kd"])
    assert read == []
    pages(records)
    assert read and all("/kd/" in p or "/big/" in p for p in read)


def test_the_site_build_gives_the_student_page_its_teacher_records(tmp_path):
    files = build_site([], fixture_records(tmp_path), META)
    page = files["submissions/kd.html"]
    assert isinstance(page, str) and "label loyalty 75.00%" in page and "EM vs teacher 50.00%" in page
