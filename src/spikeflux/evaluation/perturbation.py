r"""Perturbations of an explained window: segments, budget-matched deletion, keeping, run jitter.

Segments (the unit of ranking, ``spec/tsa.md``)
    Every channel's attribution row is split into contiguous runs of one sign (positive,
    negative, zero), and runs are cut into segments of at most ``max_len`` = 10 steps, with
    absolute step indices within the window. A segment's score is its mean attribution.

Budgets (the unit of perturbation)
    A deletion level is a share :math:`q` of the *flippable cells* (every (channel, step)
    of the window except the bias channel): level :math:`q` flips exactly
    :math:`n_q = \operatorname{round}(q N)` cells, so every method flips the same number of
    cells at every level. Segments are taken in rank order (most positive mean first); the
    last segment of a level is cut to meet the budget, its steps nearest :math:`t^*` first.
    Segments with equal scores (exact-zero attribution above all) are ordered at random,
    seeded (``rng``), never in a fixed channel-then-time order. Keeping (output-completeness
    at matched sparsity) ranks by :math:`|{\rm mean}|` and keeps the top :math:`n_q` cells.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..snn import LIFNetwork, SNNState
from .points import predict_last, window_state

#: deletion / keep levels: shares of the flippable cells, dense near zero where the models'
#: memory lives (a few to a few tens of steps of a 1000-step window)
LEVELS = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: output-completeness thresholds ε of the original evaluation (shares of max |A|)
THRESHOLDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.50, 0.75)


def flippable(n_in: int, bias_channel: int | None) -> list[int]:
    """The channels a perturbation may touch: all but ``bias_channel``."""
    if bias_channel is not None and not 0 <= bias_channel < n_in:
        raise ValueError(f"bias_channel={bias_channel} is out of range for {n_in} input channels (0..{n_in - 1})")
    return [i for i in range(n_in) if i != bias_channel]


def segments(attr: np.ndarray, max_len: int = 10, channels=None):
    """Segments of one map ``(n_in, W)``: arrays ``channel, start, stop, score``.

    Contiguous same-sign runs per channel, cut into pieces of at most ``max_len`` steps;
    ``start``/``stop`` are absolute window indices (stop exclusive); ``score`` is the mean.
    Ordered channel first, then time. Vectorised: runs are found on the flattened
    ``(channels, W)`` sign matrix with a forced cut at every channel start.
    """
    n_in, W = attr.shape
    chans = np.arange(n_in) if channels is None else np.asarray(list(channels), dtype=int)
    if len(chans) == 0:
        e = np.zeros(0, dtype=int)
        return e, e, e, np.zeros(0)
    sign = np.sign(attr[chans])
    change = np.ones(sign.shape, dtype=bool)
    change[:, 1:] = sign[:, 1:] != sign[:, :-1]
    start = np.flatnonzero(change)  # run starts in the flattened matrix
    stop = np.append(start[1:], sign.size)
    n_piece = -(-(stop - start) // max_len)
    first = np.repeat(np.cumsum(n_piece) - n_piece, n_piece)
    p_start = np.repeat(start, n_piece) + max_len * (np.arange(n_piece.sum()) - first)
    p_stop = np.minimum(p_start + max_len, np.repeat(stop, n_piece))
    row = p_start // W
    ch, st, sp = chans[row], p_start - row * W, p_stop - row * W
    csum = np.concatenate([np.zeros((n_in, 1)), np.cumsum(attr, 1)], 1)
    score = (csum[ch, sp] - csum[ch, st]) / np.maximum(sp - st, 1)
    return ch, st, sp, score


def cell_order(attr: np.ndarray, rng: np.random.Generator, bias_channel: int | None = None, max_len: int = 10,
               key: str = "signed") -> np.ndarray:
    """``(n_in, W)`` integer position of every cell in the perturbation order (bias cells: ``N``).

    Segments are ranked by their score (``key="signed"``: most positive mean first, for
    deletion; ``"abs"``: largest :math:`|{\\rm mean}|` first, for keeping), ties in random order
    (``rng``); inside a segment the steps nearest :math:`t^*` (the window's end) come first.
    A level with budget :math:`n` perturbs the cells with position :math:`< n`.
    """
    n_in, W = attr.shape
    chans = flippable(n_in, bias_channel)
    ch, st, sp, score = segments(attr, max_len, chans)
    s = -score if key == "signed" else -np.abs(score)
    rank = np.lexsort((rng.random(len(s)), s))  # primary key last: score, ties broken at random
    lens = (sp - st)[rank]
    base = np.cumsum(lens) - lens  # first position of each ranked segment
    seg = np.repeat(np.arange(len(rank)), lens)
    within = np.arange(lens.sum()) - np.repeat(base, lens)
    c = ch[rank][seg]
    t = sp[rank][seg] - 1 - within  # latest step of the segment first
    pos = np.full((n_in, W), len(chans) * W, dtype=np.int64)
    pos[c, t] = np.arange(lens.sum())
    return pos


def budgets(n_in: int, window: int, levels, bias_channel: int | None) -> np.ndarray:
    """Cells perturbed at each level: ``round(q * N)`` with ``N`` the flippable cells."""
    q = np.asarray(levels, dtype=float)
    if q.min() < 0 or q.max() > 1:
        raise ValueError(f"levels must be shares in [0, 1], got {levels}")
    return np.round(q * len(flippable(n_in, bias_channel)) * window).astype(np.int64)


def deletion_inputs(x_win: np.ndarray, attr: np.ndarray, levels, rng: np.random.Generator,
                    bias_channel: int | None = None, max_len: int = 10) -> np.ndarray:
    """The window ``(W, n_in)`` with the top-ranked cells flipped (``x <- 1 - x``), one per level.

    Level ``q`` flips exactly ``round(q N)`` cells (:func:`budgets`) in the order of
    :func:`cell_order`. Returns ``(len(levels), W, n_in)``.
    """
    pos = cell_order(attr, rng, bias_channel, max_len, "signed")
    n = budgets(attr.shape[0], attr.shape[1], levels, bias_channel)
    flip = pos.T[None] < n[:, None, None]
    return np.where(flip, 1.0 - x_win[None], x_win[None]).astype(x_win.dtype)


def _permute_free(x_win: np.ndarray, keep: np.ndarray, chans, rng: np.random.Generator) -> np.ndarray:
    """``x_win`` with every channel's cells outside ``keep`` ``(n_in, W)`` permuted in time."""
    out = x_win.copy()
    for i in chans:
        free = np.flatnonzero(~keep[i])
        out[free, i] = x_win[rng.permutation(free), i]
    return out


def kept_inputs(x_win: np.ndarray, attr: np.ndarray, levels, rng: np.random.Generator,
                bias_channel: int | None = None, max_len: int = 10) -> np.ndarray:
    """Output-completeness at matched sparsity: keep the top ``round(q N)`` cells (by
    :math:`|{\\rm mean}|` of their segment), permute every other cell of each channel in time.

    Returns ``(len(levels), W, n_in)``.
    """
    chans = flippable(attr.shape[0], bias_channel)
    pos = cell_order(attr, rng, bias_channel, max_len, "abs")
    n = budgets(attr.shape[0], attr.shape[1], levels, bias_channel)
    return np.stack([_permute_free(x_win, pos < k, chans, rng) for k in n])


def permuted_inputs(x_win: np.ndarray, attr: np.ndarray, thresholds, rng: np.random.Generator,
                    bias_channel: int | None = None, max_len: int = 10) -> np.ndarray:
    """The original output-completeness: keep segments with ``|mean| > ε max|A|``, permute every
    other step of each channel in time. Returns ``(len(thresholds), W, n_in)``."""
    chans = flippable(attr.shape[0], bias_channel)
    ch, st, sp, score = segments(attr, max_len, chans)
    amax = np.abs(attr).max()
    cell_score = np.zeros(attr.shape)  # |mean| of the segment covering each cell
    lens = sp - st
    seg = np.repeat(np.arange(len(ch)), lens)
    t = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(st, lens)
    cell_score[ch[seg], t] = np.abs(score)[seg]
    return np.stack([_permute_free(x_win, cell_score > thr * amax, chans, rng) for thr in thresholds])


def perturb_runs(x_win: np.ndarray, rng: np.random.Generator, max_frac: float = 0.10,
                 bias_channel: int | None = None) -> np.ndarray:
    """Shorten or lengthen every activity run (a maximal run of ones) by up to ``max_frac``
    of its length, moving its start and its end independently; the bias is untouched."""
    out = x_win.copy()
    W = x_win.shape[0]
    for i in range(x_win.shape[1]):
        if i == bias_channel:
            continue
        col = np.concatenate([[0], x_win[:, i], [0]])
        d = np.diff(col)
        starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        new = np.zeros(W, dtype=x_win.dtype)
        for a, b in zip(starts, stops):
            m = int(max_frac * (b - a))
            a2 = a + (rng.integers(-m, m + 1) if m else 0)
            b2 = b + (rng.integers(-m, m + 1) if m else 0)
            a2, b2 = max(0, a2), min(W, b2)
            if b2 > a2:
                new[a2:b2] = 1
        out[:, i] = new
    return out


def _dedupe(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first occurrence of each distinct variant and, per variant, its distinct index."""
    keys = [row.tobytes() for row in np.ascontiguousarray(v).reshape(len(v), -1)]
    seen: dict = {}
    first, inverse = [], np.empty(len(v), dtype=np.int64)
    for k, key in enumerate(keys):
        if key not in seen:
            seen[key] = len(first)
            first.append(k)
        inverse[k] = seen[key]
    return np.asarray(first, dtype=np.int64), inverse


def predict_variants(net: LIFNetwork, X: np.ndarray, window: int, variants: Callable,
                     state: SNNState | None = None, batch: int = 1024) -> np.ndarray:
    """Predictions at the last step for variants of each point's window, batched over points.

    ``variants(p)`` returns ``(V, window, n_in)`` modified windows of point ``p``; every variant
    starts from the point's state at the window start (``state``, computed from the burn-in
    when not given). Identical variants of a point are simulated once. Returns ``(P, V)``.
    """
    state = window_state(net, X, window) if state is None else state
    rows, owner, back, out = [], [], [], []

    def flush():
        batch_x = torch.as_tensor(np.concatenate(rows), dtype=net.dtype, device=net.device)
        idx = torch.as_tensor(np.concatenate(owner), device=net.device)
        out.append(predict_last(net, batch_x, state=state.select(idx)).cpu().numpy())
        rows.clear(), owner.clear()

    n_var, pending = None, 0
    for p in range(len(X)):
        v = variants(p)
        n_var = len(v)
        first, inverse = _dedupe(v)
        uniq = v[first]
        rows.append(uniq)
        owner.append(np.full(len(uniq), p))
        back.append((pending, inverse.reshape(-1)))
        pending += len(uniq)
        if sum(len(r) for r in rows) >= batch:
            flush()
    if rows:
        flush()
    preds = np.concatenate(out) if out else np.zeros(0, dtype=int)
    return np.stack([preds[a + inv] for a, inv in back]) if back else np.zeros((0, 0), dtype=int)
