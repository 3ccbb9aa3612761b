r"""How close is a method to the exact Shapley values? Feature-level agreement and cost (``notebooks/shapley.md``).

For every explained point the exact Shapley values :math:`\phi_f` of the features of
:mod:`.shapley` are the reference. A method's map :math:`A_i[t]` is summed over each feature's
cells, :math:`a_f = \sum_{(i,t) \in f} A_i[t]`, and compared with :math:`\phi`:

- ``spearman``: Spearman's rank correlation of :math:`a` and :math:`\phi` (signed values; NaN
  when either is constant, e.g. a point whose every coalition has the same value);
- ``topk``: the share of the ``k`` features with the largest :math:`|\phi_f|` that are among the
  ``k`` with the largest :math:`|a_f|` (ties broken by feature index);
- ``total``: :math:`\sum_f a_f`, against :math:`\sum_f \phi_f = v(\text{all}) - v(\emptyset)`.

:func:`compare` explains a batch of excerpts with every method and returns tidy rows (one per
point and method) and the wall time of each method (kept apart from the result rows).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy import stats as _st
from torch import Tensor

from ..snn import LIFNetwork
from .explanation import explain


def feature_sums(attribution: Tensor, ids: Tensor, n: int) -> Tensor:
    """``(P, n)``: the sum of each feature's cells of maps ``(P, n_in, window)`` under feature map ``ids`` ``(n_in, window)``."""
    keep = ids >= 0
    A = attribution.to(torch.float64)[:, keep]  # (P, cells)
    return torch.zeros(A.shape[0], n, dtype=torch.float64).index_add_(1, ids[keep].to(A.device), A)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation, NaN when either vector is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(_st.spearmanr(a, b)[0])


def top_k(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Share of the ``k`` largest ``|b|`` that are among the ``k`` largest ``|a|`` (stable order: ties by index)."""
    ta = set(np.argsort(-np.abs(a), kind="stable")[:k].tolist())
    tb = set(np.argsort(-np.abs(b), kind="stable")[:k].tolist())
    return len(ta & tb) / k


def compare(net: LIFNetwork, X: Tensor, window: int, methods, *, contrast=None, k: int = 4,
            options: dict | None = None, feature_options: dict | None = None) -> tuple[list[dict], dict, dict]:
    r"""Every method against ``shapley-exact`` on the excerpts ``X`` ``(P, T, n_in)``, explained at their last step.

    ``options``: per-method options (e.g. ``{"kernel-shap": {"n_samples": 425}}``);
    ``feature_options``: the feature map options of :mod:`.shapley` shared by the exact values
    and the perturbation baselines. Returns ``(rows, seconds, values)``: ``rows`` one dict per point
    and method (``point, method, spearman, topk, total, exact_total, evaluations``), ``seconds``
    the wall time of each method (the exact values under ``"shapley-exact"``), and ``values``
    the feature-level attributions ``(P, n)`` of every method (exact included).
    """
    options, feature_options = dict(options or {}), dict(feature_options or {})
    t = X.shape[1] - 1
    start = time.perf_counter()
    exact = explain(net, X, t, method="shapley-exact", window=window, contrast=contrast, **feature_options)
    seconds = {"shapley-exact": time.perf_counter() - start}
    phi = exact.info["feature_values"].to(torch.float64).cpu()
    ids, n = exact.info["features"][0].cpu(), int(exact.info["n_features"])
    values = {"shapley-exact": phi.numpy()}
    rows = []
    for method in methods:
        opts = dict(options.get(method, {}))
        if method in ("shapley-sampling", "kernel-shap", "occlusion"):
            opts = {**feature_options, **opts}
        start = time.perf_counter()
        e = explain(net, X, t, method=method, window=window, contrast=contrast, **opts)
        seconds[method] = time.perf_counter() - start
        a = feature_sums(e.attribution.cpu(), ids, n).numpy()
        values[method] = a
        evals = e.info.get("evaluations")
        for p in range(len(X)):
            rows.append(dict(point=p, method=method, spearman=spearman(a[p], phi[p].numpy()),
                             topk=top_k(a[p], phi[p].numpy(), k), total=float(a[p].sum()),
                             exact_total=float(phi[p].sum()), evaluations=evals))
    return rows, seconds, values


#: The methods the chapter compares with the exact values, in the book's order.
METHODS = ("lrp-epsilon", "lrp-zplus", "lrp-alphabeta", "deeplift", "integrated-gradients", "input-x-gradient",
           "saliency", "tsa-s", "tsa-ns", "shapley-sampling", "kernel-shap", "occlusion")


def study(cases: list[tuple[str, str, LIFNetwork, Tensor]], window: int, methods=METHODS, *, contrast=None,
          k: int = 4, options: dict | None = None, feature_options: dict | None = None, progress: bool = True):
    """:func:`compare` on every case ``(kind, depth, net, X)``; returns ``(results, timings, values)``.

    ``results``: a DataFrame with columns ``kind, depth, case, point`` and those of :func:`compare`;
    ``timings``: seconds per point of every method and case (wall time, kept out of the results);
    ``values``: ``{case: {method: (P, n) feature values}}``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    rows, times, values = [], [], {}
    for c, (kind, depth, net, X) in enumerate(tqdm(cases, desc="shapley study", disable=not progress)):
        r, sec, v = compare(net, X, window, methods, contrast=contrast, k=k, options=options,
                            feature_options=feature_options)
        rows += [dict(kind=kind, depth=depth, case=c, **row) for row in r]
        times += [dict(kind=kind, depth=depth, case=c, method=m, points=len(X), seconds_per_point=s / len(X))
                  for m, s in sec.items()]
        values[c] = v
    return pd.DataFrame(rows), pd.DataFrame(times), values


def summary(results, by=("kind", "depth", "method"), n_boot: int = 1000, seed: int = 0):
    """Mean Spearman correlation and top-k agreement per group with 95% percentile-bootstrap intervals over points."""
    import pandas as pd

    from ..evaluation.stats import bootstrap_ci

    out = []
    for key, g in results.groupby(list(by), sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for metric in ("spearman", "topk"):
            m, lo, hi = bootstrap_ci(g[metric].to_numpy(), n_boot=n_boot, seed=seed)
            row.update({metric: m, f"{metric}_low": lo, f"{metric}_high": hi})
        row["points"] = int(g["spearman"].notna().sum())
        out.append(row)
    return pd.DataFrame(out)


def feature_bars(ax, values: dict, methods, features: Tensor, channels=("bias", "x1", "x2")):
    """Bars of each method's feature values at one point, each scaled to unit maximum |value|; returns ``ax``.

    ``values``: method -> ``(n,)``; features are labelled ``channel@lag`` (lag of the segment's
    most recent step before :math:`t^*`) from the map ``features`` ``(n_in, window)``.
    """
    from .. import plots

    n = len(next(iter(values.values())))
    w = features.shape[1]
    labels = []
    for f in range(n):
        i, t = (features == f).nonzero()[:, 0], (features == f).nonzero()[:, 1]
        labels.append(f"{channels[int(i[0])]}@{w - 1 - int(t.max())}")
    width = 0.8 / len(methods)
    for j, m in enumerate(methods):
        v = np.asarray(values[m], dtype=float)
        scale = np.abs(v).max() or 1.0
        ax.bar(np.arange(n) + (j - (len(methods) - 1) / 2) * width, v / scale, width,
               color=plots.method_color(m), label=m)
    ax.set_xticks(np.arange(n), labels, rotation=90, fontsize=7)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("feature value / max |value|")
    ax.legend(fontsize=7, ncol=2)
    return ax
