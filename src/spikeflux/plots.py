"""The book's figures: one palette of methods, one colour map of attributions, and the plots
the chapters share.

Every chapter calls these instead of drawing its own, so a method has the same colour on
every page and an attribution the same colour scale.

- :data:`METHOD_COLORS` / :func:`method_color` / :func:`method_style`: one colour per
  method. Families share a hue (Okabe–Ito's colour-blind-safe hues: LRP blue, TSA vermillion to orange,
  gradients bluish green, perturbation and Shapley reddish purple, baselines grey) and differ
  in lightness and marker, so a family reads as a group and a member stays identifiable in
  grey scale and under the common colour-vision deficiencies.
- :data:`ATTRIBUTION_CMAP` and :func:`symmetric_norm`: the diverging map of attributions
  (ColorBrewer RdBu reversed: red positive, blue negative, white zero).
- :func:`attribution_map` / :func:`attribution_grid`: a map ``A`` of shape
  ``(n_in, w)`` (column ``w-1`` is the explained step :math:`t^*`) drawn over the lag
  :math:`t^* - t` on a symmetric-log axis, input spikes and ground truth on the same axes.
  The relevance of these models lives in the last tens of steps of a window of hundreds:
  on a linear axis most of a panel would be empty.
- :func:`interval_plot`: dot-and-interval of methods × models, with significance marks.
- :func:`curves_plot`: curves (deletion, output-completeness) as small multiples with the
  methods of interest highlighted.
- :func:`rank_plot`: mean ranks of the methods over models with the Nemenyi critical
  difference (Demšar 2006).
- :func:`event_bars`: the runs of a 0/1 series (sensor events, labels) as bars on an hour
  axis, short events drawn at a minimum width (the ADL and anomaly chapters' day plots).
- The chapters' own figures, one function each, in sections by chapter at the end of the
  module (e.g. :func:`day_plot`, :func:`confusion_plot`, :func:`delay_plot`,
  :func:`variant_budget_plot`, :func:`reach_profiles_plot`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

#: The explanation methods of the book, by family (the order of the legends).
METHOD_FAMILIES: dict[str, tuple[str, ...]] = {
    "lrp": ("lrp-epsilon", "lrp-zplus", "lrp-alphabeta", "lrp-0"),
    "tsa": ("tsa-s", "tsa-ns", "sam", "tsa-delay"),
    "gradient": ("integrated-gradients", "saliency", "input-x-gradient", "deeplift"),
    "perturbation": ("shapley-exact", "shapley-sampling", "kernel-shap", "occlusion"),
    "baseline": ("random", "zero"),
}

# Okabe & Ito (2008) hues; members of a family go from dark to light.
_FAMILY_SHADES: dict[str, tuple[str, ...]] = {
    "lrp": ("#004a7a", "#0072b2", "#56a0d3", "#8fc1e6"),
    "tsa": ("#9c3f00", "#d55e00", "#e69f00", "#f0c04a"),
    "gradient": ("#005c43", "#009e73", "#3fbf98", "#85d8bd"),
    "perturbation": ("#7a2d5e", "#b8538f", "#d98bb8", "#ebbbd6"),
    "baseline": ("#333333", "#999999"),
}
_MARKERS = ("o", "s", "^", "D")

#: One colour per method (hex), for every figure of the book.
METHOD_COLORS: dict[str, str] = {
    m: _FAMILY_SHADES[fam][i] for fam, ms in METHOD_FAMILIES.items() for i, m in enumerate(ms)
}
#: The family of each method.
METHOD_FAMILY: dict[str, str] = {m: fam for fam, ms in METHOD_FAMILIES.items() for m in ms}
#: The order methods appear in legends and axes: by family, then as listed.
METHOD_ORDER: tuple[str, ...] = tuple(METHOD_COLORS)

#: The diverging colour map of attributions: red positive, blue negative, white zero.
ATTRIBUTION_CMAP = "RdBu_r"
#: Colour of ground-truth outlines and input spikes drawn over a map.
GROUND_TRUTH_COLOR = "#009e73"
SPIKE_COLOR = "black"


def _check_method(name: str) -> str:
    if name not in METHOD_COLORS:
        raise KeyError(f"spikeflux.plots: no colour for method {name!r}; known methods: "
                       f"{', '.join(METHOD_ORDER)} (add it to METHOD_FAMILIES)")
    return name


def method_color(name: str) -> str:
    """The colour (hex) of method ``name``; ``KeyError`` naming the method if it has none."""
    return METHOD_COLORS[_check_method(name)]


def method_style(name: str) -> dict:
    """Keyword arguments for ``ax.plot`` of method ``name``: colour, marker, label.

    The marker tells the members of a family apart where colour alone might not.
    """
    fam = METHOD_FAMILY[_check_method(name)]
    return dict(color=METHOD_COLORS[name], marker=_MARKERS[METHOD_FAMILIES[fam].index(name)], label=name)


def sort_methods(names: Iterable[str]) -> list[str]:
    """``names`` in the book's order (by family); unknown names fail with ``KeyError``."""
    names = list(dict.fromkeys(names))
    for n in names:
        _check_method(n)
    return sorted(names, key=METHOD_ORDER.index)


def symmetric_norm(*arrays, vmax: float | None = None, quantile: float = 1.0):
    """A ``Normalize(-v, v)`` for attributions: ``v`` is ``vmax`` or the ``quantile`` of ``|A|``
    over all ``arrays`` (1.0: the largest), so zero is white and equal magnitudes get equal colours.
    A map of zeros gets ``v = 1``."""
    from matplotlib.colors import Normalize

    if vmax is None:
        if not arrays:
            raise ValueError("symmetric_norm: give at least one array or vmax")
        a = np.concatenate([np.abs(np.asarray(x, dtype=float)).ravel() for x in arrays])
        a = a[np.isfinite(a)]
        vmax = float(np.quantile(a, quantile)) if a.size else 0.0
    if not np.isfinite(vmax) or vmax < 0:
        raise ValueError(f"symmetric_norm: vmax must be finite and >= 0, got {vmax}")
    v = vmax if vmax > 0 else 1.0
    return Normalize(vmin=-v, vmax=v)


