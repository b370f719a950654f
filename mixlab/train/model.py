"""T5.1.1 models and a packed forward pass driven by segment ids.

``build_model`` makes a HF ``T5ForConditionalGeneration`` with T5.1.1's shape (gated-GELU, no
dropout in pre-training, input embeddings shared by encoder and decoder, an untied output layer
and no ``d_model**-0.5`` rescale before it). transformers 5.x forces ``tie_word_embeddings`` back to
True inside ``T5Config``; ``build_model`` unties the output layer itself and initialises it like
t5x (normal, std ``d_model**-0.5``) so the first loss is close to ``log(vocab)``.

``PackedT5`` runs ``model.encoder``, ``model.decoder`` and ``model.lm_head`` with 4D additive masks
built from segment ids, so packed examples never attend to each other (``T5ForConditionalGeneration
.forward`` would reuse the encoder padding mask for cross-attention).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: T5.1.1 shapes: d_model, d_ff, num_heads, d_kv, encoder layers, decoder layers
PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(d_model=64, d_ff=128, num_heads=4, d_kv=16, num_layers=2, num_decoder_layers=2),
    "small": dict(d_model=512, d_ff=1024, num_heads=6, d_kv=64, num_layers=8, num_decoder_layers=8),
    "base": dict(d_model=768, d_ff=2048, num_heads=12, d_kv=64, num_layers=12, num_decoder_layers=12),
    "large": dict(d_model=1024, d_ff=2816, num_heads=16, d_kv=64, num_layers=24, num_decoder_layers=24),
    "xl": dict(d_model=2048, d_ff=5120, num_heads=32, d_kv=64, num_layers=24, num_decoder_layers=24),
    "xxl": dict(d_model=4096, d_ff=10240, num_heads=64, d_kv=64, num_layers=24, num_decoder_layers=24),
}
T5_VOCAB_SIZE = 32128


def build_model(shape: dict[str, int], vocab_size: int, *, seed: int, dropout_rate: float = 0.0):
    """A freshly initialised T5.1.1 ``T5ForConditionalGeneration`` (weights drawn from ``seed``)."""
    from transformers import T5Config, T5ForConditionalGeneration

    # one Any-typed dict: T5Config takes some of these only through **kwargs, and they differ in type
    settings: dict[str, Any] = dict(shape, tie_word_embeddings=False, decoder_start_token_id=0)
    config = T5Config(vocab_size=vocab_size, feed_forward_proj="gated-gelu", dropout_rate=dropout_rate,
                      pad_token_id=0, eos_token_id=1, **settings)
    config.tie_word_embeddings = False  # T5Config forces True; T5.1.1 has a separate output layer
    with torch.random.fork_rng(devices=[]):  # HF initialises from the global RNG: seed it, then restore it
        torch.manual_seed(seed)
        model = T5ForConditionalGeneration(config)
        with torch.no_grad():
            model.lm_head.weight.normal_(0.0, shape["d_model"] ** -0.5)
    # untying dropped the encoder/decoder input-embedding sharing too: restore it
    model.encoder.set_input_embeddings(model.shared)
    model.decoder.set_input_embeddings(model.shared)
    assert not config.scale_decoder_outputs
    return model


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, Q, K] bool -> [B, 1, Q, K] additive mask (0 where allowed, dtype min where not)."""
    zero = torch.zeros((), dtype=dtype, device=allowed.device)
    blocked = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=allowed.device)
    return torch.where(allowed, zero, blocked).unsqueeze(1)


def segment_masks(encoder_segment_ids: torch.Tensor, decoder_segment_ids: torch.Tensor,
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoder self, decoder self (causal) and cross-attention masks from segment ids (0 = pad)."""
    enc_q, enc_k = encoder_segment_ids.unsqueeze(2), encoder_segment_ids.unsqueeze(1)
    dec_q, dec_k = decoder_segment_ids.unsqueeze(2), decoder_segment_ids.unsqueeze(1)
    length = decoder_segment_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=decoder_segment_ids.device).tril()
    encoder = (enc_q == enc_k) & (enc_k > 0)
    decoder = (dec_q == dec_k) & (dec_k > 0) & causal
    cross = (dec_q == enc_k) & (enc_k > 0)
    return _additive(encoder, dtype), _additive(decoder, dtype), _additive(cross, dtype)


class PackedT5(nn.Module):
    """Wraps a ``T5ForConditionalGeneration``; ``forward`` returns logits [B, Lt, V] for a batch
    in mixlab's format (only the id and segment-id tensors are read)."""

    def __init__(self, t5: nn.Module) -> None:
        super().__init__()
        self.t5 = t5

    def forward(self, input_ids: torch.Tensor, encoder_segment_ids: torch.Tensor,
                decoder_input_ids: torch.Tensor, decoder_segment_ids: torch.Tensor) -> torch.Tensor:
        t5: Any = self.t5  # a T5ForConditionalGeneration: its submodules are not typed through nn.Module
        dtype = t5.shared.weight.dtype
        enc_mask, dec_mask, cross_mask = segment_masks(encoder_segment_ids, decoder_segment_ids, dtype)
        hidden = t5.encoder(input_ids=input_ids, attention_mask=enc_mask).last_hidden_state
        out = t5.decoder(input_ids=decoder_input_ids, attention_mask=dec_mask, encoder_hidden_states=hidden,
                         encoder_attention_mask=cross_mask, use_cache=False).last_hidden_state
        if t5.config.scale_decoder_outputs:  # never for T5.1.1; kept for models loaded from elsewhere
            out = out * (t5.config.d_model ** -0.5)
        return t5.lm_head(out)


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (shared embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())
