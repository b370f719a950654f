"""The ExT5 recipe on any mixlab backend: T5.1.1, Adafactor, rsqrt schedule, packed batches.

```
PretrainConfig -> train(): mixture stream -> mixlab.text.batches -> Backend (torch | xla)
                  PackedT5 (segment masks) -> loss (per task, z-loss, Muppet) -> Adafactor
                  -> metrics.jsonl, checkpoints/step_XXXXXXX (atomic, verified), --resume
```

>>> import mixlab                                                    # doctest: +SKIP
>>> mixlab.pretrain(mixlab.PretrainConfig.from_file("ext5.yaml"))    # doctest: +SKIP

``mixlab.pretrain`` is this package's :func:`train`.
"""

from __future__ import annotations

from mixlab.train.adafactor import Adafactor
from mixlab.train.checkpoint import CheckpointManager, resolve_checkpoint
from mixlab.train.config import BackendSpec, ModelSpec, PretrainConfig
from mixlab.train.data import BatchSource, MixtureBatches, Prefetcher, SyntheticBatches
from mixlab.train.data_factory import build_data, resolve_mixture
from mixlab.train.loop import Trainer, TrainResult, train
from mixlab.train.loss import compute_loss, muppet_weights
from mixlab.train.metrics import read_metrics
from mixlab.train.model import PRESETS, PackedT5, build_model, segment_masks
from mixlab.train.schedule import RsqrtSchedule

__all__ = [
    "PRESETS", "Adafactor", "BackendSpec", "BatchSource", "CheckpointManager", "MixtureBatches", "ModelSpec",
    "PackedT5", "Prefetcher", "PretrainConfig", "RsqrtSchedule", "SyntheticBatches", "TrainResult", "Trainer",
    "build_data", "build_model", "compute_loss", "muppet_weights", "read_metrics", "resolve_checkpoint",
    "resolve_mixture", "segment_masks", "train",
]

