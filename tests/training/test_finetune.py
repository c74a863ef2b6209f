"""Fine-tuning a tiny encoder on real train rows: the loss falls, the submission is valid, runs repeat exactly."""

import json

import pytest
import yaml
from conftest import save_tiny_bert
from training_helpers import refuses_flag, tiny_submission

from harness.cli import main
from harness.submissions import check_submission
from harness.tasks import get_task
from harness.tasks.train_data import train_rows
from harness.training.finetune import finetune, task_loss
from harness.training.loop import TrainSettings

# 32 steps at a high rate over 32 rows take a tiny random model's loss on them below half its start (at lr 1e-7 it
# stays within 0.1% of it): a loss that merely wobbles down fails the tests.
QUICK = TrainSettings(max_steps=32, batch_size=16, lr=1e-2, seed=0, limit=32, threads=1, progress=False)


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("task", ["sst2", "stsb"])
def test_finetune_lowers_the_loss_and_writes_a_valid_submission(tmp_path, mirror, task):
    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    fixed = train_rows(get_task(task), mirror, limit=32)
    before = task_loss(base, task, fixed, seed=QUICK.seed)
    out = tmp_path / "subs" / f"tiny-{task}"
    result = finetune(base, task, out, QUICK, data_dir=mirror)
    after = task_loss(out / "model", task, fixed)
    assert after < before / 2, (before, after)
    assert result.steps == QUICK.max_steps and result.final_loss > 0
    assert check_submission(out) == []

    import transformers

    config = transformers.AutoConfig.from_pretrained(str(out / "model"))
    t = get_task(task)
    if t.labels:
        assert [config.id2label[i] for i in range(len(t.labels))] == list(t.labels)
    else:
        assert config.num_labels == 1
    assert config.architectures == ["BertForSequenceClassification"]
    assert sorted(p.name for p in (out / "model").iterdir() if p.suffix in (".bin", ".pt", ".pth")) == []

    meta = yaml.safe_load((out / "submission.yaml").read_text(encoding="utf-8"))
    assert meta["methods"] == ["other"] and meta["base_model"] == "encoder"  # the folder's name, not its path
    assert meta["tasks"] == {task: {"model": "model", "head": "sequence_classification"}}
    assert "teacher_model" not in meta
    for words in ("seed 0", "32 steps", "lr 0.01", "batch 16", "final train loss"):
        assert words in meta["description"]
    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["step"] for e in log] == list(range(1, QUICK.max_steps + 1))
    assert set(log[0]) == {"step", "loss", "lr", "elapsed"}
    assert log[-1]["loss"] == pytest.approx(result.final_loss)
    assert not (out / "model" / "training_log.jsonl").exists()  # the model folder's bytes are its size


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, mirror):
    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        settings = TrainSettings(max_steps=4, batch_size=8, lr=1e-3, seed=seed, limit=32, threads=1, progress=False)
        finetune(base, "rte", tmp_path / name, settings, data_dir=mirror)
        runs[name] = _weights(tmp_path / name / "model")
    assert runs["a"].keys() == runs["b"].keys()
    assert all(runs["a"][k].equal(runs["b"][k]) for k in runs["a"])
    assert not all(runs["a"][k].equal(runs["c"][k]) for k in runs["a"])


def test_a_classifier_base_keeps_training_from_its_head(tmp_path, mirror, monkeypatch):
    from harness.training import loop
    from harness.training.models import KEPT_HEAD

    base = save_tiny_bert(tmp_path / "classifier", head="sequence_classification", num_labels=2)
    saved = {k: v for k, v in _weights(base).items() if k.startswith("classifier.")}
    first_step = {}
    real_train = loop.train

    def spy(named, *args, **kwargs):
        first_step.update({n: p.detach().clone() for n, p in named if n.startswith("classifier.")})
        return real_train(named, *args, **kwargs)

    monkeypatch.setattr(loop, "train", spy)
    fixed = train_rows(get_task("sst2"), mirror, limit=32)
    before = task_loss(base, "sst2", fixed)
    finetune(base, "sst2", tmp_path / "out", QUICK, data_dir=mirror)
    assert saved.keys() == first_step.keys() == {"classifier.weight", "classifier.bias"}
    assert all(first_step[k].equal(saved[k]) for k in saved)  # training starts from the saved head
    meta = yaml.safe_load((tmp_path / "out" / "submission.yaml").read_text(encoding="utf-8"))
    assert f"from classifier, {KEPT_HEAD}:" in meta["description"]
    assert task_loss(tmp_path / "out" / "model", "sst2", fixed) < before / 2
    assert check_submission(tmp_path / "out") == []


