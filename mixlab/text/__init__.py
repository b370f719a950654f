"""Text -> tensors: tokenisation, T5 span corruption, encoder-decoder batches (padded or packed).

Pipeline::

    stream items {"task","index","inputs","targets"} | {"task","index","text"}
      -> Tokenizer.encode_batch          (one call per chunk of items)
      -> + EOS (supervised)  |  raw-length pieces -> span_corruption.span_corrupt (self-supervised)
      -> padding or greedy next-fit packing -> fixed-shape int32 batch dicts
      -> MixtureDataset (torch IterableDataset, sharded over ranks x DataLoader workers)

``mixlab.span_corruption`` is the ``span_corruption`` module (``span_corrupt``,
``corruption_lengths``, ``noise_mask``, ``reconstruct``). ``MixtureDataset`` imports torch on use.
"""

from __future__ import annotations

from typing import Any

from mixlab.text import span_corruption
from mixlab.text.batching import BatchConfig
from mixlab.text.pipeline import BatchIterator, batches
from mixlab.text.ragged import Ragged
from mixlab.text.span_corruption import corruption_lengths, reconstruct, span_corrupt
from mixlab.text.tokenizer import Tokenizer, load_tokenizer, train_sentencepiece

__all__ = [
    "BatchConfig", "BatchIterator", "MixtureDataset", "Ragged", "Tokenizer", "batches", "corruption_lengths",
    "load_tokenizer", "reconstruct", "span_corrupt", "span_corruption", "train_sentencepiece",
]


def __getattr__(name: str) -> Any:
    if name == "MixtureDataset":  # torch loads only when this is asked for
        from mixlab.text.dataset import MixtureDataset

        return MixtureDataset
    raise AttributeError(f"module 'mixlab.text' has no attribute {name!r}")
