r"""Statistics of the evaluation: intervals over points and trained seeds, paired comparisons
with Holm's correction, and the agreement of method rankings across seeds.

- :func:`bootstrap_ci`: percentile bootstrap of a mean or median over points.
- :func:`hierarchical_ci`: the value of a metric is the mean over training seeds of its
  per-seed statistic; the interval resamples seeds, then points within each seed (a
  two-stage bootstrap), so it covers the variation between trained networks as well as
  between explained points.
- :func:`paired`: two methods on the same (seed, point) units: the difference of their
  statistics with a hierarchical interval, and the two-sided Wilcoxon signed-rank test
  (:func:`scipy.stats.wilcoxon`) on the per-unit differences; :func:`holm` corrects the
  p-values of all method pairs of one (model, metric) family.
- :func:`kendall_w`: Kendall's coefficient of concordance of the method ranking across seeds
  (1: every seed ranks the methods the same; 0: no agreement).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

_STAT = {"mean": np.mean, "median": np.median}


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                 statistic: str = "mean"):
    """``statistic`` (``"mean"`` or ``"median"``) of the finite values and its percentile bootstrap interval."""
    stat = _STAT[statistic]
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    boots = stat(v[rng.integers(0, len(v), (n_boot, len(v)))], axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(stat(v)), float(lo), float(hi)


def _draws(v: np.ndarray, stat, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot,)`` bootstrap draws of ``stat`` over the finite values of ``v`` (NaN if none)."""
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.full(n_boot, np.nan)
    return stat(v[rng.integers(0, len(v), (n_boot, len(v)))], axis=1)


def hierarchical_ci(values_by_seed: list, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                    statistic: str = "mean"):
    """Mean over seeds of the per-seed ``statistic``, with a seeds-then-points bootstrap interval.

    ``values_by_seed``: one array of per-point values per trained seed. With one seed this is
    :func:`bootstrap_ci`. Seeds without a finite value are left out.
    """
    stat = _STAT[statistic]
    groups = [np.asarray(v, dtype=float) for v in values_by_seed]
    groups = [v for v in groups if np.isfinite(v).any()]
    if not groups:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    per_seed = np.array([stat(v[np.isfinite(v)]) for v in groups])
    draws = np.stack([_draws(v, stat, n_boot, rng) for v in groups])  # (S, n_boot)
    pick = rng.integers(0, len(groups), (n_boot, len(groups)))  # seeds drawn with replacement
    boots = draws[pick, np.arange(n_boot)[:, None]].mean(1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(per_seed.mean()), float(lo), float(hi)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control), NaN kept as NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def paired(a_by_seed: list, b_by_seed: list, n_boot: int = 1000, seed: int = 0, statistic: str = "mean") -> dict:
    """Method ``a`` against ``b`` on the same units: per seed, the per-point values of both.

    Returns ``diff`` (mean over seeds of the per-seed statistic of a − b), its hierarchical
    interval, the Wilcoxon signed-rank ``p`` and ``n``. The test's unit is the *point*: every
    seed scores the same points, so the differences of one point under several trained seeds
    are not independent; each point contributes the mean over seeds of its finite differences
    (``n`` points with at least one), never one observation per (seed, point), which would
    count a point as several. ``p = 1`` when every difference is 0.
    """
    diffs = []
    for a, b in zip(a_by_seed, b_by_seed):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            raise ValueError(f"paired: the two methods were scored on different points ({a.shape} vs {b.shape})")
        d = a - b
        diffs.append(np.where(np.isfinite(a) & np.isfinite(b), d, np.nan))
    diff, lo, hi = hierarchical_ci(diffs, n_boot=n_boot, seed=seed, statistic=statistic)
    if diffs and len({x.shape for x in diffs}) > 1:
        raise ValueError("paired: the seeds were scored on different numbers of points "
                         f"({', '.join(str(len(x)) for x in diffs)}); the points must be the same for every seed")
    if diffs:
        stacked = np.stack(diffs)  # (seeds, points), NaN where a value was not finite
        d = np.nanmean(stacked[:, ~np.isnan(stacked).all(0)], axis=0)
    else:
        d = np.zeros(0)
    if len(d) == 0:
        p = np.nan
    elif np.all(d == 0):
        p = 1.0
    else:
        p = float(_st.wilcoxon(d, zero_method="zsplit").pvalue)
    return dict(diff=diff, ci_low=lo, ci_high=hi, p=p, n=int(len(d)))


def kendall_w(scores: np.ndarray) -> float:
    """Kendall's W of ``scores`` ``(raters, items)`` (here: seeds × methods), ties by mid-ranks,
    with the tie correction; NaN with fewer than two raters or items."""
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores).all(1)]
    m, n = scores.shape if scores.ndim == 2 else (0, 0)
    if m < 2 or n < 2:
        return np.nan
    ranks = np.apply_along_axis(_st.rankdata, 1, scores)
    S = ((ranks.sum(0) - m * (n + 1) / 2) ** 2).sum()
    ties = sum(((c ** 3 - c).sum()) for c in (np.unique(r, return_counts=True)[1] for r in ranks))
    den = m ** 2 * (n ** 3 - n) - m * ties
    return float(12 * S / den) if den > 0 else np.nan
