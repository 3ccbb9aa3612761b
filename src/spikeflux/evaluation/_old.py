r"""Evaluation of explanations: correctness, output-completeness, continuity, compactness,
ground truth and conservation (``spec/tsa.md``, with the original evaluation's mistakes
fixed).

Every explained point is an *excerpt*: the ``burn_in + window`` input steps ending at the
explained step :math:`t^*`, simulated from a zero state. ``burn_in`` steps (300 in both
profiles, thirty synaptic time constants of the models here) let the state forget the
zero start; the evaluation chapter reports how often the excerpt's prediction agrees with
that of a run over the whole test series (:func:`excerpt_agreement`). The *clean* prediction of a point is the model's prediction
at :math:`t^*` on the unperturbed excerpt; every perturbation metric compares against it.

Metrics declare their own metadata (:class:`MetricInfo`: whether higher is better and
the range), so tables and plots never guess.

Segmentation (shared by ESS and output-completeness)
    Every feature's attribution row is split into contiguous runs of one sign
    (positive, negative, zero), and runs are cut into segments of at most
    ``max_len`` = 10 steps, with absolute step indices within the window. A segment's
    score is its mean attribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn.metrics import average_precision_score

from .snn import LIFNetwork, SNNState
from .training import balanced_accuracy, confusion


@dataclass(frozen=True)
class MetricInfo:
    """A metric's metadata: direction and range are read by tables and plots."""

    name: str
    higher_is_better: bool
    lower: float
    upper: float
    category: str
    description: str


METRICS: dict[str, MetricInfo] = {m.name: m for m in [
    MetricInfo("ess", False, 0.0, 1.0, "correctness",
               "explanation selectivity: normalised area under the deletion curve (balanced accuracy "
               "against the clean prediction while the highest-ranked segments are flipped)"),
    MetricInfo("output_completeness", True, 0.0, 1.0, "output-completeness",
               "balanced accuracy of predictions with the unimportant steps permuted, against the clean ones"),
    MetricInfo("max_sensitivity", False, 0.0, np.inf, "continuity",
               "largest Frobenius distance between the explanation and that of a perturbed input"),
    MetricInfo("rel_max_sensitivity", False, 0.0, np.inf, "continuity",
               "max-sensitivity divided by the Frobenius norm of the explanation"),
    MetricInfo("mean_sensitivity", False, 0.0, np.inf, "continuity",
               "mean Frobenius distance over the perturbations"),
    MetricInfo("l1_mass", False, 0.0, np.inf, "compactness", "sum of absolute attributions (not scale-free)"),
    MetricInfo("gini", True, 0.0, 1.0, "compactness", "Gini index of the absolute attributions (scale-free)"),
    MetricInfo("top5_share", True, 0.0, 1.0, "compactness", "share of absolute mass in the top 5% of entries"),
    MetricInfo("gt_pr_auc", True, 0.0, 1.0, "ground truth",
               "average precision of |attribution| ranking the ground-truth evidence"),
    MetricInfo("gt_positive_share", True, 0.0, 1.0, "ground truth",
               "share of the positive attribution mass that lies on the ground-truth evidence"),
    MetricInfo("completeness_gap", False, 0.0, np.inf, "conservation",
               "|sum of attribution - explained logit| / |explained logit| (median over points with a non-zero logit)"),
]}


