"""Presentation of the evaluation's results: formatted tables and plot frames for the chapter.

Nothing here computes a result; it reads the frames of :func:`~.suite.summarise`,
:func:`~.suite.compare` and :func:`~.suite.verdicts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .suite import BASELINES


def fmt(v: float) -> str:
    """Three decimals, or three significant digits for very large or very small values."""
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.2e}" if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3) else f"{v:.3f}"


def _select(summary: pd.DataFrame, metric: str, level=None, subset: str = "all") -> pd.DataFrame:
    r = summary[(summary.metric == metric) & (summary.seed.astype(str) == "all") & (summary.subset == subset)]
    if level is not None:
        r = r[np.isclose(r.level.astype(float), level)]
    return r


def plot_frame(summary: pd.DataFrame, verdicts: dict, metric: str, level=None, subset: str = "all",
               with_baselines: bool = True) -> pd.DataFrame:
    """One row per (model, method) for :func:`spikeflux.plots.interval_plot`: ``panel``
    ("task model"), ``value``, ``ci_low``, ``ci_high``, ``tied`` (among the best: not
    significantly worse than any method), ``null`` (not significantly better than random).
    Diverged methods are left out."""
    r = _select(summary, metric, level, subset)
    r = r[r.status == "ok"]
    if not with_baselines:
        r = r[~r.method.isin(BASELINES)]
    lv = np.nan if level is None else float(level)
    rows = []
    for q in r.itertuples():
        key = next((k for k in verdicts if k[:3] == (q.dataset, q.model, metric) and
                    (np.isnan(lv) and np.isnan(k[3]) or k[3] == lv)), None)
        v = verdicts.get(key, {"best": [], "beats_random": []})
        rows.append(dict(panel=f"{q.dataset} {q.model}", method=q.method, value=q.value, ci_low=q.ci_low,
                         ci_high=q.ci_high, tied=q.method in v["best"],
                         null=q.method not in BASELINES and q.method not in v["beats_random"]))
    return pd.DataFrame(rows)


def metric_table(summary: pd.DataFrame, verdicts: dict, metric: str, level=None, subset: str = "all",
                 methods=None) -> pd.DataFrame:
    """Method × (task, model) table of ``value [low, high]`` (mean over seeds, seeds-then-points
    interval): the best methods (better than random and not significantly worse than any other, Holm-corrected) in
    bold, a † where a method is not significantly better than the random map, "diverged" for
    methods whose relevance exploded, "empty" for methods whose maps are mostly all zero."""
    r = _select(summary, metric, level, subset)
    f = plot_frame(summary, verdicts, metric, level, subset).set_index(["panel", "method"])
    cells = []
    for q in r.itertuples():
        if q.status != "ok":
            text = q.status  # "diverged" or "empty": reported, not ranked
        else:
            text = f"{fmt(q.value)} [{fmt(q.ci_low)}, {fmt(q.ci_high)}]" if np.isfinite(q.value) else "n/a"
            key = (f"{q.dataset} {q.model}", q.method)
            if key in f.index and f.loc[key, "tied"]:
                text = f"**{text}**"
            if key in f.index and f.loc[key, "null"] and metric in ("ess", "oc_matched"):
                text += " †"
        cells.append(dict(method=q.method, dataset=q.dataset, model=q.model, cell=text))
    t = pd.DataFrame(cells).pivot(index="method", columns=["dataset", "model"], values="cell")
    order = [m for m in (methods or list(t.index)) if m in t.index]
    return t.loc[order]