def support_lag(A, mass: float = 0.99) -> int:
    """The smallest lag ``L`` such that the steps with lag ``< L`` (the last ``L`` columns of
    ``A``, shape ``(..., w)``) hold ``mass`` of ``sum |A|``; ``1`` for a map of zeros."""
    if not 0 < mass <= 1:
        raise ValueError(f"support_lag: mass must be in (0, 1], got {mass}")
    col = np.abs(np.asarray(A, dtype=float)).reshape(-1, np.shape(A)[-1]).sum(0)[::-1]  # by lag
    total = col.sum()
    if total == 0:
        return 1
    return int(np.searchsorted(np.cumsum(col) / total, mass - 1e-12) + 1)


def _lag_axis(ax, w: int) -> None:
    ax.set_xscale("symlog", linthresh=1, linscale=0.4)
    ax.set_xlim(w, 0)  # t* on the right, the past to the left
    ticks = [0] + [10 ** k for k in range(int(np.log10(max(w, 1))) + 1)]
    if w >= 3 * ticks[-1]:  # the window length itself, where its label does not crowd the last decade
        ticks.append(w)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])


def attribution_map(ax, A, x=None, ground_truth=None, *, norm=None, channels: Sequence[str] | None = None,
                    title: str | None = None, lag_axis: bool = True, spike_size: float = 4.0):
    """Draw one attribution map on ``ax``; returns the image (for a colour bar).

    Parameters
    ----------
    A : array ``(n_in, w)``
        The map; column ``w-1`` is the explained step :math:`t^*`.
    x : array ``(>= w, n_in)``, optional
        The input spikes; the last ``w`` steps are drawn as ticks on the map.
    ground_truth : bool array ``(n_in, w)``, optional
        Drawn as outlined boxes (:data:`GROUND_TRUTH_COLOR`) around its runs of steps.
    norm : ``Normalize``, optional
        Default :func:`symmetric_norm` of ``A`` (the panel's own largest ``|A|``).
    lag_axis : bool
        ``True``: the x axis is the lag :math:`t^* - t` in steps, symmetric-log (linear
        below 1), :math:`t^*` on the right. ``False``: the step index ``0..w-1``, linear.
    """
    from matplotlib.patches import Rectangle

    A = np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"attribution_map: A must be (n_in, w), got shape {A.shape}")
    n_in, w = A.shape
    norm = norm or symmetric_norm(A)
    # cell of step column j: lag k = w-1-j spans [k, k+1] on the lag axis
    edges = np.arange(w + 1)[::-1] if lag_axis else np.arange(w + 1) - 0.5
    pos = (lambda j: w - 1 - j) if lag_axis else (lambda j: j - 0.5)
    im = ax.pcolormesh(edges, np.arange(n_in + 1) - 0.5, A, cmap=ATTRIBUTION_CMAP, norm=norm,
                       shading="flat", rasterized=True)
    if x is not None:
        xs = np.asarray(x)[-w:].T
        if xs.shape != A.shape:
            raise ValueError(f"attribution_map: x must end with {w} steps of {n_in} channels, got {np.shape(x)}")
        ii, jj = np.nonzero(xs)
        ax.scatter(pos(jj) + 0.5, ii, s=spike_size, c=SPIKE_COLOR, marker="|", linewidths=0.6, zorder=3)
    if ground_truth is not None:
        gt = np.asarray(ground_truth, dtype=bool)
        if gt.shape != A.shape:
            raise ValueError(f"attribution_map: ground_truth must have A's shape {A.shape}, got {gt.shape}")
        for i in range(n_in):
            d = np.diff(np.r_[0, gt[i].astype(int), 0])
            for j0, j1 in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
                x0, x1 = (w - j1, w - j0) if lag_axis else (j0 - 0.5, j1 - 0.5)
                ax.add_patch(Rectangle((x0, i - 0.45), x1 - x0, 0.9, fill=False, ec=GROUND_TRUTH_COLOR,
                                       lw=1.2, zorder=4))
    if lag_axis:
        _lag_axis(ax, w)
    else:
        ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(n_in - 0.5, -0.5)
    if channels is not None:
        ax.set_yticks(range(n_in), list(channels))
    if title:
        ax.set_title(title)
    return im


