"""The anomaly chapter's figures: a day with its injected anomalies, training curves, ROC curves,
the boundary profile that sets the window, maps of an alarm and the ledger of one explanation.

Each function returns a matplotlib figure and draws nothing else. The shared pieces
(:func:`spikeflux.plots.event_bars`) come from :mod:`spikeflux.plots`; these are specific
to this chapter's objects (:class:`~spikeflux.anomaly.injection.Injection`, alarm tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.adl import INPUTS
from ..plots import event_bars
from .kinds import HOME_SENSORS, KINDS

__all__ = ["MIN_WIDTH", "kind_colors", "day_figure", "curves_figure", "roc_figure", "window_figure", "home_rows",
           "map_figure", "ledger_figure", "message_figure", "ecg_figure"]

HOURS = 3600
#: Seconds: shorter events are drawn this wide so they stay visible.
MIN_WIDTH = 300


def kind_colors() -> dict:
    """One colour per anomaly kind (matplotlib's Set2)."""
    import matplotlib.pyplot as plt

    return {k: plt.cm.Set2(i) for i, k in enumerate(KINDS)}


def day_figure(inj, lo: int, hi: int, title: str):
    """The sensor channels of the home over seconds ``lo..hi-1`` of the span: real events in black,
    injected cells in red, silenced cells in orange, each anomaly shaded by kind; x in hours of the day."""
    import matplotlib.pyplot as plt

    colors = kind_colors()
    rows = [c for c in INPUTS[1:] if c in HOME_SENSORS[inj.subject]]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    shift = int((inj.timestamps[lo] - inj.timestamps[lo].astype("datetime64[D]")) // np.timedelta64(1, "s"))
    for r, name in enumerate(rows):  # x in hours since midnight: (second - lo + shift) / 3600
        c = INPUTS.index(name)
        for cells, color in ((inj.x_clean[lo:hi, c] > 0, "0.25"), (inj.mask[lo:hi, c] & (inj.x[lo:hi, c] > 0), "crimson"),
                             (inj.mask[lo:hi, c] & (inj.x[lo:hi, c] == 0), "orange")):
            event_bars(ax, cells, r, color, offset=shift, min_width=MIN_WIDTH)
    for a in inj.log.itertuples():
        if a.end >= lo and a.start < hi:
            x0 = (max(a.start, lo) - lo + shift) / HOURS
            x1 = max((min(a.end, hi - 1) - lo + shift + 1) / HOURS, x0 + MIN_WIDTH / HOURS)
            ax.axvspan(x0, x1, color=colors[a.kind], alpha=0.35, lw=0, label=a.kind)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of the day")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def curves_figure(hist):
    """Training and validation loss per epoch of a :class:`~spikeflux.training.History`, the restored epoch dotted."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3))
    epochs = np.arange(1, len(hist.val_loss) + 1)
    ax.plot(epochs, hist.train_loss, marker=".", label="train")
    ax.plot(epochs, hist.val_loss, marker=".", label="validation")
    ax.axvline(hist.best_epoch + 1, color="k", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted NLL per second")
    ax.legend()
    fig.tight_layout()
    return fig


def roc_figure(curves: dict, label_of: dict, scores: dict, leave_out: dict, auc: pd.Series, threshold: float):
    """ROC curves of the per-second score, one per entry ``name: (keys, drop)`` of ``curves`` (the spans
    pooled, and whether to leave out the seconds ``leave_out[key]``), the threshold as a dot."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (name, (keys, drop)) in enumerate(curves.items()):
        keep = np.concatenate([~leave_out[k] if drop else np.ones(len(scores[k]), bool) for k in keys])
        y = np.concatenate([label_of[k] for k in keys])[keep]
        s = np.concatenate([scores[k] for k in keys])[keep]
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, color=f"C{i}", label=f"{name}: AUC {auc[name]:.2f}")
        ax.plot([np.mean(s[y == 0] > threshold)], [np.mean(s[y == 1] > threshold)], "o", color=f"C{i}")
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
    ax.set_xlabel("false positive rate (normal seconds alarmed)")
    ax.set_ylabel("true positive rate (anomalous seconds alarmed)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def window_figure(profiles: np.ndarray, is_true, windows, window: int):
    """The boundary share of every window length (``profiles`` ``(n_alarms, W)``; blue true alarms,
    red false ones, black the largest), the candidate windows grey and the chosen one dashed."""
    import matplotlib.pyplot as plt

    lags = np.arange(1, profiles.shape[1] + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for p, true in zip(profiles, is_true):
        ax.semilogy(lags / 60, np.maximum(p, 1e-17), color="C0" if true else "C3", lw=0.8, alpha=0.7)
    ax.semilogy(lags / 60, np.maximum(np.nanmax(profiles, 0), 1e-17), color="k", lw=1.5, label="largest over alarms")
    ax.axhline(0.01, color="k", ls=":", lw=1)
    for w in windows:
        ax.axvline(w / 60, color="0.7", lw=0.6)
    ax.axvline(window / 60, color="k", lw=1.2, ls="--", label=f"chosen window ({window} s)")
    ax.set_xlabel("window length w (minutes)")
    ax.set_ylabel("|Φ[t* - w + 1]| / |R_init|")
    ax.set_ylim(1e-16, 2)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def home_rows(subject: str) -> list[int]:
    """The bias and the sensor channels of a home (rows of a map)."""
    return [INPUTS.index(c) for c in INPUTS if c == "bias" or c in HOME_SENSORS[subject]]


def _draw_map(ax, A, mask, rows, title):
    A = A[rows]
    vmax = np.abs(A).max() or 1.0
    w = A.shape[1]
    extent = (-(w - 0.5) / 60, 0.5 / 60, len(rows) - 0.5, -0.5)
    im = ax.imshow(A / vmax, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", extent=extent)
    m = mask[rows]
    if m.any():
        ax.contour(np.linspace(extent[0], extent[1], w), np.arange(len(rows)), m.astype(float), levels=[0.5],
                   colors="k", linewidths=0.8)
    ax.set_yticks(range(len(rows)), [INPUTS[r] for r in rows], fontsize=7)
    ax.set_title(title, fontsize=9)
    return im


def map_figure(alarm, maps: dict, inj, methods):
    """The maps ``maps[method]`` ``(14, w)`` of one alarm (a row with ``subject`` and ``onset``), side by
    side over the minutes before it, each scaled by its largest ``|A|``; the injected cells outlined."""
    import matplotlib.pyplot as plt

    from .explanation import window_mask

    fig, axes = plt.subplots(1, len(methods), figsize=(min(9.0, max(6.5, 3.6 * len(methods))), 3.6), sharey=True, squeeze=False)
    for ax, method in zip(axes[0], methods):
        A = maps[method]
        im = _draw_map(ax, A, window_mask(inj.mask, int(alarm.onset), A.shape[1]), home_rows(alarm.subject), method)
        ax.set_xlabel("minutes before the alarm")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="A / max|A|")
    return fig


def ledger_figure(long_ledger, ledger, window: int, anomaly_since: int | None = None, kind: str | None = None):
    """Left: the flux :math:`|\\Phi[t]|` and absorption :math:`|A[t]|` of a long LRP window relative to
    :math:`R_\\text{init}`, the chosen window's start dashed and the anomaly shaded (``anomaly_since``
    seconds before the alarm). Right: the budget of the explanation over the chosen window
    (``ledger``): positive and negative input attributions and the non-zero sinks. Returns the
    figure and the budget (shares of :math:`R_\\text{init}`)."""
    import matplotlib.pyplot as plt

    r_init = float(ledger.relevance_init)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.4), width_ratios=[1.6, 1])
    phi = long_ledger.flux.numpy()
    lag = np.arange(len(phi))[::-1]  # t* - t for each slice
    ax0.semilogy(lag / 60, np.maximum(np.abs(phi) / abs(r_init), 1e-17), color="C0", label="|Φ[t]| / R_init")
    ax0.semilogy(lag / 60, np.maximum(np.abs(long_ledger.absorption.numpy()) / abs(r_init), 1e-17), color="C1",
                 lw=0.7, alpha=0.8, label="|A[t]| / R_init")
    ax0.axvline(window / 60, color="k", ls="--", lw=1, label=f"window start (w = {window} s)")
    if anomaly_since is not None:
        ax0.axvspan(max(anomaly_since, 0) / 60, 0, color=kind_colors()[kind], alpha=0.3, lw=0, label="anomaly")
    ax0.set_xlim(len(phi) / 60, 0)
    ax0.set_ylim(1e-16, 10)
    ax0.set_xlabel("minutes before the alarm (t* - t)")
    ax0.legend(fontsize=7, loc="lower left")
    budget = {"inputs: positive A": float(ledger.attribution_positive),
              "inputs: negative A": float(ledger.attribution_negative)}
    budget |= {f"sink: {k}": float(v) for k, v in ledger.sinks.items() if abs(float(v)) > 0}
    budget = pd.Series(budget) / r_init
    ax1.barh(range(len(budget)), budget.to_numpy(), color=["C2", "C3"] + ["C7"] * (len(budget) - 2))
    ax1.set_yticks(range(len(budget)), budget.index, fontsize=8)
    ax1.invert_yaxis()
    ax1.axvline(0, color="k", lw=0.8)
    ax1.set_xlabel("share of R_init")
    fig.tight_layout()
    return fig, budget


def message_figure(text: str):
    """A small figure holding only ``text`` (where a profile leaves nothing to draw)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return fig


def ecg_figure(task, score=None, tau: float | None = None, alarms=None):
    """The ECG task (:class:`~spikeflux.data.mitdb.EcgTask`): the downsampled recording with the split
    boundaries and the labelled span shaded, its delta spikes (up and down), and, given ``score`` ``(n,)``,
    the anomaly score with the threshold ``tau`` and the test ``alarms`` (``onset``, ``end``, ``true``);
    x in seconds."""
    import matplotlib.pyplot as plt

    n_rows = 3 if score is not None else 2
    fig, axes = plt.subplots(n_rows, 1, figsize=(9, 1.6 + 1.3 * n_rows), sharex=True,
                             height_ratios=[2, 1, 1.4][:n_rows])
    t = np.arange(len(task.values)) * task.step_seconds
    first, last = task.span
    for ax in axes:
        ax.axvspan(first * task.step_seconds, (last + 1) * task.step_seconds, color="crimson", alpha=0.15, lw=0)
        for split in ("val", "test"):
            ax.axvline(task.bounds[split][0] * task.step_seconds, color="0.4", ls="--", lw=0.8)
    axes[0].plot(t, task.values, color="k", lw=0.7)
    for split, (lo, hi) in task.bounds.items():
        axes[0].text((lo + hi) / 2 * task.step_seconds, 1.02, split, transform=axes[0].get_xaxis_transform(),
                     ha="center", fontsize=8)
    axes[0].set_ylabel("ECG (mV)")
    x = task.x
    for row, (c, color) in enumerate(((1, "C3"), (2, "C0"))):
        on = np.flatnonzero(x[:, c])
        axes[1].vlines(on * task.step_seconds, row - 0.4, row + 0.4, color=color, lw=0.6)
    axes[1].set_yticks([0, 1], list(task.inputs[1:]), fontsize=8)
    axes[1].set_ylim(1.6, -0.6)
    if score is not None:
        axes[2].plot(t, score, color="C2", lw=0.8, label="score s[t]")
        axes[2].axhline(tau, color="k", ls=":", lw=1, label="threshold τ")
        for a in (alarms.itertuples() if alarms is not None else []):
            axes[2].axvspan(a.onset * task.step_seconds, (a.end + 1) * task.step_seconds, ymin=0.92, ymax=1.0,
                            color="C2" if a.true else "0.5", lw=0)
        axes[2].set_ylabel("score")
        axes[2].legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig
