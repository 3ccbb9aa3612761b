r"""The Shapley chapter's study around :mod:`spikeflux.explain.agreement` (``notebooks/shapley.md``).

- :func:`study_cases`: the networks and inputs compared with the exact Shapley values: each
  trained model on every excerpt, and per depth ``n_generated`` networks of the same shape with
  random weights (weight scale 3, so that the hidden layers spike) on a seeded subset.
- :func:`total_gap`: how far a method's feature total :math:`\sum_f a_f` is from the exact
  :math:`\sum_f \phi_f = v(\text{all}) - v(\emptyset)`, relative to the largest exact total.
- :func:`cost_table`: seconds and forward passes per point of each method.
- :func:`most_contested` and :func:`interaction_reading`: the point where the methods' rank
  correlations spread most, and what the ratio of the occlusion total to the exact total says
  about the interaction of its features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .snn import LIFNetwork


def study_cases(trained: dict, X: torch.Tensor, *, n_generated: int, generated_points: int, seed: int = 0,
                device: str = "cpu") -> list[tuple[str, str, LIFNetwork, torch.Tensor]]:
    """The cases ``(kind, depth, net, X)`` of the study, in the order depth, then trained before generated.

    ``trained``: depth -> a trained float64 network; ``X``: the excerpts ``(P, T, n_in)``. Generated
    network ``g`` of a depth has the trained one's configuration with ``weight_scale=3`` and the
    seed ``1000 * (seed + 1) + g``, and explains ``min(generated_points, P)`` excerpts drawn
    without replacement by ``numpy.random.default_rng(seed + g)`` (kept in series order).
    """
    cases = []
    for depth, net0 in trained.items():
        cases.append(("trained", depth, net0, X.to(device)))
        cfg = {k: v for k, v in net0.config.items() if k not in ("sizes", "weight_scale")}
        for g in range(n_generated):
            net = LIFNetwork(net0.sizes, **{**cfg, "weight_scale": 3.0}, seed=1000 * (seed + 1) + g,
                             dtype=torch.float64, device=device)
            rows = np.random.default_rng(seed + g).choice(len(X), size=min(generated_points, len(X)), replace=False)
            cases.append(("generated", depth, net, X[np.sort(rows)].to(device)))
    return cases


def total_gap(results: pd.DataFrame, method: str) -> float:
    r"""``max |total - exact_total|`` of ``method``'s rows over the largest ``|exact_total|`` of all rows."""
    r = results[results.method == method]
    if r.empty:
        raise ValueError(f"method {method!r} has no rows in results (methods: {sorted(set(results.method))})")
    return float((r.total - r.exact_total).abs().max() / results.exact_total.abs().max())


def seconds_per_point(timings: pd.DataFrame, methods) -> pd.Series:
    """Wall seconds per explained point of ``shapley-exact`` and ``methods``, mean over the trained cases."""
    return timings[timings.kind == "trained"].groupby("method").seconds_per_point.mean().loc[["shapley-exact", *methods]]


def cost_table(timings: pd.DataFrame, results: pd.DataFrame, methods, n_features: int) -> pd.DataFrame:
    """:func:`seconds_per_point` and forward passes per point of ``shapley-exact`` and ``methods``, as
    text: the exact values take ``2**n_features`` passes, a method that does not evaluate the game
    (no ``evaluations``) shows a dash.
    """
    cost = seconds_per_point(timings, methods)
    evals = results[results.kind == "trained"].groupby("method").evaluations.first()

    def passes(m):
        if m in evals and pd.notna(evals[m]):
            return f"{int(evals[m]):,}"
        return "%d" % 2 ** n_features if m == "shapley-exact" else "–"

    return pd.DataFrame({"seconds per point": cost.map(lambda s: f"{s:.3f}"),
                         "forward passes per point": [passes(m) for m in cost.index]})


def most_contested(results: pd.DataFrame, methods) -> tuple[int, int, float]:
    """``(case, point, spread)``: the trained point where the Spearman correlations of ``methods``
    spread most (largest max - min; points with an undefined correlation left out)."""
    tr = results[(results.kind == "trained") & results.method.isin(methods)].dropna(subset=["spearman"])
    spread = tr.groupby(["case", "point"]).spearman.agg(lambda s: s.max() - s.min())
    case, point = spread.idxmax()
    return int(case), int(point), float(spread.max())


def interaction_reading(ratio: float) -> str:
    r"""What the ratio of the occlusion total to :math:`v(\text{all}) - v(\emptyset)` says (1 for an additive game)."""
    if ratio < 0:
        return ("of the opposite sign: removing any one segment from the full window moves the margin the "
                "other way than removing them all, so the effect of each feature depends on which others are present")
    if ratio < 1:
        return ("below 1: removing a segment from the full window changes little when the other segments carry "
                "the same evidence (redundancy)")
    return ("above 1: spikes of several segments are needed together to reach threshold, so removing any one "
            "of them costs more than its share (synergy)")
