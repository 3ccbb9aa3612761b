r"""The metrics of the evaluation, one registry: each is registered with its direction, range,
category and summary statistic by :func:`register_metric`, and computes *per-point* values.

Per-point values make every comparison pairable (two methods on the same points) and every
summary resamplable. A perturbation metric compares the perturbed prediction of point
:math:`p` with its clean prediction :math:`c_p`; with :math:`C` the classes among the clean
predictions and :math:`n_c` the points predicted as :math:`c`, the per-point value

.. math::

    v_p = \frac{P}{C\, n_{c_p}}\, \mathbb 1[\hat y_p = c_p]

averages to the balanced accuracy of the perturbed against the clean predictions
(:func:`ba_weights`), so a table's value is the balanced accuracy of the original evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
from sklearn.metrics import average_precision_score

from ..registry import Registry
from ..snn import LIFNetwork, SNNState
from . import perturbation as pt


@dataclass(frozen=True)
class MetricInfo:
    """A metric's metadata: direction, range and summary are read by tables, plots and tests."""

    name: str
    higher_is_better: bool
    lower: float
    upper: float
    category: str
    description: str
    statistic: str = "mean"  # how per-point values are summarised: "mean" or "median"
    fn: Callable | None = field(default=None, compare=False, repr=False)


METRICS: Registry = Registry("metric")


def register_metric(name: str, *, higher_is_better: bool, lower: float, upper: float, category: str,
                    description: str, statistic: str = "mean"):
    """Decorator: register ``fn(case) -> {level: (P,) values} | (P,) values | None`` under ``name``.

    ``None`` means the metric does not apply to the case (no ground truth, no completeness
    property); NaN marks points where it is undefined.
    """
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', got {statistic!r}")

    def wrap(fn):
        METRICS.add(name, MetricInfo(name, higher_is_better, lower, upper, category, description, statistic, fn))
        return fn

    return wrap


def ba_weights(clean: np.ndarray) -> np.ndarray:
    """``(P,)`` weights :math:`P / (C n_{c_p})`: the mean of ``w * kept`` is the balanced accuracy."""
    clean = np.asarray(clean)
    classes, inverse, counts = np.unique(clean, return_inverse=True, return_counts=True)
    return len(clean) / (len(classes) * counts[inverse])


@dataclass
class Case:
    """Everything the metrics of one (model, method) need; expensive parts computed once.

    ``X`` ``(P, burn_in + W, n_in)`` excerpts, ``A`` ``(P, n_in, W)`` maps, ``clean`` ``(P,)``
    clean predictions, ``state`` the carried state at each window start, ``explain(X, c)`` a
    function that explains excerpts again (continuity; ``None`` skips it), ``target`` ``(P,)``
    each map's completeness target (``None``: the method has no completeness property).
    """

    net: LIFNetwork
    X: np.ndarray
    A: np.ndarray
    clean: np.ndarray
    n_classes: int
    window: int
    state: SNNState
    bias_channel: int | None = None
    masks: np.ndarray | None = None
    target: np.ndarray | None = None
    explained: np.ndarray | None = None
    explain: Callable | None = None
    amplification: np.ndarray | None = None
    levels: tuple = pt.LEVELS
    thresholds: tuple = pt.THRESHOLDS
    n_draws: int = 3
    n_perturb: int = 5
    seed: int = 0
    max_len: int = 10
    curves: dict = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray:
        return ba_weights(self.clean)

    def rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def kept(self, make_inputs: Callable, levels, salt: int, draws: int) -> np.ndarray:
        """``(P, len(levels))`` share of ``draws`` random tie orders whose prediction stays clean.

        All draws of a point run in one batch; draws that perturb the same cells (a map
        without ties) are simulated once (:func:`~.perturbation.predict_variants`)."""
        W, K = self.window, len(levels)
        rngs = [self.rng(salt * 1000 + d) for d in range(draws)]

        def variants(p):
            return np.concatenate([make_inputs(self.X[p, -W:], self.A[p], levels, rng, self.bias_channel,
                                               self.max_len) for rng in rngs])

        preds = pt.predict_variants(self.net, self.X, W, variants, self.state)  # (P, draws * K)
        kept = preds.reshape(len(self.X), draws, K) == np.asarray(self.clean)[:, None, None]
        return kept.mean(1)

    @cached_property
    def deletion(self) -> np.ndarray:
        """``(P, levels)`` per-point deletion values :math:`v_{pk}` (level 0 flips nothing)."""
        return self.kept(pt.deletion_inputs, self.levels, 1, self.n_draws) * self.weights[:, None]

    @cached_property
    def keep_matched(self) -> np.ndarray:
        """``(P, levels)`` per-point output-completeness values at matched sparsity."""
        return self.kept(pt.kept_inputs, self.levels, 2, self.n_draws) * self.weights[:, None]

    @cached_property
    def keep_threshold(self) -> np.ndarray:
        """``(P, thresholds)`` per-point output-completeness at the original thresholds ε."""
        return self.kept(pt.permuted_inputs, self.thresholds, 3, 1) * self.weights[:, None]

    @cached_property
    def sensitivity(self) -> dict | None:
        """Max-, mean- and relative max-sensitivity per point (``None`` without an explainer)."""
        if self.explain is None or self.n_perturb == 0:
            return None
        rng, W = self.rng(4), self.window
        dist = np.zeros((len(self.X), self.n_perturb))
        for k in range(self.n_perturb):
            Xp = self.X.copy()
            for p in range(len(self.X)):
                Xp[p, -W:] = pt.perturb_runs(self.X[p, -W:], rng, bias_channel=self.bias_channel)
            try:
                dist[:, k] = frobenius(self.explain(Xp, self.clean) - self.A)
            except FloatingPointError:  # the method's relevance overflowed on a perturbed input: undefined
                nan = np.full(len(self.X), np.nan)
                return dict(max=nan, mean=nan, rel=nan)
        norm = frobenius(self.A)
        rel = np.where(norm > 0, dist.max(1) / np.where(norm > 0, norm, 1), np.nan)
        return dict(max=dist.max(1), mean=dist.mean(1), rel=rel)

    def flippable_maps(self) -> np.ndarray:
        """``(P, n_flippable, W)``: the maps without the bias channel."""
        return self.A[:, pt.flippable(self.A.shape[1], self.bias_channel)]