def attribution_grid(maps: Mapping[tuple[str, str], np.ndarray], rows: Sequence[str], cols: Sequence[str], *,
                     x: Mapping[str, np.ndarray] | None = None, ground_truth: Mapping[str, np.ndarray] | None = None,
                     channels: Sequence[str] | None = None, row_label=str, col_label=str,
                     panel_width: float = 2.3, panel_height: float = 0.9, lag_axis: bool = True):
    """A grid of :func:`attribution_map` panels; returns the figure.

    ``maps[(row, col)]`` is an ``(n_in, w)`` map (missing keys leave a blank panel); rows are
    typically methods and columns models. ``x[col]`` and ``ground_truth[col]`` are the input
    and ground truth of column ``col``. Each panel is normalised by its own largest ``|A|``
    (one colour bar, ``A / max|A|``); the x axis is shared and labelled on the bottom row.
    """
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable

    fig, axes = plt.subplots(len(rows), len(cols), figsize=(panel_width * len(cols) + 0.9,
                                                           panel_height * len(rows) + 0.9),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            if (r, c) not in maps:
                ax.set_axis_off()
                continue
            attribution_map(ax, maps[(r, c)], None if x is None else x.get(c),
                            None if ground_truth is None else ground_truth.get(c),
                            channels=channels if j == 0 else None, lag_axis=lag_axis)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(col_label(c), fontsize=9)
            if j == 0:
                ax.set_ylabel(row_label(r), fontsize=8, rotation=0, ha="right", va="center")
    for ax in axes[-1]:
        ax.set_xlabel("steps before $t^*$" if lag_axis else "step")
    fig.colorbar(ScalarMappable(symmetric_norm(vmax=1), ATTRIBUTION_CMAP), ax=axes, shrink=0.5,
                 label="A / max|A| (per panel)")
    return fig


def _marks(frame, col):
    return np.zeros(len(frame), bool) if col is None else frame[col].to_numpy(bool)


def interval_plot(df, value: str, low: str | None = None, high: str | None = None, *, method: str = "method",
                  facet: str = "model", tied: str | None = None, null: str | None = None,
                  xlabel: str | None = None, ncols: int = 3, panel_width: float = 2.6, reference=None,
                  xscale: str = "linear", sharex: bool = False):
    """Dot-and-interval plot of methods × models; returns the figure.

    One panel per value of ``facet`` (the models), methods on the y axis in the book's order,
    a dot at ``value`` and a line from ``low`` to ``high`` (a confidence interval), coloured by
    method. Significance marks, from boolean columns:

    - ``tied``: the method is not significantly different from the best of its panel: a
      hollow dot;
    - ``null``: the method is not significantly better than the random baseline: a cross.

    ``reference`` draws a vertical line (for example the random baseline's value); ``xscale``
    is passed to ``ax.set_xscale`` (``"log"`` for values over decades, labelled at the
    decades); ``sharex`` gives every panel the same x axis.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    for col in (value, low, high, method, facet, tied, null):
        if col is not None and col not in df.columns:
            raise KeyError(f"interval_plot: no column {col!r} in the table (columns: {list(df.columns)})")
    facets = list(dict.fromkeys(df[facet]))
    methods = sort_methods(df[method])
    nrows = -(-len(facets) // ncols)
    ncols = min(ncols, len(facets))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_width * ncols + 1.2, 0.22 * len(methods) * nrows + 0.9),
                             squeeze=False, sharey=True, sharex=sharex, layout="constrained")
    for k, f in enumerate(facets):
        ax = axes.flat[k]
        g = df[df[facet] == f]
        y = np.array([methods.index(m) for m in g[method]])
        v = g[value].to_numpy(float)
        cols = [method_color(m) for m in g[method]]
        if low is not None and high is not None:
            ax.hlines(y, g[low].to_numpy(float), g[high].to_numpy(float), colors=cols, lw=1.6)
        hollow, cross = _marks(g, tied), _marks(g, null)
        full = ~hollow & ~cross
        ax.scatter(v[full], y[full], c=np.array(cols)[full] if full.any() else None, s=28, zorder=3)
        if hollow.any():
            ax.scatter(v[hollow & ~cross], y[hollow & ~cross], facecolors="white",
                       edgecolors=np.array(cols)[hollow & ~cross], s=28, lw=1.4, zorder=3)
        if cross.any():
            ax.scatter(v[cross], y[cross], c=np.array(cols)[cross], marker="x", s=30, lw=1.4, zorder=3)
        if reference is not None:
            ax.axvline(reference, color="0.5", ls=":", lw=1)
        ax.set_xscale(xscale)
        if xscale == "log":
            from matplotlib.ticker import LogLocator, NullFormatter

            ax.xaxis.set_major_locator(LogLocator(numticks=6))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(str(f), fontsize=9)
        ax.grid(axis="x", color="0.9", lw=0.6)
        ax.set_axisbelow(True)
    for ax in axes.flat[len(facets):]:
        ax.set_axis_off()
    ax0 = axes[0, 0]
    ax0.set_yticks(range(len(methods)), methods)
    ax0.set_ylim(len(methods) - 0.5, -0.5)
    for ax in axes[-1]:
        ax.set_xlabel(xlabel or value)
    handles = [Line2D([], [], marker="o", ls="", color="0.3", label="significantly worse than the best")]
    if tied is not None:
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="0.3", label="among the best (beats random, not significantly worse)"))
    if null is not None:
        handles.append(Line2D([], [], marker="x", ls="", color="0.3", label="not significantly better than random"))
    if len(handles) > 1:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    return fig


def curves_plot(df, x: str, y: str, *, method: str = "method", facet: str = "model", highlight=None,
                low: str | None = None, high: str | None = None, xlabel: str | None = None,
                ylabel: str | None = None, ncols: int = 3, panel_width: float = 3.0, panel_height: float = 2.2,
                logy: bool = False):
    """Curves (deletion, output-completeness, ...) as small multiples; returns the figure.

    One panel per value of ``facet``; every method of ``df`` is drawn in its colour, thin and
    faint, the ``highlight`` methods (a name or a list; default all) thick, with their
    ``low``–``high`` band if given. One legend for the whole figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    for col in (x, y, method, facet, low, high):
        if col is not None and col not in df.columns:
            raise KeyError(f"curves_plot: no column {col!r} in the table (columns: {list(df.columns)})")
    methods = sort_methods(df[method])
    hl = set(methods if highlight is None else [highlight] if isinstance(highlight, str) else highlight)
    for m in hl:
        _check_method(m)
    facets = list(dict.fromkeys(df[facet]))
    nrows, ncols = -(-len(facets) // ncols), min(ncols, len(facets))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_width * ncols, panel_height * nrows + 0.8),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    for k, f in enumerate(facets):
        ax = axes.flat[k]
        g = df[df[facet] == f]
        for m in sorted(methods, key=lambda m: m in hl):  # highlighted on top
            c = g[g[method] == m].sort_values(x)
            if c.empty:
                continue
            on = m in hl
            ax.plot(c[x], c[y], color=method_color(m), lw=2.0 if on else 0.9, alpha=1.0 if on else 0.6,
                    zorder=3 if on else 2)
            if on and low is not None and high is not None:
                ax.fill_between(c[x], c[low], c[high], color=method_color(m), alpha=0.2, lw=0)
        if logy:
            ax.set_yscale("log")
        ax.set_title(str(f), fontsize=9)
    for ax in axes.flat[len(facets):]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel(xlabel or x)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel or y)
    handles = [Line2D([], [], color=method_color(m), lw=2.0 if m in hl else 0.9, alpha=1.0 if m in hl else 0.6,
                      label=m) for m in methods]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(methods), 5), fontsize=8, frameon=False)
    return fig


