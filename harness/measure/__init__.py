"""Efficiency measurements of a model: params, size, FLOPs, latency, memory, energy, environment.

Importing this package is light: torch is imported inside the functions that need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.registry import Registry

MEASUREMENTS: Registry[Callable[..., Any]] = Registry("measurement")
MEASUREMENTS.add("params", "harness.measure.params:count_params")
MEASUREMENTS.add("size", "harness.measure.size:measure_size")
MEASUREMENTS.add("flops", "harness.measure.flops:measure_flops")
MEASUREMENTS.add("latency", "harness.measure.latency:measure_latency")
MEASUREMENTS.add("memory", "harness.measure.memory:measure_memory")
MEASUREMENTS.add("energy", "harness.measure.energy:measure_energy")
MEASUREMENTS.add("environment", "harness.measure.environment:fingerprint")

# Names a track's `measurement.measure` or --skip-measure may list; each is also the key under
# record["measurements"]: the measurements above (the environment is always recorded) plus the size of the whole
# submission folder, taken once per submission by a track run.
SUBMISSION_MEASUREMENTS = ("system_size",)
RECORDED_MEASUREMENTS = tuple(n for n in MEASUREMENTS if n != "environment") + SUBMISSION_MEASUREMENTS

# Taken with every `harness evaluate` unless told otherwise: static, and cheap (under 2 s for a 6-layer model).
DEFAULT_MEASUREMENTS = ("params", "size", "flops")
THROUGHPUT_BATCH_SIZE = 8


def load_measurement(name: str) -> Callable[..., Any]:
    """The function registered under `name` in MEASUREMENTS, imported on first use."""
    return MEASUREMENTS.get(name)


@contextmanager
def eval_mode(*models: Any) -> Iterator[None]:
    """The models in eval mode for the block (no dropout), each put back in its own training mode afterwards."""
    modes = [getattr(m, "training", False) for m in models]
    for m in models:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(models, modes):
            m.train(training)


def model_device(model: Any) -> Any:
    """The device of the model's first parameter or buffer (CPU when it has none)."""
    import torch

    for tensor in list(model.parameters())[:1] + list(model.buffers())[:1]:
        return tensor.device
    return torch.device("cpu")


def synthetic_inputs(
    model: Any, batch_size: int, seq_len: int, *, attention_mask: bool = True, seed: int = 0, head: str | None = None
) -> dict[str, Any]:
    """Random token ids (fixed seed) of shape [batch_size, seq_len] for a Hugging Face-style model, shaped as the
    module of `head` takes them (harness.backends.torch_hf.module_inputs)."""
    import torch

    from harness.backends.torch_hf import module_inputs

    vocab = getattr(getattr(model, "config", None), "vocab_size", None) or 1000
    device = model_device(model)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(min(5, vocab - 1), vocab, (batch_size, seq_len), generator=gen)
    inputs = {"input_ids": ids.to(device)}
    if attention_mask and device.type != "meta":  # masks trigger data-dependent checks that meta cannot run
        inputs["attention_mask"] = torch.ones(batch_size, seq_len, dtype=torch.long, device=device)
    return module_inputs(head, inputs)


def length_batches(
    model: Any, token_lengths: list[int], batch_size: int, head: str | None = None
) -> list[dict[str, Any]]:
    """Batches of synthetic inputs with the given real lengths, in order, each padded to its longest row."""
    from harness.backends.torch_hf import module_inputs

    batches = []
    for start in range(0, len(token_lengths), batch_size):
        lengths = token_lengths[start : start + batch_size]
        batch = synthetic_inputs(model, len(lengths), max(lengths), seed=start)
        for row, n in enumerate(lengths):
            batch["attention_mask"][row, n:] = 0
        batches.append(module_inputs(head, batch))
    return batches


def call_model(model: Any, inputs: Any) -> Any:
    """Call `model` with a dict (keyword arguments), a tuple/list (positional) or a single tensor."""
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def count_rows(inputs: Any) -> int:
    """Rows in a batch: the first dimension of its first tensor (dict value, tuple item or the tensor itself)."""
    first = (
        next(iter(inputs.values()))
        if isinstance(inputs, dict)
        else (inputs[0] if isinstance(inputs, (tuple, list)) else inputs)
    )
    return int(first.shape[0])


def module_head(model: Any) -> str | None:
    """The head a torch module's class stands for (BertForMultipleChoice -> multiple_choice), else None."""
    from harness.backends.heads import class_head

    return class_head(type(model).__name__)


