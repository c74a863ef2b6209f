"""Knowledge distillation of a tiny teacher into a 1-layer student: the KD loss falls, the submission names its
teacher and the KD settings, bad settings are refused."""

import pytest
import yaml
from conftest import save_tiny_bert
from training_helpers import refuses_flag, tiny_submission

from harness.cli import main
from harness.errors import UserError
from harness.submissions import check_submission
from harness.tasks import get_task
from harness.tasks.train_data import train_rows
from harness.training.distill import KDSettings, distill, kd_loss, layer_map, teacher_order
from harness.training.finetune import finetune
from harness.training.loop import TrainSettings

# As in test_finetune: the KD loss on the 32 rows trained on falls below half its start (at lr 1e-7 it stays put).
QUICK = TrainSettings(max_steps=32, batch_size=16, lr=1e-2, seed=0, limit=32, threads=1, progress=False)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, mirror):
    """A tiny teacher submission fine-tuned on SST-2 for a few steps."""
    root = tmp_path_factory.mktemp("teacher")
    base = save_tiny_bert(root / "teacher-encoder", head="cosine")
    return finetune(base, "sst2", root / "subs" / "tiny-teacher", QUICK, data_dir=mirror).output


def test_distill_lowers_the_kd_loss_and_names_the_teacher(tmp_path, mirror, teacher):
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    kd = KDSettings(temperature=2.0, alpha=0.7)
    fixed = train_rows(get_task("sst2"), mirror, limit=32)
    before = kd_loss(teacher, student, "sst2", fixed, kd, seed=QUICK.seed)
    out = tmp_path / "subs" / "tiny-student"
    result = distill(teacher, student, "sst2", out, QUICK, kd, data_dir=mirror)
    after = kd_loss(teacher, out / "model", "sst2", fixed, kd)
    assert after < before / 2, (before, after)
    assert result.steps == QUICK.max_steps
    assert check_submission(out) == []
    meta = yaml.safe_load((out / "submission.yaml").read_text(encoding="utf-8"))
    assert meta["teacher_model"] == "tiny-teacher"
    assert meta["methods"] == ["distillation"] and meta["base_model"] == "student"
    for words in ("temperature 2", "alpha 0.7", "logit KD", "seed 0", "32 steps"):
        assert words in meta["description"]
    assert "hidden-state" not in meta["description"]
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(out / "model"))
    assert config.num_hidden_layers == 1 and config.id2label == {0: "negative", 1: "positive"}


def test_hidden_state_kd_with_a_narrower_student_projects_and_lowers_the_loss(tmp_path, mirror, teacher):
    student = save_tiny_bert(
        tmp_path / "narrow", head="cosine", num_hidden_layers=1, hidden_size=16, intermediate_size=32
    )
    kd = KDSettings(temperature=1.0, alpha=0.5, hidden_kd=True)
    fixed = train_rows(get_task("sst2"), mirror, limit=32)
    before = kd_loss(teacher, student, "sst2", fixed, kd, seed=QUICK.seed)
    out = tmp_path / "narrow-student"
    result = distill(teacher, student, "sst2", out, QUICK, kd, data_dir=mirror)
    assert result.projection is not None  # trained with the student, not saved: the loss after is taken through it
    after = kd_loss(teacher, out / "model", "sst2", fixed, kd, projection=result.projection)
    assert after < before / 2, (before, after)
    assert not any("projection" in p.name for p in out.rglob("*"))
    description = yaml.safe_load((out / "submission.yaml").read_text(encoding="utf-8"))["description"]
    assert "hidden-state KD" in description and "projection 16 -> 32" in description
    assert "student layer 1 <- teacher layer 2" in description
    assert check_submission(out) == []