def mean_ranks(df, value: str, *, method: str = "method", block: str = "model", higher_is_better: bool = True):
    """Mean rank of each method over the blocks (models, seeds); rank 1 is the best, ties averaged.

    Returns a ``pandas.Series`` sorted best first and the number of blocks ``N`` (only blocks
    in which every method has a value count).
    """
    wide = df.pivot_table(index=block, columns=method, values=value, aggfunc="mean").dropna()
    if wide.empty:
        raise ValueError(f"mean_ranks: no {block} has a {value!r} for every method")
    ranks = wide.rank(axis=1, ascending=not higher_is_better, method="average")
    return ranks.mean().sort_values(), len(wide)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks for ``k`` methods over ``n`` blocks (Demšar 2006):
    :math:`q_\\alpha \\sqrt{k(k+1)/(6n)}` with :math:`q_\\alpha` the studentised range quantile / √2."""
    from scipy.stats import studentized_range

    if k < 2 or n < 1:
        raise ValueError(f"critical_difference: need k >= 2 methods and n >= 1 blocks, got k={k}, n={n}")
    q = studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def rank_plot(df, value: str, *, method: str = "method", block: str = "model", higher_is_better: bool = True,
              alpha: float = 0.05, width: float = 6.5):
    """Mean ranks of the methods (dots in their colours, best on the left) with the Nemenyi
    critical difference as a bar and thick lines joining methods closer than it; returns the figure."""
    import matplotlib.pyplot as plt

    ranks, n = mean_ranks(df, value, method=method, block=block, higher_is_better=higher_is_better)
    k = len(ranks)
    cd = critical_difference(k, n, alpha)
    fig, ax = plt.subplots(figsize=(width, 0.28 * k + 1.1), layout="constrained")
    order = list(ranks.index)
    for i, m in enumerate(order):
        ax.plot([ranks[m]], [i], "o", color=method_color(m), ms=7, zorder=3)
        ax.annotate(f"{m} ({ranks[m]:.2f})", (ranks[m], i), xytext=(7, 0), textcoords="offset points",
                    va="center", fontsize=8)
    # groups: maximal runs whose mean ranks lie within cd of each other
    spans = []
    for i in range(k):
        j = max(jj for jj in range(i, k) if ranks.iloc[jj] - ranks.iloc[i] <= cd)
        if j > i and not any(a <= i and j <= b for a, b in spans):
            spans.append((i, j))
    for a, b in spans:
        ax.add_patch(plt.Rectangle((ranks.iloc[a] - 0.08, a - 0.3), ranks.iloc[b] - ranks.iloc[a] + 0.16,
                                   b - a + 0.6, color="0.85", zorder=1, lw=0))
    ax.errorbar([1 + cd / 2], [-1], xerr=[cd / 2], color="k", capsize=3)
    ax.text(1 + cd / 2, -1.35, f"CD = {cd:.2f} (Nemenyi, α = {alpha}, N = {n})", ha="center", va="bottom", fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(k - 0.4, -1.9)
    ax.set_xlim(0.5, k + 0.5 + 0.25 * k)
    ax.set_xlabel("mean rank (1 = best)")
    for s in ("left", "right", "top"):
        ax.spines[s].set_visible(False)
    return fig


def event_bars(ax, mask, row: float, color, *, offset: int = 0, min_width: int = 60, unit: int = 3600) -> None:
    """Draw the runs of True in ``mask`` ``(n,)`` as bars in row ``row`` (height 0.8).

    Second ``i`` of ``mask`` lies at ``(offset + i) / unit`` on the x axis (hours by
    default); a run shorter than ``min_width`` seconds is drawn that wide so it stays
    visible. The runs are :func:`spikeflux.data.adl.runs`.
    """
    from .data.adl import runs

    starts, lengths = runs(mask)
    ax.broken_barh([((offset + a) / unit, max(n, min_width) / unit) for a, n in zip(starts, lengths)],
                   (row - 0.4, 0.8), color=color, lw=0)


def sanity_plot(cascading, value: str = "spearman_abs_support", ylabel: str = "Spearman of |A| on the support"):
    """Cascading randomisation: one panel per data set (its deepest model), the correlation of each
    method's maps with the original against the number of weight layers re-drawn; returns the figure.

    ``cascading``: the ``check == "cascading"`` rows of ``sanity.csv`` (columns dataset, model,
    method, randomised_layers and ``value``).
    """
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(cascading["dataset"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(9, 3.2), sharey=True, squeeze=False, layout="constrained")
    for ax, task in zip(axes[0], tasks):
        g = cascading[cascading["dataset"] == task]
        deepest = g[g["model"] == g["model"].max()]
        for m in sort_methods(deepest["method"]):
            gm = deepest[deepest["method"] == m]
            ax.plot(gm["randomised_layers"], gm[value], marker="o", color=method_color(m), label=m)
        ax.set_title(f"{task} {deepest['model'].iloc[0]}")
        ax.set_xlabel("weight layers re-drawn (output first)")
        ax.axhline(0, color="0.6", lw=0.8)
    axes[0, 0].set_ylabel(ylabel)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right", fontsize=8, frameon=False)
    return fig


# --- adl/beyond_lif/cue/shapley/anomaly chapters ---


def cue_trial_plot(data, t, t_star: int):
    """A stretch of the delayed-cue series (:mod:`spikeflux.data.cue`): input spikes over the steps
    ``t`` (distractor channels in red), the label at the explained steps (blank elsewhere) and the
    ground truth of the prediction at ``t_star`` (the cells of its deciding cue); returns the figure.

    ``data``: a :class:`~spikeflux.data.cue.CueData`; ``t``: consecutive steps, ``(n,)``, with
    ``t[0] <= t_star``.
    """
    import matplotlib.pyplot as plt

    t = np.asarray(t)
    n_in = len(data.inputs)
    fig, axes = plt.subplots(3, 1, figsize=(9, 4.8), sharex=True, height_ratios=[3, 1, 3])
    for i in range(n_in):
        axes[0].vlines(t[data.x[t, i] > 0], i - 0.4, i + 0.4, lw=0.6, color="k" if i <= data.n_cues else "C3")
    axes[0].set_yticks(range(n_in), data.inputs)
    axes[0].invert_yaxis()
    axes[0].set_title("input spikes (distractor channels in red)")
    axes[1].step(t, np.where(data.weight[t] > 0, data.y[t], np.nan), where="post", color="C1")
    axes[1].set_yticks(range(data.n_cues))
    axes[1].set_ylabel("label")
    gt = data.ground_truth(t_star, t_star - t[0] + 1)
    axes[2].imshow(gt, aspect="auto", cmap="Greens", extent=(t[0], t_star, n_in - 0.5, -0.5), interpolation="nearest")
    axes[2].axvline(t_star, color="k", ls=":")
    axes[2].set_yticks(range(n_in), data.inputs)
    axes[2].set_title(f"ground truth of the prediction at t* = {t_star} (delay {int(data.delay[t_star])})")
    axes[2].set_xlabel("step")
    fig.tight_layout()
    return fig


def delay_plot(gt, bins: Mapping[str, tuple[int, int]], models: Sequence[str], methods: Sequence[str], *,
               ylabel: str = "ground-truth AP"):
    """A metric per delay bin, one panel per model, one line per method with its interval; returns the figure.

    ``gt``: tidy rows (columns model, method, subset, value, ci_low, ci_high) whose ``subset`` is a
    key of ``bins``; ``bins``: label -> the bin's delays ``[a, b)``, drawn at their midpoint
    ``(a + b - 1) / 2``, the methods side by side 1.5 steps apart.
    """
    import matplotlib.pyplot as plt

    labels = list(bins)
    mid = np.array([(a + b - 1) / 2 for a, b in bins.values()])
    fig, axes = plt.subplots(1, len(models), figsize=(9, 3.2), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], models):
        for i, m in enumerate(methods):
            s = gt[(gt.model == d) & (gt.method == m)].set_index("subset").reindex(labels)
            ax.errorbar(mid + (i - len(methods) / 2) * 1.5, s.value, yerr=[s.value - s.ci_low, s.ci_high - s.value],
                        marker="o", ms=3, lw=1, label=m)
        ax.set_title(d)
        ax.set_xlabel("delay t* - t_cue (steps)")
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def variant_budget_plot(budget, ledgers: Mapping):
    r"""Left: the non-zero sinks per model as ``|sink| / R_init`` on a log axis (``budget``: rows of
    :func:`spikeflux.variants.sink_budget` per model). Right: each ledger's reach profile
    :math:`|\Phi[t]| / |R_\text{init}|` against the lag (:meth:`~spikeflux.transport.ledger.Ledger.reach_profile`,
    floored at 1e-17); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), width_ratios=[3, 2])
    sinks = budget.drop(columns=["absorbed", "through hidden spikes", "negative share of moved"]).abs()
    sinks = sinks.loc[:, (sinks > 0).any()].clip(lower=1e-18)
    sinks.plot.barh(ax=axes[0], width=0.8, logx=True, colormap="tab10")
    axes[0].set_xlabel("|sink| / R_init (mean over explained steps)")
    axes[0].legend(fontsize=7, loc="lower right")
    axes[0].invert_yaxis()
    _reach_profile_axes(axes[1], {name: led.reach_profile() for name, led in ledgers.items()}, fontsize=7)
    fig.tight_layout()
    return fig


