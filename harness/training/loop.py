"""The one training loop fine-tuning and distillation share: seeded data order, AdamW with a linear schedule,
gradient clipping, a progress line and a log of every step.

The loop knows no model: the caller gives the parameters to train and a function from a batch's row indices to
its loss, so fine-tuning and distillation differ only in that function.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UserError

# Devlin et al. 2019 (BERT), section A.3: 2-4 epochs at 2e-5..5e-5 for GLUE fine-tuning, weight decay 0.01,
# gradients clipped to norm 1.0 (the reference implementation's optimization.py).
DEFAULT_EPOCHS = 3
DEFAULT_LR = 2e-5
DEFAULT_BATCH_SIZE = 32
WEIGHT_DECAY = 0.01
DEFAULT_CLIP = 1.0
# The share of the steps the rate warms up over: BERT's reference fine-tuning (Devlin et al. 2019; google-research/bert
# run_classifier.py, warmup_proportion=0.1), and the common default of GLUE fine-tuning since.
DEFAULT_WARMUP = 0.1
SEED_LIMIT = 2**32  # numpy's global seed is a 32-bit unsigned integer: seeds run 0 .. 2**32 - 1
MIN_LENGTH = 2  # the fewest tokens an input can have: the [CLS] and [SEP] (or <s>, </s>) every encoding carries
# BERT's reference implementation exempts biases and LayerNorm weights from weight decay
NO_DECAY = ("bias", "LayerNorm.weight", "norm.weight")


@dataclass(frozen=True)
class TrainSettings:
    """How to train: length (epochs, or a step budget that wins over them), optimizer, data and reproducibility."""

    epochs: int = DEFAULT_EPOCHS
    max_steps: int | None = None  # a step budget: train this many steps, passing over the data as often as needed
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    # fraction of the steps over which the rate rises linearly from 0 to lr; None: DEFAULT_WARMUP, which a short run
    # may round to no step (a fraction asked for is refused when it does)
    warmup: float | None = None
    seed: int = 0
    max_length: int | None = None  # None: the task's own max_length, as at evaluation
    clip: float = DEFAULT_CLIP  # max gradient norm
    threads: int | None = None  # torch intra-op threads while training
    limit: int | None = None  # train on the first N train rows only (quick runs)
    progress: bool = True  # a progress line, on a terminal only

    def check(self) -> None:
        """Refuse values that would train nothing or something else than asked, naming the setting."""
        whole = {"epochs": self.epochs, "max_steps": self.max_steps, "batch_size": self.batch_size}
        whole |= {"threads": self.threads, "limit": self.limit}
        for name, value in whole.items():
            if value is not None and (type(value) is not int or value < 1):
                raise UserError(
                    f"training setting {name} is {value!r}, not a whole number > 0", fix=f"give {name} >= 1"
                )
        if self.max_length is not None and (type(self.max_length) is not int or self.max_length < MIN_LENGTH):
            raise UserError(
                f"training setting max_length is {self.max_length!r}",
                fix=f"give a length of at least {MIN_LENGTH} tokens (the start and end tokens)",
            )
        if type(self.seed) is not int or not 0 <= self.seed < SEED_LIMIT:
            raise UserError(
                f"training setting seed is {self.seed!r}, outside 0 .. 2**32 - 1 (numpy's seeds)",
                fix=f"give a seed from 0 to {SEED_LIMIT - 1}",
            )
        for name, number in (("lr", self.lr), ("clip", self.clip)):
            if not (isinstance(number, (int, float)) and math.isfinite(number) and number > 0):
                raise UserError(f"training setting {name} is {number!r}, not a number > 0", fix=f"give {name} > 0")
        if self.warmup is not None and not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise UserError(
                f"training setting warmup is {self.warmup!r}, not a fraction of the steps in [0, 1)",
                fix="give e.g. 0.1 to warm up over the first 10% of the steps, or 0 for none",
            )

    def total_steps(self, rows: int) -> int:
        """Optimizer steps for `rows` train rows: the step budget, else epochs times the batches per epoch."""
        return self.max_steps if self.max_steps is not None else self.epochs * math.ceil(rows / self.batch_size)

    @property
    def warmup_share(self) -> float:
        """The warmup fraction in use: the one given, else DEFAULT_WARMUP."""
        return DEFAULT_WARMUP if self.warmup is None else self.warmup

    def warmup_steps(self, total: int) -> int:
        """The steps of `total` the rate warms up over; refuses a warmup > 0 asked for that rounds to none."""
        steps = int(self.warmup_share * total)
        if self.warmup is not None and self.warmup > 0 and steps == 0:
            raise UserError(
                f"--warmup {self.warmup:g} of {total} steps rounds to 0 warmup steps",
                fix=f"give --warmup 0 for none, or at least {1 / total:.3g} to warm up over one step",
            )
        return steps


@dataclass(frozen=True)
class TrainResult:
    """What a run did: steps, passes over the data, the last step's loss, wall time, the log of every step."""

    steps: int
    epochs: float
    final_loss: float
    seconds: float
    log: tuple[dict[str, float], ...] = field(repr=False)


