"""Declaratively compressed torch models saved as data (config.json, model.safetensors, compressed.json: a stock
class and its transforms); compressed.json is untrusted, so everything is checked on the meta device first."""

from __future__ import annotations

import json
import math
import reprlib
from pathlib import Path
from typing import Any, TypeGuard

from harness.backends.devices import is_cuda
from harness.backends.files import read_json
from harness.backends.heads import class_head
from harness.errors import UserError

COMPRESSED_FILE = "compressed.json"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "harness-compressed"
VERSION = 1
# transform types: the recipes of harness.recipes write them, `apply_transform` rebuilds them
PRUNE_HEADS, LOW_RANK, SHARE, QUANTIZE_INT8 = "prune_heads", "low_rank", "share", "quantize_dynamic_int8"
TRANSFORMS = (PRUNE_HEADS, LOW_RANK, SHARE, QUANTIZE_INT8)
# the keys each part of compressed.json may hold (anything else is refused: the file comes from a stranger)
TOP_KEYS = frozenset({"format", "version", "architecture", "base_model", "recipes", "transforms"})
TRANSFORM_KEYS = {
    PRUNE_HEADS: frozenset({"type", "recipe", "importance", "layers"}),
    LOW_RANK: frozenset({"type", "recipe", "layers", "skipped"}),
    SHARE: frozenset({"type", "recipe", "weights", "layers"}),
    QUANTIZE_INT8: frozenset({"type", "recipe", "dtype", "qscheme", "layers"}),
}
HEADS_KEYS = frozenset({"kept_heads", "head_size", "inputs", "output"})
FLOAT32 = "float32"  # the dtype a compressed folder runs in (its --dtype)
AS_SAVED = "auto"  # no --dtype (harness.backends.devices.AS_SAVED)
INT8_DTYPE = "qint8"  # the weight dtype of a quantize_dynamic_int8 transform (torch.qint8)
# qint8's value range (torch.iinfo(torch.int8)): a zero point outside it is no int8 zero point
QINT8_LOW, QINT8_HIGH = -128, 127
# names under which an int8 Linear's tensors are stored (the int8 weight, its scales, zero points and their axis
# (per-channel only), the bias)
INT8_WEIGHT, INT8_SCALE, INT8_ZERO_POINT = "weight_int8", "weight_scale", "weight_zero_point"
INT8_AXIS = "weight_axis"
# a quantize_dynamic_int8 transform's qscheme: one scale per output row (the recipe's), or one per weight (older)
PER_CHANNEL, PER_TENSOR = "per_channel_affine", "per_tensor_affine"
QSCHEMES = (PER_CHANNEL, PER_TENSOR)
OUTPUT_AXIS = 0  # a Linear weight's output rows: the axis of its per-channel scales
# torch dtype -> its name in a safetensors header (the safetensors format's dtype codes)
_SAFETENSORS_DTYPES = {
    "torch.float64": "F64",
    "torch.float32": "F32",
    "torch.float16": "F16",
    "torch.bfloat16": "BF16",
    "torch.int64": "I64",
    "torch.int32": "I32",
    "torch.int16": "I16",
    "torch.int8": "I8",
    "torch.uint8": "U8",
    "torch.bool": "BOOL",
}
FIX = f"re-create the folder with `harness compress`; {COMPRESSED_FILE} is written by it, not by hand"


def regular_file(folder: Path, name: str) -> Path:
    """folder/name, refused unless it is a regular file inside `folder` (no symlink pointing anywhere else)."""
    file = folder / name
    if file.is_symlink() or not file.is_file() or not file.resolve().is_relative_to(folder.resolve()):
        raise UserError(f"{file}: not a regular file inside {folder} (a link or missing)", fix=FIX)
    return file


def read_document(folder: Path) -> dict[str, Any]:
    """compressed.json, checked without the model: known keys only, and each transform's fields of the right type."""
    file = regular_file(folder, COMPRESSED_FILE)
    doc = read_json(file, FIX)
    if not isinstance(doc, dict):
        raise UserError(f"{file}: expected a JSON object at the top level", fix=FIX)
    _known_keys(doc, TOP_KEYS, f"{file}: ")
    if doc.get("format") != FORMAT:
        raise UserError(f"{file}: format: expected {FORMAT!r}, got {doc.get('format')!r}", fix=FIX)
    if doc.get("version") != VERSION:
        raise UserError(
            f"{file}: version: this harness reads version {VERSION}, got {doc.get('version')!r}",
            fix="upgrade the harness to read newer folders, or re-create it with this one's `harness compress`",
        )
    if not isinstance(doc.get("architecture"), str):
        raise UserError(f"{file}: architecture: expected a transformers class name, e.g. 'BertModel'", fix=FIX)
    if "base_model" in doc and not _name(doc["base_model"]):
        raise UserError(f"{file}: base_model: expected a non-empty string, got {doc['base_model']!r}", fix=FIX)
    recipes = doc.get("recipes", [])
    if not isinstance(recipes, list) or not all(isinstance(r, dict) and _name(r.get("recipe")) for r in recipes):
        raise UserError(f"{file}: recipes: expected a list of {{recipe: NAME, parameter: value}}", fix=FIX)
    transforms = doc.get("transforms")
    if not isinstance(transforms, list):
        raise UserError(f"{file}: transforms: expected a list", fix=FIX)
    for i, t in enumerate(transforms):
        kind = t.get("type") if isinstance(t, dict) else None
        if not isinstance(kind, str) or kind not in TRANSFORMS:
            where = f"{file}: transforms[{i}].type"
            raise UserError(f"{where}: unknown transform {kind!r}", fix=f"known: {', '.join(TRANSFORMS)}; {FIX}")
    for i, t in enumerate(transforms):
        if t["type"] == QUANTIZE_INT8 and i != len(transforms) - 1:
            raise UserError(f"{file}: transforms[{i}]: {QUANTIZE_INT8} must be the last transform", fix=FIX)
        _check_transform(t, t["type"], f"{file}: transforms[{i}]")
    return doc


def _name(value: Any) -> bool:
    """Whether `value` is a non-empty string (a module name, a recipe name)."""
    return isinstance(value, str) and bool(value)


