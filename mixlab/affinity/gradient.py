"""Cheap task affinity from one multi-task run (TAG, Fifty et al. 2021), on a small proxy T5.

At each step ``s`` every task ``i`` takes a look-ahead SGD step on its own batch
(``θ'_i = θ - η ∇L_i(θ)``, done functionally: the model's weights are untouched), and for
every task ``j``::

    Z_s(i -> j) = 1 - L_j(θ'_i) / L_j(θ)          (positive: a step on i also lowers j's loss)

on j's batch of that step. The run then takes one real SGD step (rate ``lr``) on the mean of
all task losses. The affinity is ``Z(i -> j) = mean_s Z_s(i -> j)``. TAG looks ahead with
the run's own optimizer; mixlab uses plain SGD for both, so the measurement has no hidden
state. Torch is imported only when a function here runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from mixlab.errors import ConfigError

#: task name -> callable(step) -> {"input_ids", "labels", optional "attention_mask"} (torch tensors)
Batches = Mapping[str, Callable[[int], Mapping[str, Any]]]


def tiny_t5(*, vocab_size: int = 32, d_model: int = 32, num_layers: int = 2, seed: int = 0):
    """A tiny T5.1.1-style ``T5ForConditionalGeneration`` (gated-GELU, untied, no dropout), seeded.

    The caller's global torch RNG state is left as it was.
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    # Generic PretrainedConfig keys go through T5Config's **kwargs, which its signature does not list.
    generic: dict[str, Any] = {"tie_word_embeddings": False, "decoder_start_token_id": 0}
    config = T5Config(vocab_size=vocab_size, d_model=d_model, d_kv=d_model // 4, d_ff=2 * d_model,
                      num_layers=num_layers, num_decoder_layers=num_layers, num_heads=4,
                      feed_forward_proj="gated-gelu", dropout_rate=0.0, pad_token_id=0, eos_token_id=1, **generic)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # HF initialises weights from the global generator: fork it
        return T5ForConditionalGeneration(config)


def gradient_affinity(batches: Batches, *, model: Any = None, num_steps: int = 10, lookahead_lr: float = 0.1,
                      lr: float = 0.1, vocab_size: int = 32, seed: int = 0) -> nx.DiGraph:
    """Measure ``Z(i -> j)`` for every ordered task pair over ``num_steps`` steps (see the module doc).

    ``model`` defaults to :func:`tiny_t5` (``vocab_size``, ``seed``); a given model is trained in
    place. Returns the transfer-graph layout of :mod:`mixlab.affinity.graph` with one budget,
    ``"tag"``: edge ``score`` and ``gain["tag"]`` are ``Z``; node ``self_affinity`` is ``Z(i -> i)``.
    """
    import torch
    from torch.func import functional_call

    names = sorted(batches)
    if len(names) < 2:
        raise ConfigError(f"gradient affinity needs at least 2 tasks, got {names}")
    if num_steps < 1:
        raise ConfigError(f"num_steps={num_steps} must be >= 1")
    model = model if model is not None else tiny_t5(vocab_size=vocab_size, seed=seed)
    params = dict(model.named_parameters())
    total = np.zeros((len(names), len(names)))

    def loss(weights: dict[str, Any], batch: Mapping[str, Any]):
        return functional_call(model, weights, args=(), kwargs=dict(batch)).loss

    for step in range(num_steps):
        data = [batches[name](step) for name in names]
        losses = [loss(params, b) for b in data]  # one forward per task: its value and its gradient
        before = torch.stack(losses).detach()
        grads = []
        for i in range(len(data)):
            grad = torch.autograd.grad(losses[i], list(params.values()))
            grads.append(grad)
            ahead = {n: p.detach() - lookahead_lr * g for (n, p), g in zip(params.items(), grad, strict=True)}
            with torch.no_grad():
                after = torch.stack([loss(ahead, b) for b in data])
            total[i] += (1.0 - after / before).double().cpu().numpy()
        with torch.no_grad():  # the run's own step: SGD on the mean task loss
            for k, p in enumerate(params.values()):
                p -= lr * sum(g[k] for g in grads) / len(grads)
    return _graph(names, total / num_steps, num_steps=num_steps, lookahead_lr=lookahead_lr)


def _graph(names: list[str], affinity: np.ndarray, **meta: Any) -> nx.DiGraph:
    graph: nx.DiGraph = nx.DiGraph(kind="gradient", budgets=["tag"], baseline="tag", **meta)
    for i, name in enumerate(names):
        graph.add_node(name, baseline={}, self_affinity=float(affinity[i, i]))
    for i, source in enumerate(names):
        for j, target in enumerate(names):
            if i != j:
                value = float(affinity[i, j])
                graph.add_edge(source, target, score=value, gain={"tag": value})
    return graph
