"""Batched decoding for encoder-decoder T5 models: greedy with a key/value cache, or beam search.

```
texts --encode_inputs (ids + EOS, cut to max_input_length)--> rows --sorted by length, batches of batch_size
   --> pad --> encoder once --> decoder one token a step, self- and cross-attention k/v cached
       (greedy_decode: finished rows leave the batch; beam_decode: HF generate(num_beams=k))
   --> ids up to EOS --> tokenizer.decode --> texts, in the input order
```

``greedy_decode`` is mixlab's own loop: the encoder runs once, each step feeds one token per row
through ``model.decoder`` with an ``EncoderDecoderCache`` (the cross-attention keys and values are
computed at the first step and reused), and a row that wrote EOS is dropped from the batch (its
cache rows too), so short answers stop costing compute. Its tokens equal HF ``generate``'s greedy
ones (tested). ``beam_decode`` calls HF ``generate(num_beams=k)`` (``length_penalty`` 1.0, no early
stopping: HF's defaults).

Devices: the CPU and CUDA (any ``torch.device``). On an XLA device the greedy loop runs but every step
has a new cache length, so XLA compiles a graph per step and per batch shape (slow; no static cache
here), and each step's "all done?" check syncs with the host.

>>> import torch
>>> from mixlab.train.model import build_model
>>> model = build_model({"d_model": 16, "d_ff": 32, "num_heads": 2, "d_kv": 8, "num_layers": 1,
...                      "num_decoder_layers": 1}, 40, seed=0).eval()
>>> ids, mask = pad_rows([[5, 6, 7, 1], [9, 1]])
>>> [len(row) <= 4 for row in greedy_decode(model, ids, mask, max_length=4)]
[True, True]
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

PAD_ID, EOS_ID = 0, 1


def encode_inputs(tokenizer: Any, texts: Sequence[str], max_input_length: int | None = None) -> list[np.ndarray]:
    """Token ids of each text followed by EOS, cut to ``max_input_length`` tokens (EOS kept last)."""
    rows = tokenizer.encode_batch(list(texts))
    out = []
    for row in rows:
        if max_input_length is not None and len(row) + 1 > max_input_length:
            row = row[: max_input_length - 1]
        out.append(np.append(row, tokenizer.eos_id).astype(np.int64))
    return out


def pad_rows(rows: Sequence[Sequence[int] | np.ndarray], device: Any = None) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` int64 tensors of ``rows`` right-padded with 0."""
    import torch

    width = max((len(r) for r in rows), default=1)
    ids = np.zeros((len(rows), max(width, 1)), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    input_ids = torch.from_numpy(ids)
    mask = (input_ids != PAD_ID).long()
    mask[:, 0] = 1  # an empty row still attends to one position (never produced by encode_inputs)
    return input_ids.to(device), mask.to(device)


def _hf_model(model: Any) -> Any:
    """The ``T5ForConditionalGeneration`` inside ``model`` (itself, a ``PackedT5``, or a DDP/compile wrapper)."""
    for attr in ("_orig_mod", "module", "t5"):
        model = getattr(model, attr, model)
    return model


def greedy_decode(model: Any, input_ids: Any, attention_mask: Any, *, max_length: int,
                  eos_id: int = EOS_ID) -> list[list[int]]:
    """Greedy token ids of each row, without the start token and cut before EOS (at most ``max_length``).

    ``model`` is a ``T5ForConditionalGeneration`` (or a ``PackedT5`` around one) in eval mode; the
    inputs are padded on the right (``pad_rows``).
    """
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    t5 = _hf_model(model)
    if max_length < 1:
        raise ValueError(f"greedy_decode: max_length must be >= 1, got {max_length}")
    batch = input_ids.shape[0]
    out = torch.zeros((batch, max_length), dtype=torch.long, device=input_ids.device)
    lengths = torch.full((batch,), max_length, dtype=torch.long, device=input_ids.device)
    with torch.no_grad():  # not inference_mode: its tensors break torch-xla
        hidden = t5.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())  # config=... would deep-copy it each call
        rows = torch.arange(batch, device=input_ids.device)  # original row of each live row
        tokens = torch.full((batch, 1), t5.config.decoder_start_token_id, dtype=torch.long, device=input_ids.device)
        mask = attention_mask
        scale = t5.config.d_model ** -0.5 if t5.config.scale_decoder_outputs else None
        for step in range(max_length):
            state = t5.decoder(input_ids=tokens, encoder_hidden_states=hidden, encoder_attention_mask=mask,
                               cache=cache, use_cache=True).last_hidden_state[:, -1]
            logits = t5.lm_head(state if scale is None else state * scale)
            chosen = logits.argmax(-1)
            out[rows, step] = chosen
            done = chosen == eos_id
            if bool(done.any()):  # one host sync a step, as generate's stopping check
                lengths[rows[done]] = step
                keep = torch.nonzero(~done).squeeze(1)
                if keep.numel() == 0:
                    break
                rows, chosen, hidden, mask = rows[keep], chosen[keep], hidden[keep], mask[keep]
                cache.batch_select_indices(keep)
            tokens = chosen[:, None]
    host = out.cpu().numpy()
    return [host[i, : int(n)].tolist() for i, n in enumerate(lengths.cpu().tolist())]