def _whole(value: Any) -> TypeGuard[int]:
    """Whether `value` is an int and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _known_keys(mapping: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in mapping.keys() - allowed)
    if unknown:
        raise UserError(f"{where}unknown key(s) {', '.join(unknown)}", fix=f"allowed: {', '.join(sorted(allowed))}")


def _check_transform(t: dict[str, Any], kind: str, where: str) -> None:
    """One transform's fields, by type; the model-dependent checks are `apply_transform`'s."""
    _known_keys(t, TRANSFORM_KEYS[kind], f"{where}: ")
    if "recipe" in t and not _name(t["recipe"]):
        raise UserError(f"{where}.recipe: expected a recipe name, got {t['recipe']!r}", fix=FIX)
    layers = t.get("layers")
    if kind == QUANTIZE_INT8:
        if t.get("dtype") != INT8_DTYPE:
            raise UserError(f"{where}.dtype: expected {INT8_DTYPE!r}, got {t.get('dtype')!r}", fix=FIX)
        if t.get("qscheme") not in QSCHEMES:
            raise UserError(
                f"{where}.qscheme: expected one of {', '.join(QSCHEMES)}, got {t.get('qscheme')!r}", fix=FIX
            )
        if not isinstance(layers, list) or not all(_name(n) for n in layers):
            raise UserError(f"{where}.layers: expected a list of module names", fix=FIX)
        twice = sorted({n for n in layers if layers.count(n) > 1})
        if twice:
            raise UserError(f"{where}.layers: listed more than once: {', '.join(twice)}", fix=FIX)
        return
    if not isinstance(layers, dict) or not all(_name(n) for n in layers):
        raise UserError(f"{where}.layers: expected a mapping of module names for a {kind} transform", fix=FIX)
    for name, value in layers.items():
        at = f"{where}.layers.{name}"
        if kind == LOW_RANK and not (_whole(value) and value >= 1):
            raise UserError(f"{at}: expected a rank >= 1, got {value!r}", fix=FIX)
        if kind == SHARE and not _name(value):
            raise UserError(f"{at}: expected the name of the module it shares, got {value!r}", fix=FIX)
        if kind == PRUNE_HEADS:
            _check_heads_entry(value, at)


def _check_heads_entry(entry: Any, where: str) -> None:
    """A prune_heads entry: distinct int kept_heads, an int head_size >= 1, a list of input names and an output name."""
    if not isinstance(entry, dict) or set(entry) != HEADS_KEYS:
        raise UserError(f"{where}: expected exactly the keys {', '.join(sorted(HEADS_KEYS))}", fix=FIX)
    kept, size, inputs, output = (entry[k] for k in ("kept_heads", "head_size", "inputs", "output"))
    if not isinstance(kept, list) or not kept or not all(_whole(h) for h in kept) or len(set(kept)) != len(kept):
        raise UserError(
            f"{where}.kept_heads: expected a non-empty list of distinct head numbers, got {reprlib.repr(kept)}", fix=FIX
        )
    if not (_whole(size) and size >= 1):
        raise UserError(f"{where}.head_size: expected a whole number >= 1, got {size!r}", fix=FIX)
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(_name(n) for n in inputs)
        or len(set(inputs)) != len(inputs)
    ):
        raise UserError(
            f"{where}.inputs: expected a list of distinct Linear names, got {reprlib.repr(inputs)}", fix=FIX
        )
    if not _name(output) or output in inputs:
        raise UserError(
            f"{where}.output: expected a Linear name that is not one of the inputs, got {output!r}", fix=FIX
        )


def check_compressed_placement(folder: Path, device: str, dtype: str) -> None:
    """Refuse a --dtype other than float32 (or none: "auto") for a compressed folder (its transforms are checked and
    rebuilt in the float32 it was saved in), and CUDA for one with int8 layers (torch's dynamic int8 kernels run on
    the CPU)."""
    file = folder / COMPRESSED_FILE
    if dtype not in (FLOAT32, AS_SAVED):
        raise UserError(
            f"{file}: --dtype {dtype} asked for, but a compressed model runs in the float32 it was compressed in",
            fix="leave --dtype out (or pass --dtype float32) for compressed models",
        )
    if is_cuda(device) and any(t.get("type") == QUANTIZE_INT8 for t in read_document(folder)["transforms"]):
        raise UserError(
            f"{file}: --device {device} asked for, but its int8 layers (quantize_dynamic_int8) run only on the CPU",
            fix="pass --device cpu for int8 models",
        )


def load_compressed(folder: str | Path, head: str) -> Any:
    """The torch module of a declaratively compressed folder, for `head`; any failure is a UserError."""
    path = Path(folder)
    where = [str(path / CONFIG_FILE)]  # what is being read or built: named when something other than us fails
    try:
        return _load(path, head, where)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - torch/transformers raise anything on a stranger's sizes and shapes
        raise UserError(f"{where[0]}: does not build ({type(e).__name__}: {e})", fix=FIX) from e


def _load(path: Path, head: str, where: list[str]) -> Any:
    """load_compressed's work: check everything on a meta-device model, then build, transform and fill it."""
    import torch
    import transformers
    from safetensors.torch import load_file

    doc = read_document(path)
    file, weights = path / COMPRESSED_FILE, regular_file(path, WEIGHTS_FILE)
    regular_file(path, CONFIG_FILE)
    arch = doc["architecture"]
    cls = getattr(transformers, arch, None)
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
        raise UserError(f"{file}: architecture: {arch!r} is no transformers model class", fix=FIX)
    if (class_head(arch) or "") != head:
        raise UserError(
            f"{file}: architecture: a {arch} loads as head {class_head(arch)!r}, not {head!r}",
            fix=f"give the task head {class_head(arch)!r}, or compress a model saved for head {head!r}",
        )
    config = transformers.AutoConfig.from_pretrained(str(path))
    wanted: type = getattr(cls, "config_class", None) or transformers.PretrainedConfig
    if not issubclass(type(config), wanted):
        raise UserError(
            f"{file}: architecture: a {arch} is built from a {wanted.__name__}, "
            f"{path / CONFIG_FILE} holds a {type(config).__name__}",
            fix=FIX,
        )
    header = _header(weights)
    _bound_layers(config, header, doc["transforms"], path / CONFIG_FILE)
    where[0] = f"{path / CONFIG_FILE} (building a {arch} on the meta device)"
    with torch.device("meta"):  # sizes are checked against the file before any memory is allocated
        meta = cls(config)
        for i, transform in enumerate(doc["transforms"]):
            where[0] = f"{file}: transforms[{i}]"
            apply_transform(meta, transform, where[0], meta=True)
    _match_header(expected_slots(meta, doc["transforms"]), header, weights)
    where[0] = f"{path / CONFIG_FILE} (building a {arch})"
    module = cls(config)  # rebuilt, not to_empty: non-persistent buffers (position ids) are not in the file
    for i, transform in enumerate(doc["transforms"]):
        where[0] = f"{file}: transforms[{i}]"
        apply_transform(module, transform, where[0])
    where[0] = str(weights)
    try:
        stored = load_file(str(weights))
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types for a bad file
        raise UserError(f"{weights}: not a readable safetensors file ({e})", fix=FIX) from e
    with torch.no_grad():
        fill(module, stored, weights)
    return module.eval()


