"""Synthetic sweeps whose true law is known: losses from a Data Mixing Law with fixed t_ij plus noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

NAMES = ("cls", "dlg", "nli", "qa", "sum")
#: true exponents t_ij (rows: targets, columns: sources NAMES), centred over sources
T_TRUE = np.array([
    [-1.6, 0.4, -0.6, 0.9, 0.9],    # target cls: helped by cls, then nli
    [0.5, -1.4, 0.2, -0.3, 1.0],    # target nli... named below
    [0.3, 0.6, -1.2, 0.8, -0.5],
])
T_TRUE = T_TRUE - T_TRUE.mean(axis=1, keepdims=True)
TARGETS = ("loss:cls", "loss:dlg", "loss:nli")
C_TRUE, K_TRUE = np.array([2.0, 2.5, 1.5]), np.array([1.0, 0.8, 1.2])


def make_sweep(num_runs: int = 64, *, noise: float = 0.01, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RegMix-style Dirichlet mixtures over NAMES and their three target losses under the true law."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(len(NAMES), 0.7), size=num_runs)
    clean = C_TRUE + K_TRUE * np.exp(weights @ T_TRUE.T)
    losses = clean + rng.normal(0.0, noise, clean.shape)
    return pd.DataFrame(weights, columns=list(NAMES)), pd.DataFrame(losses, columns=list(TARGETS))


def true_loss(weights: np.ndarray) -> np.ndarray:
    return C_TRUE + K_TRUE * np.exp(np.asarray(weights) @ T_TRUE.T)


@pytest.fixture
def sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_sweep()