def measure_model(
    model: Any,
    *,
    folder: str | None = None,
    head: str | None = None,
    reference_length: int = 128,
    token_lengths: list[int] | None = None,
    threads: int = 1,
    which: list[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the named measurements (all by default; size needs `folder`) and return one JSON-able dict.

    `head` (harness.backends.base.HEADS; default: read from the module's class) says how the module takes its
    inputs and whether FLOPs apply. `options` adds keyword arguments per measurement, e.g.
    `{"latency": {"budget_s": 5}}`.
    """
    from harness.measure.flops import GENERATION_NOT_COUNTED, Flops

    names = list(which) if which is not None else [n for n in MEASUREMENTS if n != "size" or folder]
    for name in names:
        load_measurement(name)  # fail on a bad name before any long measurement starts
    if "size" in names and folder is None:
        raise UserError("measurement 'size' needs folder=<model folder>; pass the folder the model was loaded from")
    head = head or module_head(model)
    needs_inputs = {"latency", "memory", "energy"} & set(names)  # built only for measurements that run the model
    single = synthetic_inputs(model, 1, reference_length, head=head) if needs_inputs else None
    batches = (
        []
        if not needs_inputs
        else length_batches(model, token_lengths, THROUGHPUT_BATCH_SIZE, head)
        if token_lengths
        else [synthetic_inputs(model, THROUGHPUT_BATCH_SIZE, reference_length, head=head)]
    )
    opts = options or {}
    flops_opts = {
        "make_inputs": lambda batch, length: synthetic_inputs(model, batch, length, attention_mask=False, head=head),
        **opts.get("flops", {}),
    }

    def flops(fn: Callable[..., Any]) -> Any:
        if head == "seq2seq":
            return Flops.not_counted(GENERATION_NOT_COUNTED, reference_length)
        return fn(model, reference_length=reference_length, token_lengths=token_lengths, **flops_opts)

    calls: dict[str, Callable[[Callable[..., Any]], Any]] = {
        "params": lambda fn: fn(model, **opts.get("params", {})),
        "size": lambda fn: fn(folder, **opts.get("size", {})),
        "flops": flops,
        "latency": lambda fn: fn(model, single, batch_inputs=batches, threads=threads, **opts.get("latency", {})),
        "memory": lambda fn: fn(model, batches[0], **opts.get("memory", {})),
        "energy": lambda fn: fn(model, batches, threads=threads, **opts.get("energy", {})),
        "environment": lambda fn: fn(threads=threads, **opts.get("environment", {})),
    }
    return {name: calls[name](load_measurement(name)).to_dict() for name in names}


def measure_loaded(
    model: Any,
    names: Sequence[str],
    *,
    folder: str | Path | None = None,
    token_lengths: list[int] | None = None,
    examples: int | None = None,
    reference_length: int = 128,
    threads: int = 1,
    options: dict[str, dict[str, Any]] | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure a model loaded by harness.backends.load_model as its head runs it: the one path of `harness measure`
    and `harness evaluate`.

    `token_lengths` are the real lengths of the sequences the task runs, `examples` how many examples they came
    from (FLOPs per example = mean FLOPs per sequence x sequences / examples). A measurement that fails says why
    ({"measured": False, "reason": ...}) instead of failing the caller. `report` gets a line as each one starts
    and ends (e.g. print to stderr).
    """
    names = list(names)
    for name in names:
        load_measurement(name)
    if "size" in names and folder is None:
        raise UserError("measurement 'size' needs folder=<model folder>; pass the folder the model was loaded from")
    say = report or (lambda line: None)
    module = getattr(model, "module", None)
    out: dict[str, Any] = {}
    for i, name in enumerate(names, 1):
        say(f"measuring {name} ({i}/{len(names)})")
        started = time.perf_counter()
        try:
            if module is None:
                raise UserError(f"backend {type(model).__name__} exposes no torch module to measure")
            result = measure_model(
                module,
                folder=None if folder is None else str(folder),
                head=model.head,
                reference_length=reference_length,
                token_lengths=token_lengths,
                threads=threads,
                which=[name],
                options=options,
            )[name]
        except Exception as e:  # noqa: BLE001 - a measurement's failure must not lose the task's predictions and metrics
            out[name] = {"measured": False, "reason": f"{type(e).__name__}: {e}"}
            say(f"{name} not measured: {out[name]['reason']}")
            continue
        if name == "flops" and examples and token_lengths and result.get("mean_flops") is not None:
            # mean_flops is per sequence; an example may run several (pairs under a cosine head, choices, windows)
            result.update(
                sequences=len(token_lengths),
                examples=examples,
                flops_per_example=result["mean_flops"] * len(token_lengths) / examples,
            )
        out[name] = result
        say(f"measured {name} in {time.perf_counter() - started:.1f} s")
    return out


def parse_skip(text: str, flag: str = "--skip-measure") -> tuple[str, ...]:
    """`latency, size` -> ("latency", "size"): the measurements a command leaves out, one name list for every
    command (RECORDED_MEASUREMENTS); an unknown name is refused with the known ones."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in RECORDED_MEASUREMENTS]
    if unknown:
        raise UserError(f"{flag}: unknown measurement {', '.join(unknown)}; known: {', '.join(RECORDED_MEASUREMENTS)}")
    return names