def _reach_profile_axes(ax, profiles: Mapping[str, np.ndarray], *, threshold: float | None = None, fontsize: int = 8):
    for label, prof in profiles.items():
        ax.loglog(np.arange(1, len(prof) + 1), np.maximum(prof, 1e-17), label=label)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1)
    ax.set_xlabel("lag t* - t")
    ax.set_ylabel("|Φ[t]| / |R_init|")
    ax.set_ylim(1e-17, 2)
    ax.legend(fontsize=fontsize)


def reach_profiles_plot(profiles: Mapping[str, np.ndarray], *, threshold: float | None = None, figsize=(6, 3.2)):
    r"""Reach profiles :math:`|\Phi[t]| / |R_\text{init}|` ``(w,)`` (lag 1 first), one line per label, on log-log
    axes (floored at 1e-17), with a dotted line at ``threshold``; returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    _reach_profile_axes(ax, profiles, threshold=threshold)
    fig.tight_layout()
    return fig


def maps_by_model(maps: Mapping[tuple[str, str], np.ndarray], models: Sequence[str], methods: Sequence[str],
                  point: int, *, shown: int, channels: Sequence[str]):
    """One row per model, one column per method: the last ``shown`` steps of map ``maps[(model, method)][point]``
    (:func:`attribution_map`, each panel on its own scale); returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(models), len(methods), figsize=(9, 1.1 * len(models) + 0.8), sharex=True,
                             squeeze=False)
    for i, name in enumerate(models):
        for j, label in enumerate(methods):
            attribution_map(axes[i, j], maps[(name, label)][point][:, -shown:], channels=channels)
            axes[i, j].set_title(f"{name}: {label}", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("steps before $t^*$")
    fig.tight_layout()
    return fig


def map_strip(A, channels: Sequence[str] | None, *, xlabel: str = "step relative to t*", message: str | None = None):
    """A map ``(n_in, w)`` as one strip on a linear axis ending at step 0 (symmetric colour scale), or, with
    ``message``, a blank panel that says it; returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 1.8))
    if message is not None:
        ax.text(0.5, 0.5, message, ha="center", va="center")
        ax.set_axis_off()
    else:
        A = np.asarray(A)
        vmax = np.abs(A).max() or 1.0
        ax.imshow(A, aspect="auto", cmap=ATTRIBUTION_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest",
                  extent=(-A.shape[1] + 0.5, 0.5, len(A) - 0.5, -0.5))
        ax.set_yticks(range(len(A)), channels, fontsize=7)
        ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig

def adl_class_colors(activities: Sequence[str]) -> dict:
    """One colour per ADL activity (tab10 without its grey, then Dark2), and grey for ``"Other"``."""
    import matplotlib.pyplot as plt

    palette = [plt.cm.tab10(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)] + [plt.cm.Dark2(5)]  # no grey: that is Other
    return dict(zip(activities, palette)) | {"Other": (0.6, 0.6, 0.6, 1.0)}


def day_plot(x, y, channels: Sequence[str], classes: Sequence[str], colors: Mapping, title: str, *,
             min_width: int = 60):
    """One day of a home: the sensor channels ``x[:, 1:]`` (``(86400, 1 + len(channels))``, column 0 the bias)
    on top, the labels ``y`` (``(86400,)``, class indices) below, as :func:`event_bars` on an hour axis
    (events shorter than ``min_width`` seconds drawn that wide); returns the figure."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, height_ratios=[len(channels), len(classes)])
    for i in range(len(channels)):
        event_bars(top, x[:, i + 1] > 0, i, "k", min_width=min_width)
    top.set_yticks(range(len(channels)), channels)
    top.set_ylim(len(channels) - 0.5, -0.5)
    top.set_title(title)
    for c, name in enumerate(classes):
        event_bars(bottom, y == c, c, colors[name], min_width=min_width)
    bottom.set_yticks(range(len(classes)), classes)
    bottom.set_ylim(len(classes) - 0.5, -0.5)
    bottom.set_title("activity labels")
    bottom.set_xlim(0, 24)
    bottom.set_xticks(range(0, 25, 3))
    bottom.set_xlabel("hour of the day")
    fig.tight_layout()
    return fig


def accuracy_by_span_plot(accuracy, models: Sequence[str], spans: Sequence[str] = ("A+B", "A", "B")):
    """Balanced accuracy with its interval per model and test span (``accuracy``: rows with columns model,
    subject, balanced_accuracy, ci_low, ci_high, chance), the span's chance level dotted; returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    offsets = dict(zip(spans, np.linspace(-0.2, 0.2, len(spans))))
    for i, depth in enumerate(models):
        for j, (subject, dx) in enumerate(offsets.items()):
            r = accuracy[(accuracy.model == depth) & (accuracy.subject == subject)].iloc[0]
            ax.errorbar(i + dx, r.balanced_accuracy, yerr=[[r.balanced_accuracy - r.ci_low], [r.ci_high - r.balanced_accuracy]],
                        fmt="o", color=f"C{j}", capsize=3, label=subject if i == 0 else None)
    for j, subject in enumerate(offsets):
        ax.axhline(accuracy[accuracy.subject == subject].chance.iloc[0], color=f"C{j}", ls=":", lw=1)
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("balanced accuracy")
    ax.set_xlim(-0.5, len(models) - 0.5)
    ax.legend(title="test span", loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def confusion_plot(rate, classes: Sequence[str], *, threshold: float = 0.005):
    """A row-normalised confusion matrix ``rate`` (true x predicted; NaN rows allowed) in percent, entries below
    ``threshold`` left blank; returns the figure."""
    import matplotlib.pyplot as plt

    n = len(classes)
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if np.isfinite(rate[i, j]) and rate[i, j] >= threshold:
                ax.text(j, i, f"{100 * rate[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="w" if rate[i, j] > 0.5 else "k")
    ax.set_xticks(range(n), classes, rotation=60, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class's seconds")
    fig.tight_layout()
    return fig


# --- conservation/explanations/synthetic/reproducibility/tuning chapters ---


def sink_budget_plot(budget):
    """Stacked bars of a sink budget: one row per model (``budget``, a DataFrame of shares of
    :math:`R_\\text{init}`: ``absorbed`` and one column per sink cause)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    budget.plot.barh(stacked=True, ax=ax, width=0.7, colormap="tab10")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("share of R_init (signed, mean over explained steps)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return fig


def reach_plot(ledgers: Mapping[tuple[str, str], object], tasks=("synthetic", "adl"), depths=("1L", "2L", "3L")):
    """The relevance-reach profile :math:`|\\Phi[t]| / |R_\\text{init}|` against the lag, one panel per task
    and one curve per depth (``ledgers`` keyed by ``(task, depth)``; :meth:`Ledger.reach_profile
    <spikeflux.transport.ledger.Ledger.reach_profile>`)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(9, 3.5), sharey=True)
    for ax, task in zip(axes, tasks):
        for depth in depths:
            prof = ledgers[(task, depth)].reach_profile()  # lag 1 first
            ax.semilogy(np.arange(1, len(prof) + 1), np.maximum(prof, 1e-300), label=depth)
        ax.set_title(task)
        ax.set_xlabel("lag t* - t")
        ax.set_xscale("log")
    axes[0].set_ylabel("|Φ[t]| / |R_init|")
    axes[0].set_ylim(1e-16, 2)
    axes[0].legend()
    fig.tight_layout()
    return fig


def channels_plot(ledgers: Mapping[str, object], title: str = "{} 2L, LRP-ε, pass"):
    """Both signed channels of the crossing flux and the slice mass against the lag, one panel per ledger
    (``ledgers`` keyed by task; :func:`spikeflux.transport.diagnostics.plot_channels`)."""
    import matplotlib.pyplot as plt

    from .transport import diagnostics

    fig, axes = plt.subplots(1, len(ledgers), figsize=(9, 3.5), sharey=True)
    for ax, (task, led) in zip(axes, ledgers.items()):
        diagnostics.plot_channels(ax, led)
        ax.set_title(title.format(task))
    axes[0].set_ylabel("share of |R_init| (mean over explained steps)")
    axes[0].set_ylim(1e-12, None)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def boundary_plot(boundary, tasks=("synthetic", "adl"), depths=("1L", "2L", "3L")):
    """The boundary sink's share of the margin against the window length (``boundary``: rows with ``task``,
    ``model``, ``window``, ``boundary_share``), one panel per task, the 1% line dotted."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(9, 3.5), sharey=True)
    for ax, task in zip(axes, tasks):
        for depth in depths:
            b = boundary[(boundary.task == task) & (boundary.model == depth)]
            ax.loglog(b.window, np.maximum(b.boundary_share, 1e-17), "o-", label=depth)
        ax.axhline(0.01, color="k", ls=":", lw=1)
        ax.set_title(task)
        ax.set_xlabel("window length w")
    axes[0].set_ylabel("|boundary sink| / |R_init|")
    axes[0].legend()
    fig.tight_layout()
    return fig


def epsilon_plot(sweep):
    """The ε sweep: stabilizer sink share (left) and the change of the map against ε = 0 (right), one curve
    per model (``sweep``: rows with ``task``, ``model``, ``epsilon``, ``stabilizer_share``, ``change_vs_eps0``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for (task, depth), g in sweep[sweep.epsilon > 0].groupby(["task", "model"]):
        axes[0].loglog(g.epsilon, np.maximum(g.stabilizer_share, 1e-17), "o-", label=f"{task} {depth}", ms=3)
        axes[1].loglog(g.epsilon, np.maximum(g.change_vs_eps0, 1e-17), "o-", label=f"{task} {depth}", ms=3)
    axes[0].set_ylabel("stabilizer sink / |R_init|")
    axes[1].set_ylabel("‖A_ε − A_0‖ / ‖A_0‖")
    for a in axes:
        a.set_xlabel("ε")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def alphabeta_plot(rows, maps: Mapping[str, np.ndarray], w: int = 40):
    """LRP-αβ's two ``empty_side`` conventions: the median amplification against the window length (left;
    ``rows`` with ``empty_side``, ``window``, ``amplification``) and the map at window ``w`` under each
    (``maps`` keyed by ``empty_side``, each ``(n_in, w)``)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 3, 1)
    for empty_side, g in rows.groupby("empty_side"):
        ax.loglog(g.window, g.amplification, "o-", label=empty_side, ms=4)
    ax.set_xlabel("window length w")
    ax.set_ylabel("Σ|R| / |R_init| (median)")
    ax.legend(title="empty_side", fontsize=7)
    for k, empty_side in enumerate(("skip", "fallback")):
        a = fig.add_subplot(1, 3, 2 + k)
        if empty_side in maps:
            attribution_map(a, maps[empty_side], title=f"αβ, empty_side={empty_side!r}, w = {w}")
    fig.tight_layout()
    return fig


