r"""Explained points: seeded, stratified steps of a test series, cut into excerpts.

Every explained point is an *excerpt*: the ``burn_in + window`` input steps ending at the
explained step :math:`t^*`, simulated from a zero state. The burn-in
(:data:`spikeflux.config.BURN_IN` = 300 steps, thirty synaptic time constants of the book's
models) lets the state forget the zero start; :func:`excerpt_agreement` checks how often the
excerpt's prediction equals that of a run over the whole test series. The *clean*
prediction of a point is the model's prediction at :math:`t^*` on the unperturbed excerpt;
every perturbation metric compares against it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..chunking import map_chunks
from ..snn import LIFNetwork, SNNState


def select_points(y: np.ndarray, per_class: int | None, history: int, seed: int = 0,
                  classes: np.ndarray | None = None, allowed: np.ndarray | None = None) -> np.ndarray:
    """A seeded, stratified choice of explained steps.

    ``per_class`` steps of every class present (all if fewer exist; ``None`` = 25), each
    with at least ``history`` steps before it and, if ``allowed`` (a boolean per step) is
    given, only steps where it is true. Returned sorted.
    """
    per_class = 25 if per_class is None else per_class
    rng = np.random.default_rng(seed)
    eligible = np.arange(history, len(y))
    if allowed is not None:
        if len(allowed) != len(y):
            raise ValueError(f"allowed has {len(allowed)} entries but y has {len(y)} steps")
        eligible = eligible[np.asarray(allowed, dtype=bool)[eligible]]
    chosen = []
    for c in (np.unique(y) if classes is None else classes):
        pool = eligible[y[eligible] == c]
        if len(pool):
            chosen.append(rng.choice(pool, size=min(per_class, len(pool)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def silent_windows(x: np.ndarray, window: int, bias_channel: int | None) -> np.ndarray:
    """``(T,)`` booleans: step ``t`` ends a *silent window*, one whose ``window`` steps
    ``t - window + 1 .. t`` hold no spike outside ``bias_channel`` (steps with less history
    count what they have).

    In a silent window the input equals the bias-only reference of Integrated Gradients and
    DeepLIFT, so their maps are zero by definition, and every other method can only put
    relevance on the bias channel, which no perturbation touches: no method can rank the
    window's cells.
    """
    events = np.asarray(x, dtype=float)
    if bias_channel is not None:
        events = np.delete(events, bias_channel, axis=1)
    count = np.concatenate([[0.0], np.cumsum((events != 0).sum(1))])
    t = np.arange(len(events))
    return (count[t + 1] - count[np.maximum(t + 1 - window, 0)]) == 0


def excerpts(x: np.ndarray, points: np.ndarray, length: int) -> np.ndarray:
    """``(P, length, n_in)``: the ``length`` steps ending at each point."""
    idx = points[:, None] + np.arange(-length + 1, 1)[None, :]
    if idx.size and idx.min() < 0:
        raise ValueError(f"a point lies less than {length} steps after the series start")
    return x[idx]


def predict_last(net: LIFNetwork, X: torch.Tensor, chunk: int = 128, state: SNNState | None = None) -> torch.Tensor:
    """The prediction at the last step of every sequence in ``X`` (batch, T, n_in).

    ``state`` (one row per sequence) is the carried state before the first step (default
    zeros). ``chunk`` sequences are simulated at once: small enough that a layer's
    ``(chunk, T, n_l)`` drive stays in cache (on CPU, 128 sequences of 1300 steps run 4x
    faster than 1024 at once; ``benchmarks/bench_evaluation.py``).
    """
    with torch.no_grad():
        return map_chunks(lambda rows: net(X[rows], None if state is None else state.select(rows)).output[:, -1].argmax(-1),
                          X.shape[0], chunk, lambda preds: torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long))


def window_state(net: LIFNetwork, X: np.ndarray, window: int, chunk: int = 128) -> SNNState:
    """The carried state of every excerpt at the start of its window (after the burn-in
    ``X[:, :-window]``), so perturbed windows need not repeat the burn-in."""
    Xt = torch.as_tensor(X[:, :-window], dtype=net.dtype, device=net.device)
    with torch.no_grad():
        parts = map_chunks(lambda rows: net(Xt[rows]).state if Xt.shape[1] else net.zero_state(len(Xt[rows])),
                           len(X), chunk, list)
    return SNNState(*([torch.cat([getattr(p, k)[l] for p in parts]) for l in range(net.n_layers)]
                      for k in ("I", "U", "b")))


@dataclass
class PointSet:
    """Explained points of one task.

    ``X`` ``(P, burn_in + window, n_in)``: the excerpts ending at each point; ``y`` their labels;
    ``where`` their place in the test series (series name and step); ``masks``
    ``(P, n_in, window)`` the ground-truth evidence where it is known; ``bias_channel`` the
    task's constant input channel (never flipped, permuted or perturbed), ``None`` if it has none;
    ``silent`` the share of eligible test steps per class whose window was silent
    (:func:`silent_windows`) and therefore left out (empty unless ``make_points`` left them out).
    """

    task: str
    X: np.ndarray
    y: np.ndarray
    where: list
    window: int
    burn_in: int
    masks: np.ndarray | None = None
    bias_channel: int | None = None
    digest: str = field(default="", compare=False)
    silent: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not self.digest:
            h = hashlib.sha256(np.ascontiguousarray(self.X).tobytes())
            h.update(np.ascontiguousarray(self.y).tobytes())
            self.digest = h.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> "PointSet":
        """The points ``idx`` (indices into this set)."""
        idx = np.asarray(idx, dtype=int)
        return PointSet(self.task, self.X[idx], self.y[idx], [self.where[k] for k in idx], self.window,
                        self.burn_in, None if self.masks is None else self.masks[idx], self.bias_channel,
                        silent=self.silent)

    def packed(self) -> dict:
        """A compact copy for worker processes: binary excerpts as ``uint8`` (spikes are 0/1)."""
        binary = bool(np.isin(self.X, (0.0, 1.0)).all())
        return dict(task=self.task, X=self.X.astype(np.uint8) if binary else self.X, y=self.y, where=self.where,
                    window=self.window, burn_in=self.burn_in, masks=self.masks, bias_channel=self.bias_channel,
                    digest=self.digest, silent=self.silent)

    @classmethod
    def unpack(cls, d: dict) -> "PointSet":
        """Inverse of :meth:`packed`."""
        return cls(d["task"], d["X"].astype(np.float64), d["y"], d["where"], d["window"], d["burn_in"], d["masks"],
                   d["bias_channel"], d["digest"], d.get("silent", {}))


def make_points(task: str, series: dict, per_class: int | None, window: int, burn_in: int, seed: int = 0,
                ground_truth: Callable | None = None, bias_channel: int | None = None,
                exclude_silent: bool = False) -> PointSet:
    """Stratified, seeded points from each test series in ``series`` (name -> (x, y)).

    ``ground_truth(name, t, window) -> (n_in, window)`` gives a mask per point if known;
    ``bias_channel`` names the task's constant input channel (``None``: none).
    ``exclude_silent``: draw only steps whose window holds a spike outside the bias channel
    (:func:`silent_windows`); the share left out per class is kept in ``PointSet.silent``.
    """
    for name, value in (("window", window), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (1 if name == "window" else 0):
            raise ValueError(f"{name} must be a {'positive' if name == 'window' else 'non-negative'} int, got {value!r}")
    Xs, ys, where, masks = [], [], [], []
    eligible, silent = {}, {}
    for k, (name, (x, y)) in enumerate(series.items()):
        if len(x) != len(y):
            raise ValueError(f"series {name!r}: x has {len(x)} steps but y has {len(y)}")
        if len(y) < burn_in + window:
            raise ValueError(f"series {name!r} has {len(y)} steps, fewer than burn_in + window = "
                             f"{burn_in} + {window} = {burn_in + window}: no point can be explained")
        quiet = silent_windows(x, window, bias_channel) if exclude_silent else None
        if quiet is not None:
            for c in np.unique(y[burn_in + window - 1:]):
                at = np.flatnonzero(y[burn_in + window - 1:] == c) + burn_in + window - 1
                n, q = eligible.get(int(c), 0), silent.get(int(c), 0)
                eligible[int(c)], silent[int(c)] = n + len(at), q + int(quiet[at].sum())
        pts = select_points(y, per_class, history=burn_in + window - 1, seed=seed + k,
                            allowed=None if quiet is None else ~quiet)
        Xs.append(excerpts(x, pts, burn_in + window))
        ys.append(y[pts])
        where += [(name, int(t)) for t in pts]
        if ground_truth is not None:
            masks += [ground_truth(name, int(t), window) for t in pts]
    if not Xs:
        raise ValueError("series: give at least one test series (name -> (x, y))")
    return PointSet(task, np.concatenate(Xs).astype(np.float64), np.concatenate(ys), where, window, burn_in,
                    np.stack(masks) if masks else None, bias_channel,
                    silent={c: silent[c] / eligible[c] for c in sorted(eligible)})


def excerpt_agreement(net: LIFNetwork, points: PointSet, series: dict, history: int = 5000) -> np.ndarray:
    """Per point: does the excerpt's clean prediction (zero state ``burn_in`` steps before the
    window) equal the prediction of a run over the whole test series (every step with at
    least ``history`` steps before it, :func:`spikeflux.training.predict_series`)?

    ``series`` maps the names in ``points.where`` to ``(x, y)``. Checks that the burn-in lets
    the state forget the zero start.
    """
    from ..training import predict_series

    clean = predict_last(net, torch.as_tensor(points.X, dtype=net.dtype, device=net.device)).cpu().numpy()
    full = {name: predict_series(net, series[name][0], burn_in=history).argmax(1)
            for name in dict.fromkeys(name for name, _ in points.where)}
    return np.array([full[name][t] == clean[k] for k, (name, t) in enumerate(points.where)])


def recut(points: PointSet, series: dict, window: int) -> tuple[PointSet, np.ndarray]:
    """The same explained steps with another ``window`` (same burn-in), cut from ``series``.

    Steps with too little history for the new window are left out; returns the new point
    set and the indices (into ``points``) of the steps kept.
    """
    length = points.burn_in + window
    keep = np.array([k for k, (_, t) in enumerate(points.where) if t >= length - 1], dtype=int)
    X = np.stack([series[points.where[k][0]][0][points.where[k][1] - length + 1: points.where[k][1] + 1]
                  for k in keep]).astype(np.float64) if len(keep) else np.zeros((0, length, points.X.shape[2]))
    return PointSet(points.task, X, points.y[keep], [points.where[k] for k in keep], window, points.burn_in,
                    bias_channel=points.bias_channel), keep
