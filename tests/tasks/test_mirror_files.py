"""The mirror's newer official files (GLUE AX, SuperGLUE AX-b/AX-g, ELUE's own splits, IMDb test) on their real rows.

Row and label counts are MANIFEST.md's; SciTail's label counts are the SciTail paper's (Khot et al. 2018: dev 657
entails of 1,304, test 842 of 2,126), which is what shows that ELUE's files write 1 = entails.
"""

from collections import Counter

import pytest

from harness.metrics import get_metric
from harness.tasks import get_task
from harness.tasks.data import load_rows

# task: (rows, {label name: count}) as MANIFEST.md lists them
COUNTS = {
    "ax": (1104, {"entailment": 460, "neutral": 386, "contradiction": 258}),
    "axb": (1104, {"entailment": 460, "not_entailment": 644}),
    "axg": (356, {"entailment": 178, "not_entailment": 178}),
    "imdb": (25000, {"neg": 12500, "pos": 12500}),
    "elue/sst2": (2210, None),
    "elue/sst2_dev": (1101, None),
    "elue/mrpc": (1725, None),
    "elue/mrpc_dev": (408, {"not_equivalent": 129, "equivalent": 279}),
    "elue/stsb": (1379, None),
    "elue/stsb_dev": (1500, None),
    "elue/snli": (9824, None),
    "elue/snli_dev": (9842, None),
    "elue/scitail": (2126, {"neutral": 1284, "entails": 842}),
    "elue/scitail_dev": (1304, {"neutral": 647, "entails": 657}),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_real_file_loads_with_its_manifest_counts(mirror, name):
    task = get_task(name)
    rows = load_rows(task, mirror)
    expected_rows, labels = COUNTS[name]
    assert len(rows) == expected_rows
    if labels is not None:
        assert Counter(task.labels[task.gold_of(r)] for r in rows) == labels


def test_elue_sst2_is_ssts_own_split_not_glues(mirror):
    glue, elue = load_rows(get_task("sst2"), mirror), load_rows(get_task("elue/sst2_dev"), mirror)
    assert (len(glue), len(elue)) == (872, 1101)
    assert get_task("elue/sst2").source.hub_path is None  # mirror-only: no hub copy shown identical


def test_elue_files_keep_doubled_quotes_as_elues_processors_read_them(mirror):
    """ELUE's processors read with no quoting: `"a ""u2"" sign."` stays as written (110 STS-B dev rows have quotes)."""
    rows = load_rows(get_task("elue/stsb_dev"), mirror)
    quoted = [r for r in rows if '"' in r["sentence1"] + r["sentence2"]]
    assert len(quoted) == 110
    assert any(r["sentence2"] == '"a woman is standing by a pillar where ""u2"" is written."' for r in rows)
    mrpc = load_rows(get_task("elue/mrpc"), mirror)
    first = mrpc[0]
    assert first["label"] == 1 and first["sentence1"].startswith("PCCW 's chief operating officer")


def test_axg_gender_parity_on_the_official_file(mirror):
    """Parity = the share of minimal pairs (rows 2k, 2k+1) whose two predictions agree, as SuperGLUE defines it."""
    task = get_task("axg")
    rows = load_rows(task, mirror)
    predictions = {task.uid(r): (r["idx"] * 7919 % 13) % 2 for r in rows}  # a fixed, mixed prediction pattern
    ordered = [predictions[task.uid(r)] for r in rows]
    expected = sum(ordered[k] == ordered[k + 1] for k in range(0, len(ordered), 2)) / (len(ordered) // 2)
    metrics = task.compute_metrics(rows, predictions)
    assert metrics["gender_parity"] == pytest.approx(expected)
    assert 0 < expected < 1
    constant = task.compute_metrics(rows, {task.uid(r): 0 for r in rows})
    assert constant["gender_parity"] == 1.0 and constant["accuracy"] == 0.5


def test_ax_is_scored_with_matthews_correlation_on_the_real_file(mirror):
    task = get_task("ax")
    rows = load_rows(task, mirror)
    gold = {task.uid(r): task.gold_of(r) for r in rows}
    assert task.compute_metrics(rows, gold) == {"matthews_correlation": 1.0}
    mcc = get_metric("matthews_correlation")
    assert mcc(predictions=[0] * len(rows), references=list(gold.values())) == 0.0


def test_mirror_files_match_the_md5_sums_in_its_manifest(mirror):
    """A local mirror that a test run once overwrote (six-row fixtures) fails here, naming the file."""
    import hashlib
    import re

    sums = re.findall(r"^([0-9a-f]{32})  (\S+)$", (mirror / "MANIFEST.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert len(sums) >= 14
    for digest, rel in sums:
        assert hashlib.md5((mirror / rel).read_bytes()).hexdigest() == digest, f"{rel} differs from MANIFEST.md"