def synthetic_data_plot(data, start: int = 2000, span: int = 3000):
    """An excerpt of the synthetic task (``data``: :class:`~spikeflux.data.synthetic.SyntheticData`): the input
    spikes, the label, and the ground truth of the prediction at the excerpt's last step."""
    import matplotlib.pyplot as plt

    from .data.synthetic import INPUTS

    t = np.arange(start, start + span)
    t_star = start + span - 1
    gt = data.ground_truth(t_star, window=span)
    fig, axes = plt.subplots(3, 1, figsize=(9, 4.5), sharex=True, height_ratios=[3, 1, 3])
    for i, name in enumerate(INPUTS):
        on = t[data.x[t, i] > 0]
        axes[0].vlines(on, i - 0.4, i + 0.4, lw=0.3, color="k")
    axes[0].set_yticks(range(3), INPUTS)
    axes[0].set_title("input spikes")
    axes[1].step(t, data.y[t], where="post", color="C1")
    axes[1].set_yticks(range(4))
    axes[1].set_ylabel("label")
    axes[2].imshow(gt, aspect="auto", cmap="Greens", extent=(t[0], t[-1], 2.5, -0.5), interpolation="nearest")
    axes[2].set_yticks(range(3), INPUTS)
    axes[2].set_title(f"ground truth for the prediction at t* = {t_star}")
    axes[2].set_xlabel("step")
    fig.tight_layout()
    return fig