def test_the_head_kept_is_decided_from_the_weights_not_only_the_config(tmp_path):
    import json

    from harness.training.models import KEPT_HEAD, load_task_model

    task = get_task("sst2")
    # a classifier's weights under a config that names the bare encoder: a new head, and its weights are new
    hidden = save_tiny_bert(tmp_path / "hidden", head="sequence_classification", num_labels=2)
    config = json.loads((hidden / "config.json").read_text(encoding="utf-8"))
    (hidden / "config.json").write_text(json.dumps(config | {"architectures": ["BertModel"]}), encoding="utf-8")
    saved = _weights(hidden)["classifier.weight"]
    model = load_task_model(hidden, task)
    assert model.head_note != KEPT_HEAD and not model.module.classifier.weight.detach().equal(saved)
    # a config that names a classifier over weights without one: no trained head to keep
    bare = save_tiny_bert(tmp_path / "bare", head="cosine")
    config = json.loads((bare / "config.json").read_text(encoding="utf-8"))
    (bare / "config.json").write_text(
        json.dumps(config | {"architectures": ["BertForSequenceClassification"], "num_labels": 2}), encoding="utf-8"
    )
    assert load_task_model(bare, task).head_note != KEPT_HEAD


def test_the_rate_warms_up_then_falls_linearly_to_zero(tmp_path, mirror):
    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    settings = TrainSettings(max_steps=8, batch_size=4, lr=1e-3, warmup=0.25, limit=8, threads=1, progress=False)
    finetune(base, "rte", tmp_path / "out", settings, data_dir=mirror)
    log = [json.loads(line) for line in (tmp_path / "out" / "training_log.jsonl").read_text().splitlines()]
    # 2 warmup steps: 0, lr/2, then lr falling by lr/6 a step to lr/6 at the last step (0 after it)
    expected = [0, 0.5e-3] + [1e-3 * (8 - k) / 6 for k in range(2, 8)]
    assert [e["lr"] for e in log] == pytest.approx(expected)


def test_the_default_warmup_is_bert_s_and_a_warmup_that_rounds_to_no_step_is_refused():
    from harness.errors import UserError
    from harness.training.loop import DEFAULT_WARMUP

    assert DEFAULT_WARMUP == 0.1 and TrainSettings().warmup_steps(100) == 10
    assert TrainSettings().warmup_steps(4) == 0  # the default on a short run: none, not an error
    with pytest.raises(UserError, match="rounds to 0 warmup steps"):
        TrainSettings(warmup=0.1).warmup_steps(4)
    assert TrainSettings(warmup=0).warmup_steps(4) == 0


def test_base_inside_a_submission_keeps_its_method_family(tmp_path, mirror):
    sub = tiny_submission(tmp_path / "pruned", "  stsb: {model: model, head: cosine}\n")
    finetune(sub, "stsb", tmp_path / "out", QUICK, data_dir=mirror)
    meta = yaml.safe_load((tmp_path / "out" / "submission.yaml").read_text(encoding="utf-8"))
    assert meta["methods"] == ["pruning"] and meta["base_model"] == "pruned"


def test_base_model_is_the_holders_then_a_hub_id_then_the_folder_name(tmp_path, mirror):
    import json

    from harness.tasks import get_task as task_of
    from harness.training.models import model_source

    task = task_of("stsb")
    sub = tiny_submission(
        tmp_path / "pruned", "  stsb: {model: model, head: cosine}\n", extra="base_model: org/encoder-v1\n"
    )
    assert model_source(sub, task, "base").base_model == "org/encoder-v1"
    assert model_source(sub / "model", task, "base").base_model == "org/encoder-v1"
    hub = save_tiny_bert(tmp_path / "hub", head="cosine")
    config = json.loads((hub / "config.json").read_text(encoding="utf-8"))
    (hub / "config.json").write_text(json.dumps(config | {"_name_or_path": "org/tiny-bert"}), encoding="utf-8")
    assert model_source(hub, task, "base").base_model == "org/tiny-bert"
    (hub / "config.json").write_text(json.dumps(config | {"_name_or_path": str(tmp_path / "x")}), encoding="utf-8")
    assert model_source(hub, task, "base").base_model == "hub"  # a path is not recorded


