"""Load a trained model for decoding: a run folder or one checkpoint folder -> model, tokenizer, config.

```
RUN_DIR | RUN_DIR/checkpoints/step_XXXXXXX | RUN_DIR/best (mixlab.finetune)
   -> resolve_checkpoint (newest good one)   -> RUN_DIR/config.yaml (PretrainConfig: shape, tokenizer)
   -> build_model + model.pt (weights only)  -> LoadedModel(model in eval mode, tokenizer, config, step)
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlab.errors import CheckpointError, ConfigError
from mixlab.run_folder import CHECKPOINT_MANIFEST, CONFIG

#: how many folders above a checkpoint folder are searched for the run's config.yaml
_CONFIG_DEPTH = 3


@dataclass(frozen=True, kw_only=True)
class LoadedModel:
    """A checkpoint ready to decode: the HF T5 model (eval mode), its tokenizer and training config."""

    model: Any  # transformers.T5ForConditionalGeneration
    tokenizer: Any  # mixlab.text.Tokenizer
    config: Any  # mixlab.train.PretrainConfig
    run_dir: Path
    checkpoint: Path
    step: int


def find_run_dir(checkpoint: Path) -> Path:
    """The run folder of ``checkpoint``: the nearest folder at or above it holding ``config.yaml``."""
    for folder in [checkpoint, *checkpoint.parents][:_CONFIG_DEPTH + 1]:
        if (folder / CONFIG).is_file():
            return folder
    raise ConfigError(f"checkpoint {str(checkpoint)!r}: no {CONFIG} in it or the {_CONFIG_DEPTH} folders above; "
                      f"fix: give a run folder that mixlab train wrote (it holds {CONFIG}), or one of its "
                      "checkpoints/step_* folders")


def checkpoint_step(checkpoint: Path) -> int:
    """The step recorded in the checkpoint's manifest."""
    try:
        return int(json.loads((checkpoint / CHECKPOINT_MANIFEST).read_text(encoding="utf-8"))["step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {str(checkpoint)!r}: no readable step in {CHECKPOINT_MANIFEST} "
                              f"({exc.__class__.__name__}: {exc}); fix: give a complete checkpoint folder") from exc


def load_model(path: str | Path, *, device: Any = "cpu") -> LoadedModel:
    """The model of ``path`` (a run folder, its newest good checkpoint, or a checkpoint folder) on ``device``.

    Only ``model.pt`` is read (the weights); the model's shape and tokenizer come from the run's
    ``config.yaml``. A run trained on synthetic data has no tokenizer and cannot be decoded to text.
    """
    import torch

    from mixlab.text import load_tokenizer
    from mixlab.train.checkpoint import resolve_checkpoint
    from mixlab.train.config import PretrainConfig
    from mixlab.train.model import build_model

    checkpoint = resolve_checkpoint(path)
    run_dir = find_run_dir(checkpoint)
    config = PretrainConfig.from_file(run_dir / CONFIG)
    if config.tokenizer is None:
        raise ConfigError(f"run {str(run_dir)!r} has no tokenizer in its {CONFIG} (data {config.data!r}), so its "
                          "outputs cannot be decoded to text; fix: evaluate a run trained on a mixture with a "
                          "tokenizer")
    tokenizer = load_tokenizer(config.tokenizer)
    vocab_size = config.model.vocab_size or tokenizer.vocab_size
    model = build_model(config.model.shape, vocab_size, seed=0)
    state = torch.load(checkpoint / "model.pt", map_location="cpu", weights_only=True)
    state = {k.removeprefix("t5."): v for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} does not fit the model its {CONFIG} describes "
                              f"({config.model.preset!r}, vocab {vocab_size}): {str(exc)[:300]}; fix: give the "
                              "checkpoint of this run") from exc
    model.to(device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, config=config, run_dir=run_dir, checkpoint=checkpoint,
                       step=checkpoint_step(checkpoint))


def resolve_device(device: Any = "auto") -> Any:
    """``"auto"``: the first CUDA device when there is one, else the CPU; anything else as ``torch.device``."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device) if isinstance(device, str) else device