def training_curves_plot(histories: Mapping[str, object], seed: int):
    """Training and validation loss per epoch, one panel per model (``histories``: depth to
    :class:`~spikeflux.training.History`), the best epoch dotted."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, len(histories), figsize=(9, 3), sharey=True)
    for a, (depth, h) in zip(ax, histories.items()):
        ep = np.arange(1, len(h.train_loss) + 1)
        a.plot(ep, h.train_loss, label="train")
        a.plot(ep, h.val_loss, label="validation")
        a.axvline(h.best_epoch + 1, color="k", ls=":", lw=1)
        a.set_title(f"{depth} (seed {seed})")
        a.set_xlabel("epoch")
    ax[0].set_ylabel("NLL per step")
    ax[0].legend()
    fig.tight_layout()
    return fig


def classwise_plot(A, x, classes: Sequence[str], target: int, channels: Sequence[str] | None = None):
    """One map per class (``A``: ``(n_classes, n_in, w)``, ``x`` the input ``(w, n_in)``), the explained
    class ``target`` marked."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, A.shape[0], figsize=(9, 2.2), sharey=True, layout="constrained")
    for c, ax in enumerate(axes):
        attribution_map(ax, A[c], x, channels=channels if c == 0 else None,
                        title=f"class {classes[c]}" + (" (explained)" if c == target else ""))
        ax.set_xlabel("steps before $t^*$")
    return fig


