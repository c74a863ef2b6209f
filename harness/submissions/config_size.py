"""The parameters a BERT-family config.json implies, in pure Python (no torch, nothing built): what
`harness check --no-load` compares with the organizer's ceiling (harness.backends.base.MAX_MODEL_PARAMS).

The estimate counts the encoder only (embeddings, layers, their biases and layer norms), never a pooler or a task
head, so it is a lower bound of what the model builds: over the ceiling, the built model is too. Configs of other
model types get no estimate; loading them, the torch backend counts them on the meta device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.backends.base import MAX_MODEL_PARAMS
from harness.submissions.folders import _backend_checks, _read_config
from harness.submissions.schema import parse_submission
from harness.yamlcheck import Problem, shown

# model_type -> the config keys of (vocabulary, width, positions, token types, layers, feed-forward width);
# None: the model type has no such table. Fields a config omits count 0 (the estimate stays a lower bound).
BERT_KEYS = (
    "vocab_size",
    "hidden_size",
    "max_position_embeddings",
    "type_vocab_size",
    "num_hidden_layers",
    "intermediate_size",
)
FIELDS: dict[str, tuple[str | None, ...]] = {
    name: BERT_KEYS
    for name in ("bert", "roberta", "xlm-roberta", "camembert", "ernie", "megatron-bert", "electra", "data2vec-text")
}
FIELDS["distilbert"] = ("vocab_size", "dim", "max_position_embeddings", None, "n_layers", "hidden_dim")
EMBEDDING_SIZE = "embedding_size"  # ELECTRA: embeddings narrower than the layers, projected up
# Digits from which a count is shown as a power of ten, not digit by digit (a 10^300 width has 600 digits).
MAX_SHOWN_DIGITS = 16
FIX = "check vocab_size, hidden_size, num_hidden_layers and intermediate_size in config.json"


class BadField(ValueError):
    """A config field the estimate needs that is no whole number >= 0."""

    def __init__(self, key: str, value: Any) -> None:
        super().__init__(f"{key} is {shown(value)}, expected a whole number >= 0")
        self.key, self.value = key, value


def implied_parameters(config: dict[str, Any]) -> int | None:
    """At least how many parameters a config.json mapping implies (see the module docstring); None for a model type
    without an estimate. Raises BadField for a needed field that is not a whole number >= 0."""
    keys = FIELDS.get(str(config.get("model_type")))
    if keys is None:
        return None
    vocab, width, positions, types, layers, inner = (_size(config, k) for k in keys)
    embedding = _size(config, EMBEDDING_SIZE) if EMBEDDING_SIZE in config else width
    embeddings = (vocab + positions + types) * embedding + 2 * embedding  # tables and their layer norm
    projection = embedding * width + width if embedding != width else 0
    attention = 4 * (width * width + width) + 2 * width  # query, key, value, output; layer norm
    feed_forward = width * inner + inner + inner * width + width + 2 * width  # up, down; layer norm
    return embeddings + projection + layers * (attention + feed_forward)


def _size(config: dict[str, Any], key: str | None) -> int:
    """A whole number >= 0 from the config (0 when the key is None or absent); BadField otherwise."""
    if key is None or key not in config:
        return 0
    value = config[key]
    if type(value) is not int or value < 0:
        raise BadField(key, value)
    return value


def shown_count(count: int) -> str:
    """A parameter count for messages: digit-grouped, or the power of ten at or below it when too long to read."""
    digits = len(str(count))
    return f"{count:,}" if digits <= MAX_SHOWN_DIGITS else f"10^{digits - 1}"


def config_size_problems(path: str | Path, found: list[Problem], ceiling: int = MAX_MODEL_PARAMS) -> list[Problem]:
    """The problems of each model folder's config.json estimate (over `ceiling`, or a field that is no size), for a
    submission whose other problems are `found`: a folder with any of those (its config unreadable, a link out of
    the submission) is left alone, and so are backends with their own folder checks."""
    sub, _ = parse_submission(Path(path))
    if sub is None or _backend_checks(sub.backend) is not None:
        return []
    out: list[Problem] = []
    seen: set[Path] = set()
    for name, entry in sub.tasks.items():
        if entry.model in seen or any(Path(p.file).is_relative_to(entry.model) for p in found):
            continue
        seen.add(entry.model)
        config = _read_config(entry.model)
        if config is None:
            continue
        file, where = str(entry.model / "config.json"), f"tasks.{name}.model"
        try:
            count = implied_parameters(config)
        except BadField as e:
            out.append(Problem(file, f"{where}: {e.key}", f"{e}, so no model can be built from it", FIX))
            continue
        if count is not None and count > ceiling:
            out.append(
                Problem(
                    file,
                    where,
                    f"at least {shown_count(count)} parameters implied by config.json (estimate: embeddings and "
                    f"layers of {config.get('model_type')}), over the ceiling of {ceiling:,}",
                    FIX,
                )
            )
    return out