def test_regression_distillation_from_a_random_teacher_with_a_head(tmp_path, mirror):
    teacher = save_tiny_bert(tmp_path / "teacher", head="sequence_classification", num_labels=1)
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1, seed=1)
    # alpha 1: the teacher's outputs alone, whose loss can reach 0 (a mix with the gold has a floor where a random
    # teacher and the gold disagree)
    kd = KDSettings(temperature=1.0, alpha=1.0)
    fixed = train_rows(get_task("stsb"), mirror, limit=32)
    before = kd_loss(teacher, student, "stsb", fixed, kd, seed=0)
    out = tmp_path / "stsb-student"
    distill(teacher, student, "stsb", out, QUICK, kd, data_dir=mirror)
    assert kd_loss(teacher, out / "model", "stsb", fixed, kd) < before / 2
    meta = yaml.safe_load((out / "submission.yaml").read_text(encoding="utf-8"))
    assert meta["teacher_model"] == "teacher"  # the folder's name, not the path typed
    assert "MSE" in meta["description"]
    assert check_submission(out) == []


def test_teacher_outputs_are_put_in_the_task_s_label_order():
    task = get_task("sst2")
    assert teacher_order(task, {0: "negative", 1: "positive"}, 2) == [0, 1]
    assert teacher_order(task, {0: "positive", 1: "negative"}, 2) == [1, 0]  # column j: the output of label j
    assert teacher_order(get_task("stsb"), {0: "LABEL_0"}, 1) == [0]


def test_the_student_keeps_its_method_families_after_distillation(tmp_path, mirror, teacher):
    families = "[quantization, pruning, distillation]"
    extra = "base_model: org/encoder\n"
    sub = tiny_submission(
        tmp_path / "pruned-student",
        "  stsb: {model: model, head: cosine}\n",
        families,
        extra=extra,
        num_hidden_layers=1,
    )
    settings = TrainSettings(max_steps=2, batch_size=4, limit=8, threads=1, progress=False)
    distill(teacher, sub, "sst2", tmp_path / "out", settings, data_dir=mirror, teacher_name="the-teacher")
    meta = yaml.safe_load((tmp_path / "out" / "submission.yaml").read_text(encoding="utf-8"))
    assert meta["methods"] == ["distillation", "pruning", "quantization"]  # METHODS' order, once each
    assert meta["base_model"] == "org/encoder" and meta["teacher_model"] == "the-teacher"
    assert "from teacher the-teacher into student pruned-student" in meta["description"]


def test_force_never_replaces_the_teacher_or_student_and_they_differ(tmp_path, mirror, teacher):
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    stamp = (teacher / "submission.yaml").read_text(encoding="utf-8")
    for out in (teacher, student, teacher / "model", tmp_path):
        with pytest.raises(UserError, match="is, holds or is inside the input"):
            distill(teacher, student, "sst2", out, QUICK, data_dir=mirror, force=True)
    assert (teacher / "submission.yaml").read_text(encoding="utf-8") == stamp
    with pytest.raises(UserError, match="the student is the teacher's model folder"):
        distill(teacher, teacher / "model", "sst2", tmp_path / "out", QUICK, data_dir=mirror)


def test_the_teacher_stays_in_eval_mode_and_unchanged(tmp_path, mirror, teacher, monkeypatch):
    from harness.training import distill as kd_module

    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    seen = {"modes": []}
    real_load = kd_module.load_teacher

    def spy(*args, **kwargs):
        loaded = real_load(*args, **kwargs)
        seen["before"] = {k: v.clone() for k, v in loaded.module.state_dict().items()}
        seen["module"] = loaded.module
        real_forward = loaded.module.forward

        def forward(*a, **k):
            seen["modes"].append(loaded.module.training)
            return real_forward(*a, **k)

        loaded.module.forward = forward
        return loaded

    monkeypatch.setattr(kd_module, "load_teacher", spy)
    settings = TrainSettings(max_steps=4, batch_size=4, lr=1e-2, limit=8, threads=1, progress=False)
    distill(teacher, student, "sst2", tmp_path / "out", settings, KDSettings(hidden_kd=True), data_dir=mirror)
    assert seen["modes"] == [False] * 4
    after = seen["module"].state_dict()
    assert all(after[k].equal(v) for k, v in seen["before"].items())