def index_area(values: np.ndarray) -> np.ndarray:
    """Normalised trapezoid area over the level *index* (each level of the grid weighs the same,
    so the sparse levels where the models' memory lives count as much as the dense ones)."""
    K = values.shape[-1]
    w = np.ones(K)
    w[[0, -1]] = 0.5
    return values @ w / (K - 1)


def frobenius(A: np.ndarray) -> np.ndarray:
    """Frobenius norm of every map ``A[p]``, scaled first so that huge entries (αβ-LRP's created
    relevance reaches 1e258) do not overflow when squared."""
    scale = np.abs(A).max(axis=tuple(range(1, A.ndim)))
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.sqrt(((A / safe.reshape((-1,) + (1,) * (A.ndim - 1))) ** 2).sum(axis=tuple(range(1, A.ndim))))


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


# --------------------------------------------------------------------------- correctness
@register_metric("ess", higher_is_better=False, lower=0.0, upper=1.0, category="correctness",
                 description="explanation selectivity: area under the budget-matched deletion curve (balanced "
                             "accuracy against the clean prediction while the top-ranked cells are flipped), "
                             "over the level index")
def _ess(case: Case):
    case.curves["deletion"] = case.deletion
    return index_area(case.deletion)


@register_metric("output_completeness", higher_is_better=True, lower=0.0, upper=1.0,
                 category="output-completeness",
                 description="balanced accuracy with the segments below ε max|A| permuted in time (original ε)")
def _output_completeness(case: Case):
    case.curves["output_completeness"] = case.keep_threshold
    return {float(e): case.keep_threshold[:, k] for k, e in enumerate(case.thresholds)}


@register_metric("oc_matched", higher_is_better=True, lower=0.0, upper=1.0, category="output-completeness",
                 description="output-completeness at matched sparsity: area over the level index of the balanced "
                             "accuracy when only the top-ranked cells are kept and the rest is permuted in time")
def oc_matched(case: Case):
    case.curves["keep_matched"] = case.keep_matched
    return index_area(case.keep_matched)


# --------------------------------------------------------------------------- continuity
@register_metric("max_sensitivity", higher_is_better=False, lower=0.0, upper=np.inf, category="continuity",
                 description="largest Frobenius distance between the map and that of a run-perturbed input")
def max_sensitivity(case: Case):
    return None if case.sensitivity is None else case.sensitivity["max"]