# --------------------------------------------------------------------------- points
def select_points(y: np.ndarray, per_class: int | None, history: int, seed: int = 0,
                  classes: np.ndarray | None = None) -> np.ndarray:
    """A seeded, stratified choice of explained steps.

    ``per_class`` steps of every class present (all if fewer exist; ``None`` = 25), each
    with at least ``history`` steps before it. Returned sorted.
    """
    per_class = 25 if per_class is None else per_class
    rng = np.random.default_rng(seed)
    eligible = np.arange(history, len(y))
    chosen = []
    for c in (np.unique(y) if classes is None else classes):
        pool = eligible[y[eligible] == c]
        if len(pool):
            chosen.append(rng.choice(pool, size=min(per_class, len(pool)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def excerpts(x: np.ndarray, points: np.ndarray, length: int) -> np.ndarray:
    """``(P, length, n_in)``: the ``length`` steps ending at each point."""
    idx = points[:, None] + np.arange(-length + 1, 1)[None, :]
    if idx.min() < 0:
        raise ValueError(f"a point lies less than {length} steps after the series start")
    return x[idx]


def predict_last(net: LIFNetwork, X: torch.Tensor, chunk: int = 128, state: SNNState | None = None) -> torch.Tensor:
    """The prediction at the last step of every sequence in ``X`` (batch, T, n_in).

    ``state`` (one row per sequence) is the carried state before the first step (default
    zeros). ``chunk`` sequences are simulated at once: small enough that a layer's
    ``(chunk, T, n_l)`` drive stays in cache (on CPU, 128 sequences of 1300 steps run 4x
    faster than 1024 at once; ``benchmarks/bench_evaluation.py``).
    """
    preds = []
    with torch.no_grad():
        for a in range(0, X.shape[0], chunk):
            s = None if state is None else state.select(slice(a, a + chunk))
            preds.append(net(X[a:a + chunk], s).output[:, -1].argmax(-1))
    return torch.cat(preds)


def window_state(net: LIFNetwork, X: np.ndarray, window: int, chunk: int = 128) -> SNNState:
    """The carried state of every excerpt at the start of its window (after the burn-in
    ``X[:, :-window]``), so perturbed windows need not repeat the burn-in."""
    Xt = torch.as_tensor(X[:, :-window], dtype=net.dtype, device=net.device)
    parts = []
    with torch.no_grad():
        for a in range(0, len(X), chunk):
            parts.append(net(Xt[a:a + chunk]).state if Xt.shape[1] else net.zero_state(len(Xt[a:a + chunk])))
    return SNNState(*([torch.cat([getattr(p, k)[l] for p in parts]) for l in range(net.n_layers)]
                      for k in ("I", "U", "b")))


def _predict_variants(net: LIFNetwork, X: np.ndarray, window: int, variants: Callable, state: SNNState | None = None,
                      batch: int = 1024) -> np.ndarray:
    """Predictions at the last step for variants of each point's window, batched over points.

    ``variants(p)`` returns ``(V, window, n_in)`` modified windows of point ``p``; every
    variant starts from the point's state at the window start (``state``, computed from
    the burn-in when not given). Returns ``(P, V)`` predictions.
    """
    state = window_state(net, X, window) if state is None else state
    rows, owner, out = [], [], []

    def flush():
        batch_x = torch.as_tensor(np.concatenate(rows), dtype=net.dtype, device=net.device)
        idx = torch.as_tensor(np.concatenate(owner), device=net.device)
        out.append(predict_last(net, batch_x, state=state.select(idx)).cpu().numpy())
        rows.clear(), owner.clear()

    n_var = None
    for p in range(len(X)):
        v = variants(p)
        n_var = len(v)
        rows.append(v)
        owner.append(np.full(n_var, p))
        if sum(len(r) for r in rows) >= batch:
            flush()
    if rows:
        flush()
    return np.concatenate(out).reshape(len(X), n_var)


# --------------------------------------------------------------------------- segmentation
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


def _cells(ch, st, sp):
    """Flat (channel, step) cells covered by each segment, and the segment of each cell."""
    lens = sp - st
    seg = np.repeat(np.arange(len(ch)), lens)
    t = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(st, lens)
    return ch[seg], t, seg


def _channels(n_in: int, flip_bias: bool, bias_channel: int | None):
    return [i for i in range(n_in) if flip_bias or i != bias_channel]


# --------------------------------------------------------------------------- correctness
def deletion_inputs(x_win: np.ndarray, attr: np.ndarray, levels: np.ndarray, max_len: int = 10,
                    flip_bias: bool = False, bias_channel: int | None = 0) -> np.ndarray:
    """The window with the top-ranked segments flipped (``x <- 1 - x``), one per level.

    ``levels`` are fractions of the segments in ``[0, 1]``; segments are ranked by mean
    attribution, most positive first (ties keep channel-then-time order); level ``q``
    flips the first ``round(q * n_segments)``. Returns ``(len(levels), W, n_in)``.
    """
    ch, st, sp, score = segments(attr, max_len, _channels(attr.shape[0], flip_bias, bias_channel))
    n_seg = len(score)
    rank_of = np.empty(n_seg, dtype=int)
    rank_of[np.argsort(-score, kind="stable")] = np.arange(n_seg)
    step_rank = np.full(attr.shape, n_seg, dtype=int)  # rank of the segment covering each cell
    c, t, seg = _cells(ch, st, sp)
    step_rank[c, t] = rank_of[seg]
    n_flip = np.round(np.asarray(levels) * n_seg).astype(int)
    flip = step_rank.T[None, :, :] < n_flip[:, None, None]  # (levels, W, n_in)
    return np.where(flip, 1.0 - x_win[None], x_win[None]).astype(x_win.dtype)


def ess(net: LIFNetwork, X: np.ndarray, A: np.ndarray, clean: np.ndarray, n_classes: int, window: int,
        n_levels: int = 20, state: SNNState | None = None, **kw) -> dict:
    """Explanation selectivity of maps ``A (P, n_in, window)`` on excerpts ``X (P, T, n_in)``.

    For each point all flip levels run as one batched forward pass from the point's state
    at the window start (``state``; see :func:`window_state`). Level 0 flips nothing, so its
    predictions are the clean ones and are not recomputed. Returns the level fractions,
    the deletion curve (balanced accuracy of the flipped against the clean predictions at
    each level) and ``ess``, its normalised area (trapezoid rule over the fraction of
    segments flipped; lower is better).
    """
    levels = np.linspace(0, 1, n_levels + 1)
    flipped = _predict_variants(net, X, window, lambda p: deletion_inputs(X[p, -window:], A[p], levels[1:], **kw),
                                state)
    preds = np.concatenate([np.asarray(clean)[:, None], flipped], 1)
    curve = np.array([balanced_accuracy(confusion(clean, preds[:, k], n_classes)) for k in range(len(levels))])
    return dict(levels=levels, curve=curve, ess=float(np.trapezoid(curve, levels)), preds=preds)


# --------------------------------------------------------------------------- output-completeness
def permuted_inputs(x_win: np.ndarray, attr: np.ndarray, thresholds: np.ndarray, rng: np.random.Generator,
                    max_len: int = 10, flip_bias: bool = False, bias_channel: int | None = 0) -> np.ndarray:
    """Keep segments with ``|mean| > thr * max|A|``; permute every other step of each feature in time.

    Returns ``(len(thresholds), W, n_in)``.
    """
    chans = _channels(attr.shape[0], flip_bias, bias_channel)
    ch, st, sp, score = segments(attr, max_len, chans)
    amax = np.abs(attr).max()
    cell_score = np.zeros(attr.shape)  # |mean| of the segment covering each cell
    c, t, seg = _cells(ch, st, sp)
    cell_score[c, t] = np.abs(score)[seg]
    out = np.repeat(x_win[None], len(thresholds), 0).copy()
    for k, thr in enumerate(thresholds):
        keep = cell_score > thr * amax
        for i in chans:
            free = np.flatnonzero(~keep[i])
            out[k, free, i] = x_win[rng.permutation(free), i]
    return out


def output_completeness(net: LIFNetwork, X: np.ndarray, A: np.ndarray, clean: np.ndarray, n_classes: int,
                        window: int, thresholds=(0, .05, .10, .15, .20, .25, .50, .75), seed: int = 0,
                        state: SNNState | None = None, **kw) -> dict:
    """Balanced accuracy of perturbed against clean predictions at each threshold ε
    (all thresholds of a point in one batched forward pass from its window-start ``state``)."""
    thresholds = np.asarray(thresholds, dtype=float)
    rng = np.random.default_rng(seed)
    preds = _predict_variants(net, X, window, lambda p: permuted_inputs(X[p, -window:], A[p], thresholds, rng, **kw),
                              state)
    scores = np.array([balanced_accuracy(confusion(clean, preds[:, k], n_classes)) for k in range(len(thresholds))])
    return dict(thresholds=thresholds, scores=scores, preds=preds)


# --------------------------------------------------------------------------- continuity
def perturb_runs(x_win: np.ndarray, rng: np.random.Generator, max_frac: float = 0.10,
                 bias_channel: int | None = 0) -> np.ndarray:
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


def sensitivity(attribute: Callable, X: np.ndarray, A: np.ndarray, targets: np.ndarray, window: int,
                n_perturb: int = 10, seed: int = 0, **kw) -> dict:
    """Max-sensitivity: explanations of run-perturbed inputs for the *same* class.

    ``attribute(X (P, T, n_in), targets (P,)) -> (P, n_in, window)``. Returns per point the
    max and mean Frobenius distance, and the max relative to ``‖A‖_F``.
    """
    rng = np.random.default_rng(seed)
    dist = np.zeros((len(X), n_perturb))
    for k in range(n_perturb):
        Xp = X.copy()
        for p in range(len(X)):
            Xp[p, -window:] = perturb_runs(X[p, -window:], rng, **kw)
        Ap = attribute(Xp, targets)
        dist[:, k] = frobenius(Ap - A)
    norm = frobenius(A)
    rel = np.where(norm > 0, dist.max(1) / np.where(norm > 0, norm, 1), np.nan)
    return dict(max_sensitivity=dist.max(1), mean_sensitivity=dist.mean(1), rel_max_sensitivity=rel)


def frobenius(A: np.ndarray) -> np.ndarray:
    """Frobenius norm of every map ``A[p]``, scaled first so that huge entries (αβ-LRP's created
    relevance reaches 1e258) do not overflow when squared."""
    scale = np.abs(A).max(axis=tuple(range(1, A.ndim)))
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.sqrt(((A / safe.reshape((-1,) + (1,) * (A.ndim - 1))) ** 2).sum(axis=tuple(range(1, A.ndim))))


# --------------------------------------------------------------------------- compactness
def gini(values: np.ndarray) -> float:
    """Gini index of the absolute values (0: uniform, → 1: all mass in one entry)."""
    v = np.sort(np.abs(values).ravel())
    n, total = len(v), v.sum()
    if total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * total))


def top_share(values: np.ndarray, frac: float = 0.05) -> float:
    """Share of the absolute mass in the top ``frac`` of entries."""
    v = np.sort(np.abs(values).ravel())[::-1]
    total = v.sum()
    return float(v[: max(1, int(np.ceil(frac * len(v))))].sum() / total) if total > 0 else 0.0


def compactness(A: np.ndarray) -> dict:
    """Per point: L1 mass, Gini index and top-5% share."""
    return dict(l1_mass=np.abs(A).sum((1, 2)), gini=np.array([gini(a) for a in A]),
                top5_share=np.array([top_share(a) for a in A]))


# --------------------------------------------------------------------------- ground truth
def ground_truth_scores(A: np.ndarray, masks: np.ndarray) -> dict:
    """Per point: average precision of ``|A|`` against the mask and the positive mass on it."""
    ap, share = np.full(len(A), np.nan), np.full(len(A), np.nan)
    for p, (a, m) in enumerate(zip(A, masks)):
        if m.any() and not m.all():
            ap[p] = average_precision_score(m.ravel(), np.abs(a).ravel())
        pos = np.clip(a, 0, None)
        if pos.sum() > 0:
            share[p] = pos[m].sum() / pos.sum()
    return dict(gt_pr_auc=ap, gt_positive_share=share)


# --------------------------------------------------------------------------- summaries
def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                 statistic: str = "mean"):
    """``statistic`` (``"mean"`` or ``"median"``) of the finite values and its percentile bootstrap interval."""
    stat = {"mean": np.mean, "median": np.median}[statistic]
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    boots = stat(v[rng.integers(0, len(v), (n_boot, len(v)))], axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(stat(v)), float(lo), float(hi)


def bootstrap_curve_ci(clean: np.ndarray, preds: np.ndarray, n_classes: int, n_boot: int = 500, seed: int = 0,
                       weights: np.ndarray | None = None, level: float = 0.95):
    """Interval of a curve-area or a per-level balanced accuracy, resampling points.

    ``preds`` is ``(P, n_levels)``. With ``weights`` (trapezoid weights over levels) the
    statistic is the weighted area; otherwise the mean over levels.
    """
    rng = np.random.default_rng(seed)
    P, K = preds.shape
    w = np.full(K, 1.0 / K) if weights is None else weights

    def stat(idx):
        return float(sum(w[k] * balanced_accuracy(confusion(clean[idx], preds[idx, k], n_classes)) for k in range(K)))

    boots = [stat(rng.integers(0, P, P)) for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return stat(np.arange(P)), float(lo), float(hi)


def trapezoid_weights(levels: np.ndarray) -> np.ndarray:
    """Weights ``w`` with ``w @ f = trapezoid(f, levels)``."""
    d = np.diff(levels)
    w = np.zeros(len(levels))
    w[:-1] += d / 2
    w[1:] += d / 2
    return w


def tidy_row(dataset: str, model: str, method: str, metric: str, value, lo, hi, n: int) -> dict:
    """One row of the results table, with the metric's metadata."""
    info = METRICS[metric]
    return dict(dataset=dataset, model=model, method=method, metric=metric, value=value, ci_low=lo, ci_high=hi,
                n=n, higher_is_better=info.higher_is_better, category=info.category)


# --------------------------------------------------------------------------- the runner
@dataclass
class PointSet:
    """Explained points of one task: excerpts ``X (P, burn_in + window, n_in)`` ending at
    each point, their labels ``y``, their index in the test series (``where``: subject and
    step) and, for the synthetic task, the ground-truth masks ``(P, n_in, window)``."""

    task: str
    X: np.ndarray
    y: np.ndarray
    where: list
    window: int
    burn_in: int
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)


def make_points(task: str, series: dict, per_class: int | None, window: int, burn_in: int, seed: int = 0,
                ground_truth: Callable | None = None) -> PointSet:
    """Stratified, seeded points from each test series in ``series`` (name -> (x, y)).

    ``ground_truth(name, t, window) -> (n_in, window)`` gives a mask per point if known.
    """
    Xs, ys, where, masks = [], [], [], []
    for k, (name, (x, y)) in enumerate(series.items()):
        pts = select_points(y, per_class, history=burn_in + window - 1, seed=seed + k)
        Xs.append(excerpts(x, pts, burn_in + window))
        ys.append(y[pts])
        where += [(name, int(t)) for t in pts]
        if ground_truth is not None:
            masks += [ground_truth(name, int(t), window) for t in pts]
    return PointSet(task, np.concatenate(Xs).astype(np.float64), np.concatenate(ys), where, window, burn_in,
                    np.stack(masks) if masks else None)


def excerpt_agreement(net: LIFNetwork, points: PointSet, series: dict, history: int = 5000) -> np.ndarray:
    """Per point: does the excerpt's clean prediction (zero state ``burn_in`` steps before the
    window) equal the prediction of a run over the whole test series (every step with at
    least ``history`` steps before it, :func:`spikeflux.training.predict_series`)?

    ``series`` maps the names in ``points.where`` to ``(x, y)``. Checks that the burn-in lets
    the state forget the zero start.
    """
    from .training import predict_series

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
    return PointSet(points.task, X, points.y[keep], [points.where[k] for k in keep], window, points.burn_in), keep


def attribute(net: LIFNetwork, X: np.ndarray, method: str, window: int, targets, **options):
    """Maps ``(P, n_in, window)`` of the last step of every excerpt, and the explained logits.

    One batched call of :func:`spikeflux.explain.explain` over the excerpts.
    """
    from .explain import explain

    Xt = torch.as_tensor(X, dtype=net.dtype, device=net.device)
    e = explain(net, Xt, X.shape[1] - 1, method=method, target=[int(c) for c in targets], window=window, **options)
    return e.attribution.detach().cpu().numpy(), e.logit.detach().cpu().numpy()


def evaluate(net: LIFNetwork, points: PointSet, method: str, n_classes: int, *, dataset: str, model: str,
             n_levels: int = 10, thresholds=(0, .05, .10, .15, .20, .25, .50, .75), n_perturb: int = 10,
             flip_bias: bool = False, seed: int = 0, options: dict | None = None) -> tuple[list, dict]:
    """Every metric for one method on one model: tidy rows (with 95% intervals) and curves.

    ``method`` may also be ``"random"`` (seeded Gaussian maps) or ``"zero"`` (all-zero maps),
    the reference baselines of the perturbation metrics. The explained class of each point is
    the model's clean prediction. ``n_perturb=0`` skips continuity (the costliest metric:
    it explains every point again per perturbation).
    """
    options = options or {}
    W, P = points.window, len(points)
    X = points.X
    state = window_state(net, X, W)  # shared by every perturbation of the window
    clean = predict_last(net, torch.as_tensor(X[:, -W:], dtype=net.dtype, device=net.device), state=state).cpu().numpy()
    rng = np.random.default_rng(seed)
    logits = None
    if method == "random":
        A = rng.normal(size=(P, X.shape[2], W))
    elif method == "zero":
        A = np.zeros((P, X.shape[2], W))
    else:
        A, logits = attribute(net, X, method, W, clean, **options)
    rows, curves = [], {}

    def row(metric, value, lo, hi, level=np.nan, n=P):
        r = tidy_row(dataset, model, method, metric, value, lo, hi, n)
        r["level"] = level
        rows.append(r)

    kw = dict(flip_bias=flip_bias, bias_channel=0, state=state)
    r = ess(net, X, A, clean, n_classes, W, n_levels=n_levels, **kw)
    row("ess", *bootstrap_curve_ci(clean, r["preds"], n_classes, weights=trapezoid_weights(r["levels"]), seed=seed))
    curves["deletion"] = (r["levels"], r["curve"])
    oc = output_completeness(net, X, A, clean, n_classes, W, thresholds=thresholds, seed=seed, **kw)
    for k, thr in enumerate(oc["thresholds"]):
        row("output_completeness", *bootstrap_curve_ci(clean, oc["preds"][:, [k]], n_classes, seed=seed), level=thr)
    curves["output_completeness"] = (oc["thresholds"], oc["scores"])
    if method in ("random", "zero"):
        return rows, curves
    sens = {} if n_perturb == 0 else sensitivity(lambda Xp, c: attribute(net, Xp, method, W, c, **options)[0],
                                                 X, A, clean, W, n_perturb=n_perturb, seed=seed)
    for name, values in sens.items():
        # ratios to ||A||_F explode where a map is (numerically) empty: summarise them by the median
        row(name, *bootstrap_ci(values, seed=seed, statistic="median" if name.startswith("rel") else "mean"),
            n=int(np.isfinite(values).sum()))
    for name, values in compactness(A).items():
        row(name, *bootstrap_ci(values, seed=seed))
    if points.masks is not None:
        for name, values in ground_truth_scores(A, points.masks).items():
            row(name, *bootstrap_ci(values, seed=seed), n=int(np.isfinite(values).sum()))
    # relative to the explained logit; undefined where the logit is 0 (a spiking readout that
    # fired at t* is reset to 0): those points are left out and n says how many remain
    defined = np.abs(logits) > 0
    gap = np.where(defined, np.abs(A.sum((1, 2)) - logits) / np.where(defined, np.abs(logits), 1), np.nan)
    row("completeness_gap", *bootstrap_ci(gap, seed=seed, statistic="median"), n=int(defined.sum()))
    return rows, curves


# --------------------------------------------------------------------------- the suite
def load_trained(task: str, depth: str, dtype: str = "float64", device: str = "cpu") -> LIFNetwork:
    """A trained model of :mod:`spikeflux.models` in ``dtype`` on ``device`` (the suite's default loader)."""
    from . import models

    return models.load(task, depth).to(dtype=getattr(torch, dtype), device=device)


_WORKER: dict = {}


def _worker_init(points: dict, loader: Callable, threads: int) -> None:
    torch.set_num_threads(threads)
    _WORKER.clear()
    _WORKER.update(points=points, loader=loader, nets={})


def _run_job(job: tuple, n_classes: dict, kw: dict, options: dict) -> tuple[list, list, float]:
    """One (task, model, method) evaluation in a worker: tidy rows, curve rows, seconds."""
    import time

    task, depth, method = job
    nets = _WORKER["nets"]
    if (task, depth) not in nets:
        nets[(task, depth)] = _WORKER["loader"](task, depth)
    points = _WORKER["points"][task]
    t0 = time.perf_counter()
    try:
        rows, curves = evaluate(nets[(task, depth)], points, method, n_classes[task], dataset=task, model=depth,
                                options=options.get(method), **kw)
    except FloatingPointError as err:  # lrp-alphabeta over long windows: relevance overflows
        rows, curves = [tidy_row(task, depth, method, "ess", np.nan, np.nan, np.nan, len(points))], {}
        rows[0].update(level=np.nan, note=f"overflow: {err}")
    curve_rows = [dict(dataset=task, model=depth, method=method, curve=name, level=float(a), value=float(b))
                  for name, (lv, val) in curves.items() for a, b in zip(lv, val)]
    return rows, curve_rows, time.perf_counter() - t0


def run_suite(points: dict, n_classes: dict, jobs: list, *, loader: Callable = load_trained, workers: int = 1,
              options: dict | None = None, progress: bool = True, **evaluate_kw):
    """Evaluate every ``(task, model, method)`` of ``jobs``: rows, curve rows and timings.

    ``points`` maps a task to its :class:`PointSet`; ``loader(task, depth)`` returns the
    network (a module-level function, so that worker processes can receive it);
    ``options`` maps a method to its explainer options; ``evaluate_kw`` go to
    :func:`evaluate`. With ``workers > 1`` jobs run in that many single-threaded processes
    (spawned, so no thread pool is forked); every job is seeded on its own, so results do
    not depend on the number of workers or the order jobs finish in. Rows come back in
    the order of ``jobs``.
    """
    import time
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing as mp

    from tqdm import tqdm

    options = options or {}
    results: dict[int, tuple] = {}
    bar = tqdm(total=len(jobs), desc="evaluation", disable=not progress, mininterval=10)
    if workers <= 1:
        _worker_init(points, loader, torch.get_num_threads())
        for i, job in enumerate(jobs):
            results[i] = _run_job(job, n_classes, evaluate_kw, options)
            bar.update()
    else:
        # longest first (explainers with backward passes over many points) for load balance
        order = sorted(range(len(jobs)), key=lambda i: -_job_weight(jobs[i], points))
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                 initargs=(points, loader, 1)) as pool:
            futures = {pool.submit(_run_job, jobs[i], n_classes, evaluate_kw, options): i for i in order}
            for f in as_completed(futures):
                results[futures[f]] = f.result()
                bar.update()
    bar.close()
    rows, curves, timing = [], [], []
    for i, job in enumerate(jobs):
        r, c, sec = results[i]
        rows += r
        curves += c
        timing.append(dict(dataset=job[0], model=job[1], method=job[2], seconds=sec))
    return rows, curves, timing