def test_padding_is_left_out_of_the_hidden_state_mse(tmp_path, mirror, teacher, monkeypatch):
    from harness.training import distill as kd_module

    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    rows = train_rows(get_task("sst2"), mirror, limit=8)
    kd = KDSettings(hidden_kd=True)
    clean = kd_loss(teacher, student, "sst2", rows, kd, seed=0)
    real_load = kd_module.load_teacher

    def noisy(*args, **kwargs):  # the teacher's hidden states at padded positions made huge
        loaded = real_load(*args, **kwargs)
        real_forward = loaded.module.forward

        def forward(*a, **k):
            out = real_forward(*a, **k)
            pad = (k["attention_mask"] == 0).unsqueeze(-1)
            out.hidden_states = tuple(h.masked_fill(pad, 1e4) for h in out.hidden_states)
            return out

        loaded.module.forward = forward
        return loaded

    monkeypatch.setattr(kd_module, "load_teacher", noisy)
    assert kd_loss(teacher, student, "sst2", rows, kd, seed=0) == pytest.approx(clean)
    assert len({len(r["sentence"].split()) for r in rows}) > 1  # rows of other lengths: the batch is padded


def test_layer_map_rounds_half_up():
    assert layer_map(teacher_layers=12, student_layers=4) == [(1, 3), (2, 6), (3, 9), (4, 12)]
    assert layer_map(teacher_layers=6, student_layers=4) == [(1, 2), (2, 3), (3, 5), (4, 6)]  # 1.5 -> 2, 4.5 -> 5
    assert layer_map(teacher_layers=2, student_layers=1) == [(1, 2)]
    assert layer_map(teacher_layers=10, student_layers=4) == [(1, 3), (2, 5), (3, 8), (4, 10)]  # 2.5 -> 3, 7.5 -> 8
    assert layer_map(teacher_layers=12, student_layers=12) == [(i, i) for i in range(1, 13)]


def test_a_teacher_without_a_trained_head_is_refused(tmp_path, mirror):
    bare = save_tiny_bert(tmp_path / "bare", head="cosine")
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    with pytest.raises(UserError, match="trained sequence_classification head") as err:
        distill(bare, student, "sst2", tmp_path / "out", QUICK, KDSettings(), data_dir=mirror)
    assert str(bare) in str(err.value)
    wrong_labels = save_tiny_bert(tmp_path / "three", head="sequence_classification", num_labels=3)
    with pytest.raises(UserError, match="2 labels"):
        distill(wrong_labels, student, "sst2", tmp_path / "out", QUICK, KDSettings(), data_dir=mirror)
    assert not (tmp_path / "out").exists()


def test_a_teacher_submission_without_the_task_is_refused(tmp_path, mirror, teacher):
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    with pytest.raises(UserError, match="tiny-teacher.*rte") as err:
        distill(teacher, student, "rte", tmp_path / "out", QUICK, KDSettings(), data_dir=mirror)
    assert "sst2" in str(err.value)


@pytest.mark.parametrize(
    ("kd", "named"),
    [
        (KDSettings(alpha=1.5), "alpha"),
        (KDSettings(alpha=-0.1), "alpha"),
        (KDSettings(temperature=0), "temperature"),
        (KDSettings(temperature=-2), "temperature"),
    ],
)
def test_kd_settings_refuse_bad_values(kd, named):
    with pytest.raises(UserError, match=named):
        kd.check()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--alpha", "1.5"], "--alpha"),
        (["--alpha", "-0.5"], "--alpha"),
        (["--temperature", "0"], "--temperature"),
        (["--temperature", "-1"], "--temperature"),
        (["--max-steps", "0"], "--max-steps"),
    ],
)
def test_cli_distill_refuses_bad_flag_values(tmp_path, capsys, flags, named):
    argv = ["distill", str(tmp_path / "t"), str(tmp_path / "s"), "--task", "sst2", "-o", str(tmp_path / "o"), *flags]
    refuses_flag(argv, named, capsys)


def test_cli_distill_writes_a_student_and_refuses_an_existing_folder(tmp_path, mirror, teacher, capsys):
    student = save_tiny_bert(tmp_path / "student", head="cosine", num_hidden_layers=1)
    out = tmp_path / "subs" / "cli-student"
    argv = ["distill", str(teacher), str(student), "--task", "sst2", "-o", str(out), "--max-steps", "2"]
    argv += ["--batch-size", "4", "--limit", "8", "--data-dir", str(mirror), "--hidden-kd", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr()
    assert check_submission(out) == []
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--force" in err