@register_metric("rel_max_sensitivity", higher_is_better=False, lower=0.0, upper=np.inf, category="continuity",
                 description="max-sensitivity divided by the Frobenius norm of the map", statistic="median")
def rel_max_sensitivity(case: Case):
    return None if case.sensitivity is None else case.sensitivity["rel"]


@register_metric("mean_sensitivity", higher_is_better=False, lower=0.0, upper=np.inf, category="continuity",
                 description="mean Frobenius distance over the perturbations")
def mean_sensitivity(case: Case):
    return None if case.sensitivity is None else case.sensitivity["mean"]


# --------------------------------------------------------------------------- compactness
@register_metric("l1_mass", higher_is_better=False, lower=0.0, upper=np.inf, category="compactness",
                 description="sum of absolute attributions (not scale-free)")
def l1_mass(case: Case):
    return np.abs(case.A).sum((1, 2))


@register_metric("gini", higher_is_better=True, lower=0.0, upper=1.0, category="compactness",
                 description="Gini index of the absolute attributions (scale-free)")
def gini_index(case: Case):
    return np.array([gini(a) for a in case.A])


@register_metric("top5_share", higher_is_better=True, lower=0.0, upper=1.0, category="compactness",
                 description="share of absolute mass in the top 5% of entries")
def top5_share(case: Case):
    return np.array([top_share(a) for a in case.A])


# --------------------------------------------------------------------------- ground truth
def _share(mass: np.ndarray, on: np.ndarray) -> np.ndarray:
    """``(P,)``: the share of each map's non-negative ``mass`` on the cells ``on`` (NaN for an empty map)."""
    total = mass.sum((1, 2))
    return np.where(total > 0, (mass * on).sum((1, 2)) / np.where(total > 0, total, 1), np.nan)


def _gt(case: Case):
    """Maps and masks without the bias channel (the bias is never evidence and never ranked)."""
    keep = pt.flippable(case.A.shape[1], case.bias_channel)
    return case.A[:, keep], case.masks[:, keep]


@register_metric("gt_pr_auc", higher_is_better=True, lower=0.0, upper=1.0, category="ground truth",
                 description="average precision of |attribution| ranking the ground-truth cells (bias excluded)")
def gt_pr_auc(case: Case):
    if case.masks is None:
        return None
    A, M = _gt(case)
    out = np.full(len(A), np.nan)
    for p, (a, m) in enumerate(zip(A, M)):
        if m.any() and not m.all():
            out[p] = average_precision_score(m.ravel(), np.abs(a).ravel())
    return out


@register_metric("gt_mass_accuracy", higher_is_better=True, lower=0.0, upper=1.0, category="ground truth",
                 description="relevance mass accuracy (Arras et al. 2022): share of the positive attribution mass "
                             "on the ground-truth cells")
def gt_mass_accuracy(case: Case):
    if case.masks is None:
        return None
    A, M = _gt(case)
    return _share(np.clip(A, 0, None), M)


@register_metric("gt_rank_accuracy", higher_is_better=True, lower=0.0, upper=1.0, category="ground truth",
                 description="relevance rank accuracy (Arras et al. 2022): share of the K highest-attributed cells "
                             "that lie on the ground truth, K its size (ties in random order)")
def gt_rank_accuracy(case: Case):
    if case.masks is None:
        return None
    A, M = _gt(case)
    rng = case.rng(5)
    out = np.full(len(A), np.nan)
    for p, (a, m) in enumerate(zip(A, M)):
        K = int(m.sum())
        if 0 < K < m.size:
            order = np.lexsort((rng.random(a.size), -a.ravel()))
            out[p] = m.ravel()[order[:K]].mean()
    return out


@register_metric("cell_share", higher_is_better=True, lower=0.0, upper=1.0, category="ground truth",
                 description="share of |A| on the ground-truth cells (the anomaly chapter: the modified cells)")
def cell_share(case: Case):
    if case.masks is None:
        return None
    return _share(np.abs(case.A), case.masks)


@register_metric("sensor_share", higher_is_better=True, lower=0.0, upper=1.0, category="ground truth",
                 description="share of |A| on the channels that hold any ground-truth cell, at any step of the window "
                             "(the anomaly chapter: the injected sensors' rows)")
def sensor_share(case: Case):
    if case.masks is None:
        return None
    return _share(np.abs(case.A), case.masks.any(2, keepdims=True))


