"""Official GLUE and SuperGLUE aggregates against published leaderboard scores."""

import pytest

from harness.errors import UserError
from harness.scoring.aggregate import benchmark_score

# BERT-base on the GLUE test server (Devlin et al. 2019, Table 1): published GLUE score 78.3.
BERT_BASE_GLUE = {
    "cola": {"matthews_correlation": 0.521},
    "sst2": {"accuracy": 0.935},
    "mrpc": {"f1": 0.889, "accuracy": 0.848},
    "stsb": {"pearson": 0.871, "spearmanr": 0.858},
    "qqp": {"f1": 0.712, "accuracy": 0.892},
    "mnli_matched": {"accuracy": 0.846},
    "mnli_mismatched": {"accuracy": 0.834},
    "qnli": {"accuracy": 0.905},
    "rte": {"accuracy": 0.664},
    "wnli": {"accuracy": 0.651},
}
# BERT-large on the SuperGLUE test server (Wang et al. 2019, Table 3): published score 69.0.
BERT_LARGE_SUPERGLUE = {
    "boolq": {"accuracy": 0.774},
    "cb": {"f1": 0.757, "accuracy": 0.836},
    "copa": {"accuracy": 0.706},
    "multirc": {"f1_a": 0.700, "exact_match": 0.241},
    "record": {"f1": 0.720, "exact_match": 0.713},
    "superglue/rte": {"accuracy": 0.717},
    "wic": {"accuracy": 0.696},
    "wsc": {"accuracy": 0.644},
}


def test_glue_bert_base_is_78_3():
    result = benchmark_score("glue", BERT_BASE_GLUE)
    assert not result.partial and result.missing == ()
    assert round(result.score, 1) == 78.3
    # MRPC scores the mean of F1 and accuracy; MNLI the mean of matched and mismatched
    assert result.components["mrpc"] == pytest.approx(86.85)
    assert result.components["mnli"] == pytest.approx(84.0)


def test_superglue_bert_large_is_69_0():
    result = benchmark_score("superglue", BERT_LARGE_SUPERGLUE)
    assert not result.partial
    assert round(result.score, 1) == 69.0
    assert result.components["multirc"] == pytest.approx(47.05)


def test_partial_aggregate_has_no_score_and_reads_k_of_n_tasks():
    metrics = {k: v for k, v in BERT_BASE_GLUE.items() if k not in ("qqp", "mnli_mismatched")}
    result = benchmark_score("glue", metrics)
    assert result.partial and result.missing == ("qqp", "mnli")
    assert result.score is None and (result.scored, result.of) == (7, 9)  # a mean over 7 tasks is no GLUE score
    assert result.label() == "glue: 7 of 9 tasks (missing qqp, mnli): no score until every task is scored"
    assert len(result.components) == 7


def test_cli_aggregate_of_a_partial_set_prints_k_of_n_tasks_not_a_number(tmp_path, capsys):
    import json

    from harness.cli import main

    path = tmp_path / "m.json"
    path.write_text(json.dumps({"sst2": {"accuracy": 0.9}}))
    assert main(["aggregate", "glue", "--metrics", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("glue: 1 of 9 tasks (missing cola,") and "90" not in first
    assert main(["aggregate", "glue", "--metrics", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["score"] is None and out["partial"] is True and (out["scored"], out["of"]) == (1, 9)


def test_diagnostic_is_reported_apart_not_averaged():
    with_ax = dict(BERT_BASE_GLUE, ax={"matthews_correlation": 0.1})
    result = benchmark_score("glue", with_ax)
    assert round(result.score, 1) == 78.3
    assert result.diagnostics == {"ax": {"matthews_correlation": pytest.approx(10.0)}}


def test_task_of_another_benchmark_is_refused():
    with pytest.raises(UserError, match="boolq"):
        benchmark_score("glue", {"boolq": {"accuracy": 0.5}})


def test_cli_aggregate_from_metrics_file(tmp_path, capsys):
    import json

    from harness.cli import main

    path = tmp_path / "m.json"
    path.write_text(json.dumps(BERT_BASE_GLUE))
    assert main(["aggregate", "glue", "--metrics", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert round(out["score"], 1) == 78.3 and out["partial"] is False


@pytest.mark.parametrize(
    "metrics,message",
    [
        ({"sst2": {"accuracy": True}}, "sst2.accuracy is True, expected a finite number"),
        ({"rte": {"accuracy": 71.0}}, r"rte.accuracy is 71.0, outside \[-1, 1\].*divide a percentage by 100"),
        ({"cola": {"mcc": 0.5}}, "cola.mcc: not a metric of task cola"),
        ({"cola": {"matthews_correlation": "0.4"}}, "cola.matthews_correlation is '0.4'"),
        ({"mrpc": {"accuracy": 0.8}}, "has no 'f1', which the score of task mrpc averages"),
    ],
)
def test_cli_aggregate_refuses_metrics_that_are_not_the_tasks_fractions(tmp_path, capsys, metrics, message):
    import json
    import re

    from harness.cli import main

    path = tmp_path / "m.json"
    path.write_text(json.dumps(metrics))
    assert main(["aggregate", "glue", "--metrics", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and re.search(message, err)


def test_cli_aggregate_refuses_a_missing_or_empty_records_folder(tmp_path, capsys):
    from harness.cli import main

    assert main(["aggregate", "glue", "--records", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["aggregate", "glue", "--records", str(tmp_path)]) == 2
    assert "no result records" in capsys.readouterr().err
