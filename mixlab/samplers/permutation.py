"""A keyed permutation of ``[0, n)`` for every element of an array: the stream's per-epoch shuffle.

A balanced Feistel network (``_FEISTEL_ROUNDS`` rounds of splitmix64's finaliser) over
``2 * half_bits`` bits, with cycle-walking back into ``[0, n)``: O(1) memory whatever ``n``, exact
integer arithmetic, the same result on every machine. Vectorised with numpy; the last few elements
of a long cycle-walk go on in plain Python (same arithmetic), where numpy's per-call cost would
dominate.
"""

from __future__ import annotations

import numpy as np

_FEISTEL_ROUNDS = 6
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_MASK64 = (1 << 64) - 1
SCALAR_TAIL = 32  # cycle-walking goes on in plain Python once at most this many elements are left


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective 64-bit mixer (wrapping arithmetic); ``z`` is left alone."""
    return _mix64_inplace(z.copy())


def _mix64_inplace(z: np.ndarray) -> np.ndarray:
    """:func:`_mix64`, overwriting ``z`` (fewer temporaries: this is the permutation's inner loop)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _feistel(x: np.ndarray, half_bits: np.ndarray, round_keys: list[np.ndarray]) -> np.ndarray:
    mask = (np.uint64(1) << half_bits) - np.uint64(1)
    left, right = x >> half_bits, x & mask
    for key in round_keys:
        mixed = _mix64_inplace(right ^ key)
        mixed &= mask
        mixed ^= left
        left, right = right, mixed
    left <<= half_bits
    left |= right
    return left


def permute(offset: np.ndarray, n: np.ndarray, half_bits: np.ndarray, keys: np.ndarray,
             epoch: np.ndarray) -> np.ndarray:
    """``permutation_{key, epoch}(offset)`` over ``[0, n)`` for every element (a keyed bijection)."""
    with np.errstate(over="ignore"):
        epoch_key = _mix64(keys ^ _mix64(epoch * _GOLDEN + np.uint64(1)))
        round_keys = [epoch_key + np.uint64(r) * _GOLDEN for r in range(_FEISTEL_ROUNDS)]  # F mixes them
        out = _feistel(offset, half_bits, round_keys)
        outside = np.flatnonzero(out >= n)
        # cycle-walking: re-encrypt until inside [0, n); a few rounds on average, but the slowest of
        # thousands takes ~30, so the last few elements walk in plain Python (same integer arithmetic)
        while outside.size > SCALAR_TAIL:
            out[outside] = _feistel(out[outside], half_bits[outside], [k[outside] for k in round_keys])
            outside = outside[out[outside] >= n[outside]]
    for i in outside.tolist():
        keys_i = [int(k[i]) for k in round_keys]
        bits, size, value = int(half_bits[i]), int(n[i]), int(out[i])
        while value >= size:
            value = _feistel_int(value, bits, keys_i)
        out[i] = value
    return out


def _mix64_int(z: int) -> int:
    """:func:`_mix64` on one Python int."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _feistel_int(x: int, half_bits: int, round_keys: list[int]) -> int:
    """:func:`_feistel` on one Python int."""
    mask = (1 << half_bits) - 1
    left, right = x >> half_bits, x & mask
    for key in round_keys:
        left, right = right, left ^ (_mix64_int(right ^ key) & mask)
    return (left << half_bits) | right


__all__ = ["SCALAR_TAIL", "permute"]