def seed_everything(seed: int) -> Any:
    """Seed python's, numpy's and torch's generators; returns a torch generator of its own for the data order."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def optimizer_groups(named: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """AdamW parameter groups: weight decay for weights, none for biases and LayerNorm weights (as BERT)."""
    decay = [p for n, p in named if p.requires_grad and not n.endswith(NO_DECAY)]
    other = [p for n, p in named if p.requires_grad and n.endswith(NO_DECAY)]
    return [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": other, "weight_decay": 0.0}]


def train(
    named_parameters: Sequence[tuple[str, Any]],
    step_loss: Callable[[list[int]], Any],  # row indices -> the batch's loss (a torch scalar)
    rows: int,
    settings: TrainSettings,
    generator: Any,
    modules: Sequence[Any] = (),
    desc: str = "train",
) -> TrainResult:
    """Minimize `step_loss` over seeded batches of `rows` with AdamW, clipping and the warmup-then-linear schedule,
    `modules` in training mode meanwhile; returns what the run did."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from harness.backends.torch_run import fixed_threads

    settings.check()
    if rows < 1:
        raise UserError("no train rows to train on", fix="check the task's train file and --limit")
    total = settings.total_steps(rows)
    params = [p for _, p in named_parameters if p.requires_grad]
    optimizer = torch.optim.AdamW(optimizer_groups(named_parameters), lr=settings.lr)
    warmup_steps = settings.warmup_steps(total)
    schedule = get_linear_schedule_with_warmup(optimizer, warmup_steps, total)
    for m in modules:
        m.train()
    bar = _bar(total, desc, settings.progress)
    log: list[dict[str, float]] = []
    start = time.perf_counter()
    order: list[int] = []
    loss_value = math.nan
    with fixed_threads(settings.threads) if settings.threads else nullcontext(), _closing(bar):
        for step in range(1, total + 1):
            if not order:  # a new pass over the rows; its last batch may be short
                order = torch.randperm(rows, generator=generator).tolist()
            idx, order = order[: settings.batch_size], order[settings.batch_size :]
            lr = schedule.get_last_lr()[0]
            loss = step_loss(idx)
            if not torch.isfinite(loss):
                raise UserError(
                    f"{desc}: the loss is {loss.item()} at step {step}",
                    fix="lower --lr, or raise --warmup so the first steps are smaller",
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, settings.clip)
            optimizer.step()
            schedule.step()
            loss_value = float(loss.item())
            log.append({"step": step, "loss": loss_value, "lr": lr, "elapsed": round(time.perf_counter() - start, 3)})
            if bar is not None:
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
                bar.update(1)
    for m in modules:
        m.eval()
    seconds = time.perf_counter() - start
    return TrainResult(total, total / math.ceil(rows / settings.batch_size), loss_value, seconds, tuple(log))


@contextmanager
def _closing(bar: Any) -> Iterator[None]:
    """Close the progress line however the run ends."""
    try:
        yield
    finally:
        if bar is not None:
            bar.close()


def _bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm line (steps, loss, time left) on a terminal when enabled; None otherwise."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, leave=True)
