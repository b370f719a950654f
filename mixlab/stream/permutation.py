"""A keyed permutation of ``[0, n)`` for every element of an array: the stream's per-epoch shuffle.

A Feistel network over ``bits = bit_length(n - 1)`` bits, split into a left half of
``bits // 2`` bits and a right half of the rest; ``_FEISTEL_ROUNDS`` alternating rounds each XOR
one half with splitmix64's finaliser of the other half, the key and the round number (every
round is a bijection, so any split works). Cycle-walking maps the result back into ``[0, n)``:
the domain ``2**bits`` is less than ``2 * n``, so an element takes under two rounds of walking on
average. O(1) memory whatever ``n``, exact integer arithmetic, the same result on every machine.
Vectorised with numpy; the last few elements of a long cycle-walk go on in plain Python (same
arithmetic), where numpy's per-call cost would dominate.
"""

from __future__ import annotations

import numpy as np

_FEISTEL_ROUNDS = 4  # alternating: 2 rounds rewrite each half (Luby-Rackoff: 4 rounds suffice)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_ROUND_CONSTANTS = [np.uint64((r + 1) * _GOLDEN & ((1 << 64) - 1)) for r in range(_FEISTEL_ROUNDS)]
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_ONE = np.uint64(1)
_MASK64 = (1 << 64) - 1
SCALAR_TAIL = 32  # cycle-walking goes on in plain Python once at most this many elements are left


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: a bijective 64-bit mixer (wrapping arithmetic)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _feistel(x: np.ndarray, bits: np.ndarray, key: np.ndarray) -> np.ndarray:
    right_bits = bits - (bits >> _ONE)
    right_mask = (_ONE << right_bits) - _ONE
    left_mask = (_ONE << (bits - right_bits)) - _ONE
    left, right = x >> right_bits, x & right_mask
    for r, constant in enumerate(_ROUND_CONSTANTS):
        source, target, mask = (right, left, left_mask) if r % 2 == 0 else (left, right, right_mask)
        mixed = source ^ key
        mixed += constant
        mixed = _mix64(mixed)
        mixed &= mask
        target ^= mixed
    left <<= right_bits
    left |= right
    return left


def domain_bits(n: np.ndarray) -> np.ndarray:
    """``bit_length(n - 1)`` for every size ``n >= 1``: the permutation's domain is ``[0, 2**bits)``."""
    return np.array([max(int(x) - 1, 0).bit_length() for x in np.ravel(n)], dtype=np.uint64).reshape(np.shape(n))


def permute(offset: np.ndarray, n: np.ndarray, bits: np.ndarray, keys: np.ndarray,
            epoch: np.ndarray) -> np.ndarray:
    """``permutation_{key, epoch}(offset)`` over ``[0, n)`` for every element (a keyed bijection).

    ``bits`` is :func:`domain_bits` of ``n``; all arrays are ``uint64`` of one shape.
    """
    with np.errstate(over="ignore"):
        epoch_key = epoch * np.uint64(_GOLDEN)
        epoch_key ^= keys
        epoch_key = _mix64(epoch_key)
        out = _feistel(offset, bits, epoch_key)
        outside = np.flatnonzero(out >= n)
        # cycle-walking: re-encrypt until inside [0, n); under 2 rounds on average, but the slowest of
        # thousands takes ~20, so the last few elements walk in plain Python (same integer arithmetic)
        while outside.size > SCALAR_TAIL:
            out[outside] = _feistel(out[outside], bits[outside], epoch_key[outside])
            outside = outside[out[outside] >= n[outside]]
    for i in outside.tolist():
        bits_i, size, key_i, value = int(bits[i]), int(n[i]), int(epoch_key[i]), int(out[i])
        while value >= size:
            value = _feistel_int(value, bits_i, key_i)
        out[i] = value
    return out


def _mix64_int(z: int) -> int:
    """:func:`_mix64` on one Python int."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _feistel_int(x: int, bits: int, key: int) -> int:
    """:func:`_feistel` on one Python int."""
    right_bits = bits - (bits >> 1)
    right_mask, left_mask = (1 << right_bits) - 1, (1 << (bits - right_bits)) - 1
    left, right = x >> right_bits, x & right_mask
    for r, constant in enumerate(_ROUND_CONSTANTS):
        if r % 2 == 0:
            left ^= _mix64_int(((right ^ key) + int(constant)) & _MASK64) & left_mask
        else:
            right ^= _mix64_int(((left ^ key) + int(constant)) & _MASK64) & right_mask
    return (left << right_bits) | right


__all__ = ["SCALAR_TAIL", "domain_bits", "permute"]