def test_force_never_replaces_or_nests_in_what_training_reads(tmp_path, mirror):
    from harness.errors import UserError

    sub = tiny_submission(
        tmp_path / "multi", "  rte: {model: rte-model}\n", model="rte-model", head="sequence_classification"
    )
    stamp = (sub / "submission.yaml").read_text(encoding="utf-8")
    for out in (sub, sub / "rte-model", sub / "inner", tmp_path):
        with pytest.raises(UserError, match="is, holds or is inside the input"):
            finetune(sub, "rte", out, QUICK, data_dir=mirror, force=True)
    assert (sub / "submission.yaml").read_text(encoding="utf-8") == stamp and not (sub / "inner").exists()


def test_a_symlink_output_is_refused(tmp_path, mirror):
    from harness.errors import UserError

    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    finetune(base, "rte", tmp_path / "real", QUICK, data_dir=mirror)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UserError, match="symlink"):
        finetune(base, "rte", tmp_path / "link", QUICK, data_dir=mirror, force=True)


def test_a_failed_write_keeps_the_trained_model_and_the_old_folder(tmp_path, mirror, monkeypatch):
    import harness.submissions
    from harness.errors import UserError
    from harness.yamlcheck import Problem

    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    out = tmp_path / "subs" / "run"
    finetune(base, "rte", out, QUICK, data_dir=mirror)
    stamp = (out / "submission.yaml").read_text(encoding="utf-8")
    monkeypatch.setattr(harness.submissions, "check_submission", lambda p: [Problem(str(p), "x", "broken", "")])
    settings = TrainSettings(max_steps=2, batch_size=4, seed=5, limit=8, threads=1, progress=False)
    with pytest.raises(UserError, match="1 problem") as err:
        finetune(base, "rte", out, settings, data_dir=mirror, force=True)
    kept = [p for p in out.parent.iterdir() if p.name != "run"]
    assert len(kept) == 1 and str(kept[0] / "run") in str(err.value) and err.value.fix
    assert (kept[0] / "run" / "model" / "model.safetensors").is_file() and "seed 5" in (
        kept[0] / "run" / "submission.yaml"
    ).read_text(encoding="utf-8")
    assert (out / "submission.yaml").read_text(encoding="utf-8") == stamp  # the old submission is intact


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    from pathlib import Path

    from harness.errors import UserError
    from harness.submissions.writing import write_folder

    out = tmp_path / "sub"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real_rename = Path.rename

    def rename(self, target):
        if Path(target) == out and self.parent.name.startswith(".sub.partial"):  # the new folder's move only
            raise OSError("disk gone")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(UserError, match="disk gone"):
        write_folder(out, lambda tmp: (tmp / "new.txt").write_text("new"))
    monkeypatch.undo()
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sub.partial-" + str(__import__("os").getpid()), "sub"]


def test_cli_finetune_writes_a_submission_and_refuses_an_existing_folder(tmp_path, mirror, capsys):
    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    out = tmp_path / "subs" / "cli-run"
    argv = ["finetune", str(base), "--task", "wnli", "-o", str(out), "--max-steps", "2", "--batch-size", "4"]
    argv += ["--limit", "8", "--data-dir", str(mirror), "--threads", "1", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr()
    assert check_submission(out) == []
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--force" in err
    stamp = (out / "submission.yaml").read_text(encoding="utf-8")
    assert main(argv + ["--force", "--seed", "3"]) == 0
    assert (out / "submission.yaml").read_text(encoding="utf-8") != stamp and "seed 3" in (
        out / "submission.yaml"
    ).read_text(encoding="utf-8")
    assert sorted(p.name for p in out.parent.iterdir()) == ["cli-run"]  # no temporary folder left behind


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--max-steps", "0"], "--max-steps"),
        (["--max-steps", "-3"], "--max-steps"),
        (["--epochs", "0"], "--epochs"),
        (["--lr", "0"], "--lr"),
        (["--lr", "x"], "--lr"),
        (["--warmup", "1.5"], "--warmup"),
        (["--batch-size", "0"], "--batch-size"),
        (["--max-length", "-1"], "--max-length"),
        (["--seed", str(2**32)], "--seed"),
    ],
)
def test_cli_bad_flag_values_are_refused_naming_the_flag(tmp_path, mirror, capsys, flags, named):
    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    refuses_flag(["finetune", str(base), "--task", "rte", "-o", str(tmp_path / "out"), *flags], named, capsys)
    assert not (tmp_path / "out").exists()


