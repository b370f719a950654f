"""What a run's config leaves open, resolved: the model's shape and vocabulary, its parameter count, and R.

``config.yaml`` is the config as given, so ``model.d_model: null`` means "the preset's" and ``R: null``
"the mixture's own". The report shows the values the run used instead, each with where it came from:

```
env.json "model" / "num_parameters"      (recorded by mixlab.train when the run started)  first
config model.preset + overrides -> mixlab.train.model.PRESETS  (torch installed)          else
mixture_manifest.json spec "rmix" -> R;  self-supervised leaves -> their share of examples
t5_parameter_count(shape, vocab)          T5.1.1 count (untied output layer, gated-GELU)  when not recorded
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mixlab.report.curves import number
from mixlab.run_folder import Run
from mixlab.samplers.plot import is_self_supervised

#: the dimensions of a T5.1.1 shape, as ``PretrainConfig.model`` names them
SHAPE_KEYS = ("d_model", "d_ff", "num_heads", "d_kv", "num_layers", "num_decoder_layers")
#: T5's relative-position buckets (one bias table per stack, in its first layer)
NUM_BUCKETS = 32
#: the vocabulary mixlab.train uses when neither model.vocab_size nor a tokenizer is given
T5_VOCAB_SIZE = 32128


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """Resolved settings: dotted config key -> (value, where it came from); and the parameter count."""

    values: dict[str, tuple[Any, str]] = field(default_factory=dict)
    num_parameters: int | None = None
    parameters_source: str = ""

    def shown(self, key: str, given: Any) -> str | None:
        """The table text for ``key`` when the config gives ``given`` (``None``: show ``given`` as it is)."""
        if key not in self.values or given is not None:
            return None
        value, source = self.values[key]
        text = f"{value:,}" if isinstance(value, int) else f"{value:g}" if isinstance(value, float) else str(value)
        return f"{text} ({source})"


def t5_parameter_count(shape: Mapping[str, int], vocab_size: int, *, num_buckets: int = NUM_BUCKETS) -> int:
    """Parameters of mixlab's T5.1.1: shared input embedding, encoder and decoder stacks (gated-GELU feed-forward,
    no biases, RMS norms with a scale only, a relative-position bias in each stack's first layer), untied output.

    >>> t5_parameter_count({"d_model": 768, "d_ff": 2048, "num_heads": 12, "d_kv": 64, "num_layers": 12,
    ...                     "num_decoder_layers": 12}, 32128)  # T5.1.1-base: 248M
    247577856
    """
    d_model, d_ff = shape["d_model"], shape["d_ff"]
    attention = 4 * d_model * shape["num_heads"] * shape["d_kv"]  # q, k, v, o
    feed_forward = 3 * d_model * d_ff  # wi_0, wi_1, wo
    encoder = shape["num_layers"] * (attention + feed_forward + 2 * d_model) + d_model
    decoder = shape["num_decoder_layers"] * (2 * attention + feed_forward + 3 * d_model) + d_model
    position_bias = 2 * num_buckets * shape["num_heads"]
    return 2 * vocab_size * d_model + encoder + decoder + position_bias


def fmt_count(num: int) -> str:
    """``1234567`` -> ``"1.23M"`` (k, M, B)."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if num >= size:
            return f"{num / size:.3g}{unit}"
    return str(num)


def resolve(run: Run) -> Resolved:
    """The run's resolved model shape, vocabulary, parameter count and R (see the module docstring)."""
    config = run.config or {}
    env = run.env or {}
    values: dict[str, tuple[Any, str]] = {}
    model = config.get("model")
    recorded = env.get("model") if isinstance(env.get("model"), Mapping) else None
    shape: dict[str, int] | None = None
    if recorded and all(isinstance(recorded.get(k), int) for k in SHAPE_KEYS):
        shape = {k: recorded[k] for k in SHAPE_KEYS}
        values.update({f"model.{k}": (shape[k], "recorded by the trainer") for k in SHAPE_KEYS})
    elif isinstance(model, Mapping) and isinstance(model.get("preset"), str):
        preset = _preset(model["preset"])
        if preset is not None:
            shape = {k: model[k] if isinstance(model.get(k), int) else preset[k] for k in SHAPE_KEYS}
            values.update({f"model.{k}": (shape[k], f"preset {model['preset']!r}") for k in SHAPE_KEYS})
    vocab = _vocab(config, recorded)
    if vocab is not None:
        values["model.vocab_size"] = vocab
    values.update(_mixture_values(run, config))
    count, source = _parameters(env, shape, vocab)
    return Resolved(values=values, num_parameters=count, parameters_source=source)


def _preset(name: str) -> dict[str, int] | None:
    try:
        from mixlab.train.model import PRESETS
    except ImportError:  # torch is not installed here: the shape is shown only when the run recorded it
        return None
    return PRESETS.get(name)


def _vocab(config: Mapping[str, Any], recorded: Mapping[str, Any] | None) -> tuple[int, str] | None:
    if recorded and isinstance(recorded.get("vocab_size"), int):
        return recorded["vocab_size"], "recorded by the trainer"
    model = config.get("model")
    if isinstance(model, Mapping) and isinstance(model.get("vocab_size"), int):
        return model["vocab_size"], "set in the config"
    if isinstance(model, Mapping) and "tokenizer" in config and config.get("tokenizer") is None:
        return T5_VOCAB_SIZE, "T5's vocabulary: no tokenizer given"
    return None


def _parameters(env: Mapping[str, Any], shape: dict[str, int] | None,
                vocab: tuple[int, str] | None) -> tuple[int | None, str]:
    recorded = env.get("num_parameters")
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        return recorded, "counted by the trainer"
    if shape is not None and vocab is not None:
        return t5_parameter_count(shape, vocab[0]), "T5.1.1 formula from the resolved shape and vocabulary"
    return None, ""


def _mixture_values(run: Run, config: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """``R`` and the self-supervised share of examples."""
    out: dict[str, tuple[Any, str]] = {}
    manifest = run.manifest or {}
    own = find_r(manifest.get("spec"))
    name = manifest.get("name") or config.get("mixture")
    if config.get("data") == "synthetic":
        out["R"] = ("not used", "synthetic data")
    elif number(config.get("R")) is None and own is not None:
        out["R"] = (own, f"mixture {name!s}'s own")
    elif number(config.get("R")) is None and manifest:
        out["R"] = ("none", f"mixture {name!s} has no rmix part")
    tasks = manifest.get("tasks")
    if isinstance(tasks, list) and tasks:
        share = sum(number(t.get("rate")) or 0.0 for t in tasks if isinstance(t, Mapping) and is_self_supervised(t))
        out["self-supervised share"] = (f"{100 * share:.1f}% of examples", "sum of the self-supervised tasks' rates")
    return out


def find_r(spec: Any) -> float | None:
    """The ``R`` of the first ``rmix`` in a (nested) mixture spec, else ``None``.

    >>> find_r({"name": "m", "rmix": {"self_supervised": "c4", "supervised": "exmix", "R": 2.0}})
    2.0
    """
    if isinstance(spec, Mapping):
        rmix = spec.get("rmix")
        if isinstance(rmix, Mapping) and number(rmix.get("R")) is not None:
            return number(rmix.get("R"))
        values = list(spec.values())
    elif isinstance(spec, list):
        values = spec
    else:
        return None
    return next((r for r in map(find_r, values) if r is not None), None)