def _header(weights: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each tensor's shape and safetensors dtype ("F32", "I8", ...) from the file's header (nothing beyond it)."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as f:
            return {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types for a bad file
        raise UserError(f"{weights}: not a readable safetensors file ({e})", fix=FIX) from e


def _bound_layers(config: Any, header: dict[str, Any], transforms: list[dict[str, Any]], file: Path) -> None:
    """num_hidden_layers, before anything is built: each layer holds a stored tensor of its own or is shared."""
    layers = getattr(config, "num_hidden_layers", None)
    shared = sum(len(t["layers"]) for t in transforms if t["type"] == SHARE)
    if _whole(layers) and layers > len(header) + shared:
        raise UserError(
            f"{file}: num_hidden_layers: {layers} layers, but {WEIGHTS_FILE} holds {len(header)} tensors and "
            f"{COMPRESSED_FILE} shares {shared} layers",
            fix=FIX,
        )


def _match_header(
    expected: dict[str, tuple[tuple[int, ...], Any]], header: dict[str, tuple[tuple[int, ...], str]], file: Path
) -> None:
    """The file holds exactly the tensors the checked model needs: names, then shapes (with both element totals)
    and dtypes."""
    _names_match(expected.keys(), header.keys(), file)
    want, have = sum(math.prod(s) for s, _ in expected.values()), sum(math.prod(s) for s, _ in header.values())
    for name, (shape, dtype) in expected.items():
        stored, code = header[name], _SAFETENSORS_DTYPES.get(str(dtype), str(dtype))
        if stored != (shape, code):
            raise UserError(
                f"{file}: {name}: shape {stored[0]} of {stored[1]}, the model's is shape {shape} of {code} "
                f"(it holds {have} tensor elements; {CONFIG_FILE} and {COMPRESSED_FILE} describe {want})",
                fix=FIX,
            )


def _names_match(slots: Any, stored: Any, file: Path) -> None:
    missing, unused = sorted(set(slots) - set(stored)), sorted(set(stored) - set(slots))
    if missing or unused:
        found = ([f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"] if missing else []) + (
            [f"not used by the model {', '.join(unused[:5])}{' ...' if len(unused) > 5 else ''}"] if unused else []
        )
        raise UserError(f"{file}: tensors do not match {COMPRESSED_FILE}'s model: {'; '.join(found)}", fix=FIX)


def expected_slots(module: Any, transforms: list[dict[str, Any]]) -> dict[str, tuple[tuple[int, ...], Any]]:
    """name -> (shape, dtype) of every tensor the file must hold for the float `module` once its int8 transform
    (if any) has run: the slots of `tensor_slots`, an int8 Linear's as `_int8_tensors` stores them."""
    import torch

    int8 = next((t for t in transforms if t["type"] == QUANTIZE_INT8), None)
    quantized = {id(module.get_submodule(n)) for n in int8["layers"]} if int8 is not None else set()
    per_channel = int8 is not None and int8["qscheme"] == PER_CHANNEL
    out: dict[str, tuple[tuple[int, ...], Any]] = {}
    linears: dict[int, str] = {}
    for name, (sub, local) in tensor_slots(module).items():
        if id(sub) not in quantized:
            tensor = getattr(sub, local)
            out[name] = (tuple(tensor.shape), tensor.dtype)
        elif id(sub) not in linears:
            linears[id(sub)] = prefix = name.removesuffix(local)
            rows = (sub.out_features,) if per_channel else ()
            out[prefix + INT8_WEIGHT] = ((sub.out_features, sub.in_features), torch.int8)
            out[prefix + INT8_SCALE] = (rows, torch.float64)
            out[prefix + INT8_ZERO_POINT] = (rows, torch.int64)
            if per_channel:
                out[prefix + INT8_AXIS] = ((), torch.int64)
            if sub.bias is not None:
                out[prefix + "bias"] = ((sub.out_features,), sub.bias.dtype)
    return out


def apply_transform(module: Any, transform: dict[str, Any], where: str, meta: bool = False) -> None:
    """Rebuild one checked transform's structure on `module` (its tensors are filled later); `where` names it in
    errors; `meta`: `module` is on the meta device, where an int8 Linear is not built (expected_slots stands in)."""
    kind, layers = transform["type"], transform["layers"]
    if kind == PRUNE_HEADS:
        for name, entry in layers.items():
            _prune_heads(_module(module, name, f"{where}.layers"), module.config, entry, f"{where}.layers.{name}")
    elif kind == LOW_RANK:
        for name, rank in layers.items():
            linear = _linear(module, name, f"{where}.layers")
            most = linear.in_features * linear.out_features / (linear.in_features + linear.out_features)
            if not rank < most:
                raise UserError(
                    f"{where}.layers.{name}: rank {rank} would not shrink a {linear.in_features} x "
                    f"{linear.out_features} Linear (expected 1 <= rank < in*out/(in+out) = {most:.1f})",
                    fix=FIX,
                )
            set_module(module, name, factorized(linear.in_features, linear.out_features, rank, linear.bias is not None))
    elif kind == SHARE:
        for target, source in layers.items():
            _check_share(module, target, source, f"{where}.layers.{target}")
            set_module(module, target, module.get_submodule(source))
    else:
        quantized: dict[int, Any] = {}  # a Linear met under two names (shared layers) gets one int8 Linear
        for name in layers:
            linear = _linear(module, name, f"{where}.layers")
            if meta:
                continue
            if id(linear) not in quantized:
                shape = (linear.in_features, linear.out_features, linear.bias is not None)
                quantized[id(linear)] = int8_linear(*shape, per_channel=transform["qscheme"] == PER_CHANNEL)
            set_module(module, name, quantized[id(linear)])


def _check_share(root: Any, target: str, source: str, where: str) -> None:
    """A share entry: two distinct child modules (held in their parents' module tables) of one type, neither
    inside the other."""
    found = []
    for name in (target, source):
        parent, _, leaf = name.rpartition(".")
        holder = _module(root, parent, where) if parent else root
        if leaf not in holder._modules:
            raise UserError(f"{where}: {name!r} is no child module held by its parent (a property?)", fix=FIX)
        found.append(holder._modules[leaf])
    if target == source or found[0] is found[1]:
        raise UserError(f"{where}: a module shared with itself ({source!r})", fix=FIX)
    if type(found[0]) is not type(found[1]):
        kinds = f"{type(found[0]).__name__} and {type(found[1]).__name__}"
        raise UserError(f"{where}: {target!r} and {source!r} are of different types ({kinds})", fix=FIX)
    if any(m is found[1] for m in found[0].modules()) or any(m is found[0] for m in found[1].modules()):
        raise UserError(f"{where}: {target!r} and {source!r}: one holds the other (a module cycle)", fix=FIX)


def factorized(in_features: int, out_features: int, rank: int, bias: bool) -> Any:
    """A Linear of rank `rank` as two Linears: in -> rank without bias, rank -> out with the original's bias."""
    from torch import nn

    return nn.Sequential(nn.Linear(in_features, rank, bias=False), nn.Linear(rank, out_features, bias=bias))


def int8_linear(in_features: int, out_features: int, bias: bool, per_channel: bool = True) -> Any:
    """An empty dynamic int8 Linear (torch.ao.nn.quantized.dynamic): qint8 weights with one scale per output row
    (per_channel) or one per tensor."""
    import torch
    import torch.ao.nn.quantized.dynamic as nnqd

    linear = nnqd.Linear(in_features, out_features, bias_=bias, dtype=torch.qint8)
    if per_channel:
        weight, bias_tensor = linear._weight_bias()
        scales, zero_points = torch.ones(out_features, dtype=torch.float64), torch.zeros(out_features, dtype=torch.long)
        weight = torch._make_per_channel_quantized_tensor(weight.int_repr(), scales, zero_points, OUTPUT_AXIS)
        linear.set_weight_bias(weight, bias_tensor)
    return linear


def _prune_heads(block: Any, config: Any, entry: dict[str, Any], where: str) -> None:
    """Shrink an attention block to its kept heads: the query/key/value Linears' outputs and the output
    projection's inputs (entry: kept_heads, head_size, inputs, output, names relative to the block)."""
    from torch import nn

    heads = getattr(config, "num_attention_heads", None)
    size = config.hidden_size // heads if _whole(heads) and heads >= 1 else None
    attention = _attention(block, where)
    kept, inputs, output = entry["kept_heads"], entry["inputs"], entry["output"]
    if entry["head_size"] != size:
        raise UserError(f"{where}.head_size: {entry['head_size']}, the config's attention head size is {size}", fix=FIX)
    if not all(0 <= h < attention.num_attention_heads for h in kept):
        raise UserError(
            f"{where}.kept_heads: expected heads in range({attention.num_attention_heads}), got {reprlib.repr(kept)}",
            fix=FIX,
        )
    width = attention.num_attention_heads * size
    for name in inputs:
        old = _linear(block, name, f"{where}.inputs")
        if old.out_features != width:
            raise UserError(f"{where}.inputs: {name!r} has {old.out_features} outputs, not the heads' {width}", fix=FIX)
        set_module(block, name, nn.Linear(old.in_features, len(kept) * size, bias=old.bias is not None))
    old = _linear(block, output, f"{where}.output")
    if old.in_features != width:
        raise UserError(f"{where}.output: {output!r} has {old.in_features} inputs, not the heads' {width}", fix=FIX)
    set_module(block, output, nn.Linear(len(kept) * size, old.out_features, bias=old.bias is not None))
    set_head_count(attention, len(kept), size)


def _attention(block: Any, where: str) -> Any:
    """The one self-attention module (with num_attention_heads and all_head_size) inside an attention block."""
    found = [m for m in block.modules() if hasattr(m, "num_attention_heads") and hasattr(m, "all_head_size")]
    if len(found) != 1:
        raise UserError(f"{where}: expected one attention block, found {len(found)} self-attention modules", fix=FIX)
    return found[0]


def set_head_count(attention: Any, heads: int, size: int) -> None:
    """After pruning, a BERT self-attention's head count and width (its reshape reads them)."""
    attention.num_attention_heads, attention.all_head_size = heads, heads * size


def _module(root: Any, name: str, where: str) -> Any:
    try:
        return root.get_submodule(name)
    except AttributeError as e:
        raise UserError(f"{where}: no module {name!r} in the model", fix=FIX) from e


def _linear(root: Any, name: str, where: str) -> Any:
    from torch import nn

    found = _module(root, name, where)
    if type(found) is not nn.Linear:
        raise UserError(f"{where}: {name!r} is a {type(found).__name__}, not a float nn.Linear", fix=FIX)
    return found


def set_module(root: Any, name: str, value: Any) -> None:
    """Put `value` at the dotted module path `name` of `root`."""
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, value)


def _is_int8(module: Any) -> bool:
    """A quantized Linear (not its packed-params child, which it stores for)."""
    kind = type(module)
    quantized = kind.__module__.startswith("torch.ao.nn.quantized") and not kind.__name__.endswith("PackedParams")
    return quantized and callable(getattr(module, "_weight_bias", None))


def tensor_slots(module: Any) -> dict[str, tuple[Any, str]]:
    """Every tensor the file holds for `module`, once, under its first name: name -> (owning module, local name);
    an int8 Linear's are those of `_int8_tensors`."""
    slots: dict[str, tuple[Any, str]] = {}
    seen: set[int] = set()
    for prefix, sub in module.named_modules():  # each module object once, under its first name
        dot = f"{prefix}." if prefix else ""
        if _is_int8(sub):
            slots.update({dot + n: (sub, n) for n in _int8_tensors(sub)})
            continue
        if type(sub).__module__.startswith("torch.ao.nn.quantized"):  # packed params: stored by their owner
            continue
        tensors = list(sub.named_parameters(recurse=False))
        tensors += [(n, b) for n, b in sub.named_buffers(recurse=False) if n not in sub._non_persistent_buffers_set]
        for local, tensor in tensors:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                slots[dot + local] = (sub, local)
    return slots


def stored_tensors(module: Any) -> dict[str, Any]:
    """What `write_compressed` puts in model.safetensors: each of `tensor_slots` as a plain contiguous tensor."""

    out = {}
    for name, (sub, local) in tensor_slots(module).items():
        value = _int8_tensors(sub)[local] if _is_int8(sub) else getattr(sub, local)
        out[name] = value.detach().contiguous().clone()
    return out


def _int8_tensors(linear: Any) -> dict[str, Any]:
    """An int8 Linear's stored tensors: the int8 weight, its scales (float64) and zero points (int64), one per output
    row with their axis (int64) for a per-channel weight, else one each; the bias."""
    import torch

    weight, bias = linear._weight_bias()
    out = {INT8_WEIGHT: weight.int_repr()}
    if weight.qscheme() == torch.per_channel_affine:
        out[INT8_SCALE] = weight.q_per_channel_scales().to(torch.float64)
        out[INT8_ZERO_POINT] = weight.q_per_channel_zero_points().to(torch.int64)
        out[INT8_AXIS] = torch.tensor(weight.q_per_channel_axis(), dtype=torch.int64)
    else:
        out[INT8_SCALE] = torch.tensor(weight.q_scale(), dtype=torch.float64)
        out[INT8_ZERO_POINT] = torch.tensor(weight.q_zero_point(), dtype=torch.int64)
    return out | ({"bias": bias} if bias is not None else {})


def fill(module: Any, stored: dict[str, Any], file: Path) -> None:
    """Copy every stored tensor into `module`'s slots; a stored tensor unused, a slot unfilled, or a shape or dtype
    that differs is a UserError naming the file and the tensor."""
    slots = tensor_slots(module)
    _names_match(slots.keys(), stored.keys(), file)
    int8: dict[int, tuple[Any, str, dict[str, Any]]] = {}
    for name, (sub, local) in slots.items():
        value = stored[name]
        if _is_int8(sub):
            int8.setdefault(id(sub), (sub, name.removesuffix(local), {}))[2][local] = value
            continue
        target = getattr(sub, local)
        if tuple(target.shape) != tuple(value.shape) or target.dtype != value.dtype:
            raise UserError(
                f"{file}: {name}: {value.dtype} of shape {tuple(value.shape)}, the model's is {target.dtype} of "
                f"shape {tuple(target.shape)}",
                fix=FIX,
            )
        target.copy_(value)
    for sub, prefix, parts in int8.values():
        bias = parts.get("bias")
        if bias is not None and (not bias.is_floating_point() or tuple(bias.shape) != (sub.out_features,)):
            raise UserError(
                f"{file}: {prefix}bias: {bias.dtype} of shape {tuple(bias.shape)}, expected a float tensor of "
                f"shape ({sub.out_features},)",
                fix=FIX,
            )
        sub.set_weight_bias(_int8_weight(sub, prefix, parts, file), bias)  # repacks (linear_prepack)


def _int8_weight(linear: Any, prefix: str, parts: dict[str, Any], file: Path) -> Any:
    """The quantized weight of the int8 Linear `linear` (stored under `prefix`) from its stored `parts`, each
    checked: int8 values of its shape, float64 scales > 0 and int64 zero points in qint8's range, per row or tensor."""
    import torch

    values, scale, zero_point = parts[INT8_WEIGHT], parts[INT8_SCALE], parts[INT8_ZERO_POINT]
    shape = (linear.out_features, linear.in_features)
    if tuple(values.shape) != shape or values.dtype != torch.int8:
        raise UserError(
            f"{file}: {prefix}{INT8_WEIGHT}: {values.dtype} of shape {tuple(values.shape)}, the model's is "
            f"torch.int8 of shape {shape}",
            fix=FIX,
        )
    per_channel = INT8_AXIS in parts
    expected = (linear.out_features,) if per_channel else ()
    for local, tensor, dtype in ((INT8_SCALE, scale, torch.float64), (INT8_ZERO_POINT, zero_point, torch.int64)):
        if tuple(tensor.shape) != expected or tensor.dtype != dtype:
            raise UserError(
                f"{file}: {prefix}{local}: shape {tuple(tensor.shape)} of {tensor.dtype}, expected {dtype} "
                f"of shape {expected} ({'one per output row' if per_channel else 'one per tensor'})",
                fix=FIX,
            )
    if not bool((torch.isfinite(scale) & (scale > 0)).all()):
        raise UserError(f"{file}: {prefix}{INT8_SCALE}: expected finite scales > 0", fix=FIX)
    if not bool(((zero_point >= QINT8_LOW) & (zero_point <= QINT8_HIGH)).all()):
        raise UserError(
            f"{file}: {prefix}{INT8_ZERO_POINT}: expected zero points in {QINT8_LOW}..{QINT8_HIGH}", fix=FIX
        )
    if not per_channel:
        return torch._make_per_tensor_quantized_tensor(values, float(scale), int(zero_point))
    axis = parts[INT8_AXIS]
    if axis.dim() != 0 or axis.dtype != torch.int64 or int(axis) != OUTPUT_AXIS:
        raise UserError(f"{file}: {prefix}{INT8_AXIS}: expected the output axis {OUTPUT_AXIS}, got {axis}", fix=FIX)
    return torch._make_per_channel_quantized_tensor(values, scale, zero_point, OUTPUT_AXIS)


def write_compressed(
    module: Any, folder: Path, transforms: list[dict[str, Any]], recipes: list[dict[str, Any]], base_model: str
) -> None:
    """Save `module` declaratively into `folder`: config.json, model.safetensors (each tensor once) and
    compressed.json (format, version, architecture, what was compressed, the recipe chain, the transforms)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    module.config.save_pretrained(str(folder))
    save_file(stored_tensors(module), str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": type(module).__name__,
        "base_model": base_model,
        "recipes": recipes,
        "transforms": transforms,
    }
    (folder / COMPRESSED_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