#: relative cost of one explanation, for scheduling only
_COST = {"integrated-gradients": 8, "lrp-0": 4, "lrp-epsilon": 4, "lrp-zplus": 4, "lrp-alphabeta": 4,
         "saliency": 2, "input-x-gradient": 2, "deeplift": 2, "random": 0.5, "zero": 0.5}


def _job_weight(job: tuple, points: dict) -> float:
    task, _, method = job
    return _COST.get(method, 1) * len(points[task])


# --------------------------------------------------------------------------- the book's suite
#: explainer options of the book's evaluation (Integrated Gradients: 8 steps of the path)
SUITE_OPTIONS = {"integrated-gradients": {"n_steps": 8}}
#: explained points per class (and subject, for ADL) when the profile says ``per_class=None``
DEFAULT_PER_CLASS = {"synthetic": 25, "adl": 9}
N_CLASSES = {"synthetic": 4, "adl": 11}


def suite(profile: str = "full", seed: int = 0) -> tuple[dict, list]:
    """The evaluation chapter's points and jobs under a profile (``spikeflux.profiles``).

    Returns ``points`` (task -> :class:`PointSet`: stratified test steps of the synthetic
    task with ground-truth masks, and of each ADL subject) and ``jobs``, every
    ``(task, depth, method)`` of the profile's methods plus the ``random`` and ``zero``
    baselines. The benchmark ``benchmarks/bench_evaluation.py --suite`` times the same.
    """
    from . import tasks
    from .profiles import profile as get_profile

    P = get_profile(profile, "evaluation")
    S, D = get_profile(profile, "synthetic"), get_profile(profile, "adl")
    syn_data, syn_splits = tasks.synthetic(n_steps=S["n_steps"], seed=123)
    offset = syn_data.offsets()["test"]
    adl = tasks.adl_splits(tasks.adl_subjects(max_days=D["max_days"]))

    def per_class(task):
        return P["per_class"] or DEFAULT_PER_CLASS[task]

    points = {
        "synthetic": make_points("synthetic", {"synthetic": syn_splits["test"]}, per_class("synthetic"), P["window"],
                                 P["burn_in"], seed=seed,
                                 ground_truth=lambda _, t, w: syn_data.ground_truth(offset + t, w)),
        "adl": make_points("adl", adl["test_by_subject"], per_class("adl"), P["window"], P["burn_in"], seed=seed),
    }
    jobs = [(task, depth, m) for task in points for depth in P["depths"] for m in (*P["methods"], "random", "zero")]
    return points, jobs