def beam_decode(model: Any, input_ids: Any, attention_mask: Any, *, max_length: int, num_beams: int,
                length_penalty: float = 1.0, eos_id: int = EOS_ID) -> list[list[int]]:
    """Beam-search token ids of each row (HF ``generate``), without the start token, cut before EOS."""
    import torch

    if num_beams < 1:
        raise ValueError(f"beam_decode: num_beams must be >= 1, got {num_beams}")
    t5 = _hf_model(model)
    with torch.no_grad():  # not inference_mode: its tensors break torch-xla
        generated = t5.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_length,
                                num_beams=num_beams, do_sample=False, length_penalty=length_penalty,
                                eos_token_id=eos_id, pad_token_id=PAD_ID)
    return [_cut(row, eos_id) for row in generated[:, 1:].cpu().numpy()]


def _cut(row: np.ndarray, eos_id: int) -> list[int]:
    ends = np.flatnonzero(row == eos_id)
    return row[: ends[0] if len(ends) else len(row)].tolist()


def generate(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int = 32,
             num_beams: int = 1, max_input_length: int | None = None, device: Any = None,
             autocast: Any = None, progress: Any = None) -> list[str]:
    """Decoded outputs of ``texts`` in their order: batches of similar length, greedy or beam search.

    ``autocast`` is a context manager factory (e.g. a backend's ``autocast``) entered around each
    batch; ``progress`` an object with ``update(n)`` (a tqdm bar) told each batch's size.
    """
    if batch_size < 1:
        raise ValueError(f"generate: batch_size must be >= 1, got {batch_size}")
    rows = encode_inputs(tokenizer, texts, max_input_length)
    order = np.argsort([-len(r) for r in rows], kind="stable")  # longest first: similar lengths share a batch
    if device is None:
        device = next(_hf_model(model).parameters()).device
    outputs: list[str] = [""] * len(rows)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        input_ids, mask = pad_rows([rows[i] for i in chunk], device)
        with autocast() if autocast is not None else contextlib.nullcontext():
            if num_beams == 1:
                ids = greedy_decode(model, input_ids, mask, max_length=max_length, eos_id=tokenizer.eos_id)
            else:
                ids = beam_decode(model, input_ids, mask, max_length=max_length, num_beams=num_beams,
                                  eos_id=tokenizer.eos_id)
        for i, row in zip(chunk, ids, strict=True):
            outputs[i] = tokenizer.decode(row)
        if progress is not None:
            progress.update(len(chunk))
    return outputs


__all__ = ["EOS_ID", "PAD_ID", "beam_decode", "encode_inputs", "generate", "greedy_decode", "pad_rows"]