def test_settings_refuse_bad_values():
    from harness.errors import UserError

    for bad, named in (
        (dict(max_steps=0), "max_steps"),
        (dict(epochs=-1), "epochs"),
        (dict(warmup=1.0), "warmup"),
        (dict(clip=0), "clip"),
        (dict(seed=2**32), "seed"),
        (dict(seed=-1), "seed"),
    ):
        with pytest.raises(UserError, match=named):
            TrainSettings(**bad).check()


def test_finetune_refuses_tasks_it_cannot_train(tmp_path, mirror):
    from harness.errors import UserError

    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    with pytest.raises(UserError, match="qnli.*train.tsv"):
        finetune(base, "qnli", tmp_path / "out", QUICK, data_dir=mirror)
    with pytest.raises(UserError, match="classification or regression"):
        finetune(base, "squad", tmp_path / "out2", QUICK, data_dir=mirror)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


def test_a_bad_output_name_is_refused_before_training(tmp_path, mirror):
    from harness.errors import UserError

    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    with pytest.raises(UserError, match="submission id"):
        finetune(base, "rte", tmp_path / "bad name!", QUICK, data_dir=mirror)


def test_a_length_beyond_the_position_embeddings_is_refused(tmp_path, mirror):
    from harness.errors import UserError

    base = save_tiny_bert(tmp_path / "encoder", head="cosine")
    limit = json.loads((base / "config.json").read_text(encoding="utf-8"))["max_position_embeddings"]
    settings = TrainSettings(max_steps=2, max_length=limit + 1, limit=8, threads=1, progress=False)
    with pytest.raises(UserError, match=f"{limit} position embeddings"):
        finetune(base, "rte", tmp_path / "out", settings, data_dir=mirror)
    assert not (tmp_path / "out").exists()


def test_train_inputs_are_the_evaluation_inputs(tmp_path, mirror, monkeypatch):
    from harness.backends.torch_hf import TorchModel
    from harness.evaluation.evaluate import ModelRef, evaluate
    from harness.inference.formulations import EvalSettings
    from harness.tasks.data import load_rows
    from harness.training.models import batch_tensors, encode_rows, load_task_model

    folder = save_tiny_bert(tmp_path / "classifier")
    task = get_task("rte")
    batches = []
    real_forward = TorchModel.forward

    def spy(self, batch):
        batches.append({k: v.copy() for k, v in batch.items()})
        return real_forward(self, batch)

    monkeypatch.setattr(TorchModel, "forward", spy)
    ref = ModelRef("tiny", folder, head="sequence_classification")
    settings = EvalSettings(max_length=40, batch_size=4)
    evaluate(ref, "rte", settings, data_dir=mirror, results_dir=tmp_path / "r", limit=12, energy={"off": True})
    assert len(batches) == 3
    model = load_task_model(folder, task)
    features = encode_rows(model.module, model.tokenizer, folder, task, load_rows(task, mirror, 12), 40)
    unused = list(range(len(features)))
    for batch in batches:  # the same rows, however evaluation ordered them, padded alike
        idx = []
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"]):
            real = ids[mask == 1].tolist()
            idx.append(next(i for i in unused if features[i]["input_ids"] == real))
            unused.remove(idx[-1])
        fed = batch_tensors(features, idx, model.tokenizer)
        assert fed.keys() == batch.keys()
        assert all(fed[k].numpy().tolist() == batch[k].tolist() for k in batch)
    assert not unused
    assert any(f["token_type_ids"][-1] == 1 for f in features)  # a pair, tokenized together
    assert max(len(f["input_ids"]) for f in features) == 40  # truncated to the length asked
