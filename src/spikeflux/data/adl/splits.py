"""Chronological splits and windows of the encoded arrays.

:func:`split_subject` gives the chronological 60/20/20 train/validation/test slices of a
subject (no shuffling) and :func:`windows` cuts non-overlapping windows of 900 steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["split_arrays", "split_subject", "windows"]


def _boundaries(n: int, fractions: Sequence[float]) -> list[int]:
    """Cut points ``floor(cumulative fraction * n)``, computed exactly from the decimals given."""
    exact = [Fraction(repr(float(f))) for f in fractions]
    if any(f < 0 for f in exact) or abs(float(sum(exact)) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {tuple(fractions)}")
    cuts, total = [0], Fraction(0)
    for f in exact[:-1]:
        total += f
        cuts.append(int(total * n // 1))
    cuts.append(n)
    return cuts


def split_arrays(
    x: np.ndarray, y: np.ndarray, fractions: Sequence[float] = (0.6, 0.2, 0.2)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chronological train/val/test slices (views) of ``x`` and ``y``.

    Boundaries are ``floor(0.6 n)`` and ``floor(0.8 n)`` for the default fractions.
    """
    if len(fractions) != 3:
        raise ValueError("expected three fractions (train, val, test)")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    cuts = _boundaries(len(y), fractions)
    return {
        part: (x[lo:hi], y[lo:hi])
        for part, lo, hi in zip(("train", "val", "test"), cuts, cuts[1:])
    }


def split_subject(
    subject, fractions: Sequence[float] = (0.6, 0.2, 0.2)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chronological split of a :class:`~.subject.Subject` (anything with ``x`` and ``y``): ``{"train": (x, y), ...}``.

    Contiguous slices in time order (no shuffling); boundaries ``floor(fraction * n)``,
    cumulative.
    """
    return split_arrays(subject.x, subject.y, fractions)


def windows(
    x: np.ndarray, y: np.ndarray, length: int = 900
) -> tuple[np.ndarray, np.ndarray, int]:
    """Non-overlapping windows of ``length`` steps.

    Returns
    -------
    xw : ndarray, shape (n_windows, length, n_inputs)
    yw : ndarray, shape (n_windows, length)
    dropped : int
        Steps at the end that did not fill a window (``len(y) % length``).
    """
    if length <= 0:
        raise ValueError(f"window length must be positive, got {length}")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    count = len(y) // length
    used = count * length
    xw = x[:used].reshape(count, length, *x.shape[1:])
    yw = y[:used].reshape(count, length)
    return xw, yw, len(y) - used

