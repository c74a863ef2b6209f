"""Where a model runs and in which precision: the `--device` and `--dtype` of evaluate, measure and run (issue 14).

Light on purpose (the CLI parses its flags with it): torch is imported only to ask whether a GPU is there.
"""

from __future__ import annotations

import re

from harness.errors import UserError, did_you_mean

CPU = "cpu"
CUDA = "cuda"
DEFAULT_DEVICE = CPU
DEVICE_FORMS = "cpu, cuda, cuda:N (N: a GPU's index, from 0)"
_DEVICE = re.compile(r"(cpu|cuda)(?::(\d+))?")
DTYPES = ("float32", "float16", "bfloat16")  # what --dtype casts a model's floating parameters to
# no --dtype: the model runs in the types it was saved in (transformers' own loading; an ONNX graph's types), as
# every record made before the flag did
AS_SAVED = "auto"
DEFAULT_DTYPE = AS_SAVED
# the hardware class of a device's records: a track ranks one class (harness.scoring.eligibility)
CPU_HARDWARE, GPU_HARDWARE = "cpu", "gpu"
NO_GPU_FIX = "run on a machine with a GPU (and a CUDA build of torch), or pass --device cpu"


def parse_device(text: str) -> str:
    """The device `text` names: cpu, or cuda:N (a bare cuda is cuda:0, torch's default GPU, and cuda:01 is cuda:1, so
    that each device has one spelling and one record key); anything else (cuda:x, tpu) is refused with the forms."""
    match = _DEVICE.fullmatch(text)
    if match is None or (match.group(1) == CPU and match.group(2) is not None):
        raise UserError(f"--device {text!r} is no device", fix=f"use one of: {DEVICE_FORMS}")
    if match.group(1) == CPU:
        return CPU
    return f"{CUDA}:{int(match.group(2) or 0)}"


def parse_dtype(text: str) -> str:
    """`text` when it is one of DTYPES or AS_SAVED (what no --dtype means); a misspelling is refused with them."""
    known = (*DTYPES, AS_SAVED)
    if text not in known:
        hint = did_you_mean(text, known)
        raise UserError(
            f"--dtype {text!r} is no dtype",
            fix=f"{hint + ' ' if hint else ''}use one of: {', '.join(known)} ({AS_SAVED}: as the model was saved)",
        )
    return text


def is_cuda(device: str) -> bool:
    """Whether `device` names a GPU (cuda or cuda:N)."""
    return device.partition(":")[0] == CUDA


def cuda_index(device: str) -> int:
    """The GPU index of a cuda device (0 for a bare `cuda`)."""
    index = device.partition(":")[2]
    return int(index) if index else 0


def device_hardware(device: str) -> str:
    """The hardware class of the records a run on `device` writes: gpu for cuda, cpu otherwise."""
    return GPU_HARDWARE if is_cuda(device) else CPU_HARDWARE


def require_device(device: str) -> None:
    """Refuse a cuda device that torch cannot use here (no GPU, or an index past the GPUs), naming the flag and
    the fix; the CPU needs nothing."""
    if not is_cuda(parse_device(device)):
        return
    import torch

    if not torch.cuda.is_available():
        raise UserError(
            f"--device {device}: this machine has no GPU that torch can use (torch.cuda.is_available() is False)",
            fix=NO_GPU_FIX,
        )
    count = torch.cuda.device_count()
    if cuda_index(device) >= count:
        raise UserError(
            f"--device {device}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}",
            fix=f"pass --device cuda:N with N below {count}",
        )