# --------------------------------------------------------------------------- conservation / degeneracy
@register_metric("completeness_gap", higher_is_better=False, lower=0.0, upper=np.inf, category="conservation",
                 description="|sum of attribution - the method's own target| / |target| (LRP: the explained "
                             "quantity; IG and DeepLIFT: f(x) - f(x̄)); methods without a completeness property "
                             "have no row", statistic="median")
def completeness_gap(case: Case):
    """Undefined (NaN) where the target vanishes: exactly, or below 1e-9 of the explained
    quantity (a difference f(x) - f(x̄) that is round-off, e.g. a window without input events,
    where the reference equals the input)."""
    if case.target is None:
        return None
    t = np.asarray(case.target, dtype=float)
    scale = np.abs(t) if case.explained is None else np.maximum(np.abs(np.asarray(case.explained, float)), np.abs(t))
    defined = (np.abs(t) > 0) & (np.abs(t) > 1e-9 * scale)
    return np.where(defined, np.abs(case.A.sum((1, 2)) - t) / np.where(defined, np.abs(t), 1), np.nan)


@register_metric("zero_map_share", higher_is_better=False, lower=0.0, upper=1.0, category="degeneracy",
                 description="share of points whose map is exactly zero everywhere")
def zero_map_share(case: Case):
    return (np.abs(case.A).reshape(len(case.A), -1).max(1) == 0).astype(float)


@register_metric("amplification", higher_is_better=False, lower=0.0, upper=np.inf, category="degeneracy",
                 description="relevance moved over the start, sum_n |R_n| / |R_init| (LRP methods)",
                 statistic="median")
def amplification(case: Case):
    return case.amplification


def score(case: Case, names=None) -> dict:
    """Every registered metric (or ``names``) of ``case``: ``{(metric, level): (P,) values}``
    (``level`` NaN for metrics without one); metrics that do not apply are left out."""
    out = {}
    for name in (names or METRICS):
        values = METRICS[name].fn(case)
        if values is None:
            continue
        if isinstance(values, dict):
            out.update({(name, float(lv)): np.asarray(v, dtype=float) for lv, v in values.items()})
        else:
            out[(name, np.nan)] = np.asarray(values, dtype=float)
    return out


# --------------------------------------------------------------------------- direct use
def ess(net: LIFNetwork, X: np.ndarray, A: np.ndarray, clean: np.ndarray, n_classes: int, window: int, *,
        levels=pt.LEVELS, bias_channel: int | None = None, n_draws: int = 1, seed: int = 0,
        state: SNNState | None = None) -> dict:
    """Explanation selectivity of maps ``A (P, n_in, window)`` on excerpts ``X (P, T, n_in)``
    without the rest of the suite: ``levels``, the deletion ``curve`` (balanced accuracy of the
    flipped against the ``clean`` predictions at each level) and ``ess`` (its area over the
    level index; lower is better). ``bias_channel``: never flipped (``None``: every channel)."""
    from .points import window_state

    state = window_state(net, X, window) if state is None else state
    case = Case(net=net, X=X, A=A, clean=np.asarray(clean), n_classes=n_classes, window=window, state=state,
                bias_channel=bias_channel, levels=tuple(levels), n_draws=n_draws, seed=seed)
    values = case.deletion
    return dict(levels=np.asarray(levels, dtype=float), curve=values.mean(0), ess=float(index_area(values).mean()))


def ground_truth_scores(A: np.ndarray, masks: np.ndarray, bias_channel: int | None = None, seed: int = 0) -> dict:
    """Per point: the ground-truth metrics (average precision, relevance mass and rank accuracy)
    of maps ``A`` against boolean ``masks`` of the same shape; ``gt_positive_share`` is the
    mass accuracy under its earlier name."""
    case = Case(net=None, X=np.zeros((len(A), 1, A.shape[1])), A=np.asarray(A, dtype=float),
                clean=np.zeros(len(A), int), n_classes=1, window=A.shape[2], state=None,
                bias_channel=bias_channel, masks=np.asarray(masks, dtype=bool), seed=seed)
    mass = gt_mass_accuracy(case)
    return dict(gt_pr_auc=gt_pr_auc(case), gt_mass_accuracy=mass, gt_rank_accuracy=gt_rank_accuracy(case),
                gt_positive_share=mass)