def ig_steps_plot(ig, depths=("1L", "2L", "3L")):
    """Integrated gradients' completeness gap against the number of integration steps (``ig``: rows with
    ``task``, ``model``, ``n_steps``, ``rel_gap``), synthetic solid, ADL dashed, one marker per depth."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    for (task, depth), g in ig.groupby(["task", "model"]):
        ax.loglog(g.n_steps, np.maximum(g.rel_gap, 1e-17), color=method_color("integrated-gradients"),
                  ls="-" if task == "synthetic" else "--", marker="os^"[list(depths).index(depth)],
                  label=f"{task} {depth}")
    ax.set_xlabel("integration steps")
    ax.set_ylabel("|Σ A − (f(x) − f(0))| / |f(x) − f(0)|")
    ax.legend(fontsize=8, ncols=2)
    return fig


def tuning_trials_plot(results):
    """The greedy search's trials: one row of panels per depth, one panel per step (the validation NLL of
    each value tried, the chosen one starred); a placeholder panel when ``results`` is empty."""
    import matplotlib.pyplot as plt

    from .tuning import shown

    if len(results):
        depths = list(dict.fromkeys(results.depth))
        n_params = results.groupby("depth").parameter.nunique().max()
        fig, axes = plt.subplots(len(depths), n_params, figsize=(min(9.0, max(6.5, 2.3 * n_params)), 2.4 * len(depths)),
                                 squeeze=False)
        for r, depth in enumerate(depths):
            part = results[results.depth == depth]
            for c in range(n_params):
                ax = axes[r, c]
                steps = part[part.step == c + 1]
                if not len(steps):
                    ax.set_axis_off()
                    continue
                x = np.arange(len(steps))
                ax.plot(x, steps.val_nll, "o-", color="C0")
                win = np.flatnonzero(steps.chosen.to_numpy())
                ax.plot(x[win], steps.val_nll.to_numpy()[win], "*", ms=14, color="C3")
                ax.set_xticks(x, [shown(v) for v in steps.value], rotation=45, fontsize=7)
                ax.set_title(f"{depth}: {steps.parameter.iloc[0]}", fontsize=9)
                if c == 0:
                    ax.set_ylabel("validation NLL")
    else:
        fig, ax = plt.subplots(figsize=(7.5, 1.2))
        ax.text(0.5, 0.5, "no search results in this execution", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def mean_lag(A) -> float:
    """Mean lag (steps before :math:`t^*`, column ``w-1`` being lag 0) of the absolute attribution mass of a
    map ``A`` ``(n_in, w)``."""
    return float((np.abs(A).sum(0) * np.arange(A.shape[1])[::-1]).sum() / max(np.abs(A).sum(), 1e-300))


# --- uea chapter ---


def uea_encoding_plot(data, cases: Mapping[str, int], split: str = "train"):
    """A raw UEA case and its delta spikes per column: ``cases`` maps a title to a case index of ``split``
    (:class:`spikeflux.data.uea.UEAData`); the top row draws the ``n`` raw variables, the bottom row the
    ``2n`` up (black) and down (red) channels; returns the figure."""
    import matplotlib.pyplot as plt

    n = len(data.variables)
    fig, axes = plt.subplots(2, len(cases), figsize=(9, 4.6), sharex=True, squeeze=False,
                             height_ratios=[2, 3])
    t = np.arange(data.length)
    for col, (title, k) in enumerate(cases.items()):
        top, bottom = axes[0, col], axes[1, col]
        for i, name in enumerate(data.variables):
            top.plot(t, data.raw[split][k, :, i], lw=0.8, color=f"C{i}", label=name)
        top.set_title(title, fontsize=9)
        s = data.spikes[split][k]
        for ch in range(2 * n):
            hit = t[s[:, ch] > 0]
            bottom.vlines(hit, ch - 0.4, ch + 0.4, lw=0.8, color="k" if ch % 2 == 0 else "C3")
        bottom.set_ylim(2 * n - 0.5, -0.5)
        bottom.set_yticks(range(2 * n), data.inputs[1:] if col == 0 else [""] * (2 * n), fontsize=7)
        bottom.set_xlabel("step (0.1 s)")
    axes[0, 0].set_ylabel("raw value")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig
