r"""Cost of the explanation methods: wall time against window length, explained targets and width.

The book's explanation cost is measured on an ADL-sized network with random weights,
``LIFNetwork([14, width, 11])`` (one hidden layer, ``weight_scale=0.5`` so that the
hidden layer spikes), explaining ``targets`` steps of one random sparse binary input
(bias channel always on) over windows of ``window`` steps, float64, single-threaded
unless the caller sets otherwise. One size is varied at a time around :data:`BASE`; the
cost then follows a power law :math:`c \cdot n^k` whose exponent :math:`k` (the slope on
log–log axes, :func:`slopes`) tells how a method scales: 1 is linear in the size.

:func:`measure` returns one row per (method, axis, value) with the best of ``repeat``
wall times (the usual estimate of a call's cost on a shared machine);
``benchmarks/bench_cost.py`` runs it on a larger grid from the command line.
"""

from __future__ import annotations

import time

import numpy as np
import torch

#: The sizes held fixed while one of them is varied.
BASE = dict(window=200, targets=4, width=100)
#: The methods whose cost the book reports, by family: transport LRP, TSA, a gradient path, DeepLIFT.
METHODS = ("lrp-epsilon", "tsa-s", "integrated-gradients", "deeplift")
#: Integration steps of integrated gradients in the benchmark (its cost is proportional to them).
IG_STEPS = 16
AXES = ("window", "targets", "width")


def network(width: int, seed: int = 0):
    """An ADL-sized one-hidden-layer LIF network ``[14, width, 11]`` with random weights, float64."""
    from .snn import LIFNetwork

    return LIFNetwork([14, width, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=0.5, seed=seed).double()


def sequence(window: int, n_in: int = 14, rate: float = 0.05, seed: int = 0) -> torch.Tensor:
    """A random sparse binary input ``(2 * window, n_in)``, channel 0 (the bias) always on."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(2 * window, n_in, generator=g) < rate).double()
    x[:, 0] = 1.0
    return x


def targets_of(window: int, k: int) -> list[int]:
    """``k`` explained steps spread over the second half ``[window - 1, 2 * window - 1]``."""
    return np.linspace(window - 1, 2 * window - 1, k).round().astype(int).tolist()


def _seconds(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def measure(methods=METHODS, grid: dict | None = None, base: dict | None = None, repeat: int = 1, seed: int = 0,
            progress: bool = True) -> list[dict]:
    """Wall time of one ``explain`` call of each method, varying one size of ``base`` at a time.

    ``grid`` maps an axis of :data:`AXES` to its values. Returns rows ``method, axis, value,
    window, targets, width, seconds`` (the best of ``repeat`` calls, after one warm-up call
    per method).
    """
    from tqdm.auto import tqdm

    from .explain import explain

    base = dict(BASE if base is None else base)
    grid = grid or {a: [base[a]] for a in AXES}
    bad = set(grid) - set(AXES)
    if bad:
        raise ValueError(f"measure: unknown axis {sorted(bad)}; expected some of {AXES}")
    cases = [(axis, v) for axis, values in grid.items() for v in values]
    rows = []
    warm = set()
    for axis, v in tqdm(cases, desc="cost", disable=not progress):
        size = dict(base, **{axis: int(v)})
        net, x = network(size["width"], seed), sequence(size["window"], seed=seed)
        t = targets_of(size["window"], size["targets"])
        for m in methods:
            opts = {"n_steps": IG_STEPS} if m == "integrated-gradients" else {}
            call = lambda: explain(net, x, t, method=m, window=size["window"], **opts)  # noqa: E731
            if m not in warm:
                call()
                warm.add(m)
            rows.append(dict(method=m, axis=axis, value=int(v), **size, seconds=_seconds(call, repeat)))
    return rows


def slopes(rows) -> list[dict]:
    """Least-squares exponent :math:`k` of ``seconds ~ value^k`` per (method, axis), on log–log axes,
    with the coefficient of determination ``r2``; axes with fewer than two values are skipped."""
    import pandas as pd

    df = pd.DataFrame(rows)
    out = []
    for (m, axis), g in df.groupby(["method", "axis"], sort=False):
        if g.value.nunique() < 2:
            continue
        lx, ly = np.log(g.value.to_numpy(float)), np.log(g.seconds.to_numpy(float))
        k, c = np.polyfit(lx, ly, 1)
        resid = ly - (k * lx + c)
        r2 = 1 - resid.var() / ly.var() if ly.var() > 0 else 1.0
        out.append(dict(method=m, axis=axis, slope=float(k), r2=float(r2)))
    return out


def cost_plot(rows, slope_rows=None):
    """One log–log panel per axis: seconds per call against the size, one line per method in
    its colour, the fitted slope in the legend; returns the figure."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from . import plots

    df = pd.DataFrame(rows)
    k = {(r["method"], r["axis"]): r["slope"] for r in (slope_rows if slope_rows is not None else slopes(rows))}
    axes_present = [a for a in AXES if a in set(df.axis)]
    fig, axes = plt.subplots(1, len(axes_present), figsize=(3.0 * len(axes_present), 3.4), squeeze=False,
                             sharey=True, layout="constrained")
    label = {"window": "window length (steps)", "targets": "explained targets per call", "width": "hidden neurons"}
    for ax, axis in zip(axes[0], axes_present):
        g = df[df.axis == axis]
        for m in plots.sort_methods(g.method):
            h = g[g.method == m].sort_values("value")
            style = plots.method_style(m)
            slope = k.get((m, axis))
            style["label"] = f"{m}: k = {slope:.2f}" if slope is not None else m
            ax.loglog(h.value, h.seconds, **style)
        ax.set_xlabel(label[axis])
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(color="0.9", lw=0.6)
    axes[0, 0].set_ylabel("seconds per explain call")
    return fig
