"""The parameters a BERT-family config.json implies, in pure Python (no torch, nothing built): what the torch
backend compares with the organizer's ceilings before it builds anything (a 20,000-layer config takes minutes to
build even on the meta device, however narrow), and what `harness check --no-load` reports
(harness.submissions.config_size).

The estimate counts the encoder only (embeddings, layers, their biases and layer norms), never a pooler or a task
head, so it is a lower bound of what the model builds: over the ceiling, the built model is too. Configs of other
model types get no estimate; loading them, the torch backend counts them on the meta device.
"""

from __future__ import annotations

from typing import Any

from harness.yamlcheck import shown

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
# ELECTRA: embeddings narrower than the layers, projected up; the other types' classes ignore the key
EMBEDDING_SIZE = "embedding_size"
PROJECTED_EMBEDDINGS = frozenset({"electra"})
# what to do about a config refused for its size or a field that is no size (check --no-load, and loading)
SIZE_FIX = "check vocab_size, hidden_size, num_hidden_layers and intermediate_size in config.json"
# The keys that count a config's layers, by model type: BERT's and most others', DistilBERT's, T5's (encoder and
# decoder), GPT-2's, BART's, Perceiver's.
LAYER_KEYS = (
    "num_hidden_layers",
    "n_layers",
    "num_layers",
    "num_decoder_layers",
    "n_layer",
    "encoder_layers",
    "decoder_layers",
    "num_self_attends_per_block",
)
SUMMED_LAYER_KEYS = ("block_sizes",)  # Funnel: layers per block
LISTED_LAYER_KEYS = ("attn_layers",)  # Reformer: one entry per layer
NESTING_BOUND = 4  # configs nested in a config (text_config, vision_config) are read this deep
# Digits from which a count is shown as a power of ten, not digit by digit (a 10^300 width has 600 digits).
MAX_SHOWN_DIGITS = 16


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
    projected = config.get("model_type") in PROJECTED_EMBEDDINGS and EMBEDDING_SIZE in config
    embedding = _size(config, EMBEDDING_SIZE) if projected else width
    embeddings = (vocab + positions + types) * embedding + 2 * embedding  # tables and their layer norm
    projection = embedding * width + width if embedding != width else 0
    attention = 4 * (width * width + width) + 2 * width  # query, key, value, output; layer norm
    feed_forward = width * inner + inner + inner * width + width + 2 * width  # up, down; layer norm
    return embeddings + projection + layers * (attention + feed_forward)


def deepest(config: dict[str, Any]) -> tuple[str, int] | None:
    """The config's largest layer count and the key that holds it, over every key that counts layers, in the
    config and in the configs nested in it (a multimodal model's text_config); a list-valued count (Funnel's
    block_sizes, Reformer's attn_layers) counts its layers. None when no such key holds a count."""
    found: list[tuple[str, int]] = []
    for key, value in _walk(config, "", NESTING_BOUND):
        name = key.rsplit(".", 1)[-1]
        if name in LAYER_KEYS and type(value) is int:
            found.append((key, value))
        elif name in SUMMED_LAYER_KEYS and isinstance(value, list):  # a bool or a negative entry lowers nothing
            found.append((key, sum(max(int(v), 0) for v in value if isinstance(v, int))))
        elif name in LISTED_LAYER_KEYS and isinstance(value, list):
            found.append((key, len(value)))
    return max(found, key=lambda kv: kv[1]) if found else None


def _walk(config: dict[str, Any], prefix: str, depth: int) -> list[tuple[str, Any]]:
    """Every (dotted key, value) of a config and of the mappings nested in it, `depth` levels down at most."""
    out = []
    for key, value in config.items():
        out.append((prefix + str(key), value))
        if isinstance(value, dict) and depth > 0:
            out += _walk(value, f"{prefix}{key}.", depth - 1)
    return out


def too_deep(config: dict[str, Any], ceiling: int) -> tuple[str, str] | None:
    """(the key, why it is refused) when the config stacks more layers than `ceiling`; else None."""
    found = deepest(config)
    if found is None or found[1] <= ceiling:
        return None
    key, layers = found
    return key, f"{key} is {shown_count(layers)} layers, over the ceiling of {ceiling:,} layers (nothing built)"


def depth_fix(key: str) -> str:
    """What to do about a config refused for its depth."""
    return f"set {key} in config.json to the model's real number of layers (at most the ceiling)"


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
