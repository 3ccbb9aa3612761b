r"""Spike encodings of real-valued time series.

Delta modulation (the convention of snnTorch's ``spikegen.delta`` with ``off_spike=True``):
with the change of variable :math:`i` over one step

.. math::

    \Delta_i[t] = v_i[t] - v_i[t-1], \qquad v_i[-1] = \begin{cases} 0 & \text{padding=False} \\
    v_i[0] & \text{padding=True} \end{cases}

the *up* channel spikes when :math:`\Delta_i[t] \ge \vartheta_i` and the *down* channel
when :math:`\Delta_i[t] \le -\vartheta_i`. Variable :math:`i` becomes channels ``2i`` (up)
and ``2i + 1`` (down). The threshold :math:`\vartheta_i > 0` is stated by the caller;
:func:`delta_threshold` chooses it on training data.
"""

from __future__ import annotations

import numpy as np


def _as_threshold(threshold, n: int) -> np.ndarray:
    th = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)) if np.ndim(threshold) == 0 else \
        np.asarray(threshold, dtype=np.float64)
    if th.shape != (n,):
        raise ValueError(f"threshold must be a scalar or one value per variable ({n}), got shape {th.shape}")
    if not (np.isfinite(th).all() and (th > 0).all()):
        raise ValueError(f"threshold must be finite and positive, got {th}")
    return th


def delta(x, threshold, *, axis: int = 0, padding: bool = False) -> np.ndarray:
    """Delta-modulation spikes of ``x`` (module docstring), float32 0/1.

    ``x``: real values with time on ``axis`` and the variables on the last axis, e.g.
    ``(T, n)`` or ``(cases, T, n)`` with ``axis=1``; ``threshold``: a scalar or ``(n,)``.
    Returns the same shape with the last axis ``2n``: up and down channel of each variable,
    interleaved.
    """
    v = np.asarray(x, dtype=np.float64)
    if v.ndim < 2:
        raise ValueError(f"x must have a time axis and a variable axis (last), got shape {v.shape}")
    axis = axis % v.ndim
    if axis == v.ndim - 1:
        raise ValueError("axis (time) must differ from the last axis (variables)")
    if not np.isfinite(v).all():
        raise ValueError("x has NaN or infinite values; fill or cut them first (delta encodes finite series)")
    th = _as_threshold(threshold, v.shape[-1])
    first = np.take(v, [0], axis=axis)
    prev = np.concatenate([first if padding else np.zeros_like(first), np.take(v, np.arange(v.shape[axis] - 1),
                                                                             axis=axis)], axis=axis)
    d = v - prev
    out = np.empty(v.shape[:-1] + (2 * v.shape[-1],), dtype=np.float32)
    out[..., 0::2] = d >= th
    out[..., 1::2] = d <= -th
    return out


def delta_threshold(x, quantile: float = 0.9, *, axis: int = 0) -> np.ndarray:
    r"""Per-variable threshold from training data: the ``quantile`` of :math:`|\Delta_i[t]|` over the
    nonzero changes (steps within each series; ``padding=True``, so the first step has no change).

    A variable that never changes gets threshold 1 (it never spikes).
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    v = np.asarray(x, dtype=np.float64)
    if v.ndim < 2 or (axis % v.ndim) == v.ndim - 1:
        raise ValueError(f"x must have a time axis and a variable axis (last), got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("x has NaN or infinite values; fill or cut them first")
    d = np.abs(np.diff(v, axis=axis)).reshape(-1, v.shape[-1])
    out = np.ones(v.shape[-1])
    for i in range(v.shape[-1]):
        nz = d[:, i][d[:, i] > 0]
        if len(nz):
            out[i] = np.quantile(nz, quantile)
    return out
