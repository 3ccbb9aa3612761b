"""spikeflux.plots: the palette is complete and unambiguous, the figures build and draw what they say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from spikeflux import plots  # noqa: E402
from spikeflux.explain import METHODS  # noqa: E402

BOOK_METHODS = ["lrp-0", "lrp-epsilon", "lrp-zplus", "lrp-alphabeta", "tsa-s", "tsa-ns", "sam", "tsa-delay",
                "integrated-gradients", "saliency", "input-x-gradient", "deeplift", "shapley-exact",
                "shapley-sampling", "kernel-shap", "occlusion", "random", "zero"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_every_method_has_one_distinct_colour():
    assert set(plots.METHOD_COLORS) == set(BOOK_METHODS)
    assert set(METHODS) <= set(plots.METHOD_COLORS)  # every registered method, too
    rgb = [to_rgb(plots.method_color(m)) for m in BOOK_METHODS]
    d = np.sqrt(((np.array(rgb)[:, None] - np.array(rgb)[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.08, "two methods have nearly the same colour"


def test_family_members_share_a_hue_and_differ_in_lightness():
    import colorsys

    for fam, members in plots.METHOD_FAMILIES.items():
        hls = [colorsys.rgb_to_hls(*to_rgb(plots.method_color(m))) for m in members]
        light = [h[1] for h in hls]
        assert len(set(np.round(light, 2))) == len(members), fam
        if fam != "baseline":
            hues = [h[0] for h in hls]
            assert max(hues) - min(hues) < 0.06, f"{fam}: hues {hues}"
    markers = {plots.method_style(m)["marker"] for m in plots.METHOD_FAMILIES["lrp"]}
    assert len(markers) == 4


def test_unknown_method_fails_naming_it():
    with pytest.raises(KeyError, match="'lrp-foo'.*known methods: lrp-epsilon"):
        plots.method_color("lrp-foo")
    with pytest.raises(KeyError, match="lrp-foo"):
        plots.sort_methods(["saliency", "lrp-foo"])


def test_symmetric_norm_and_support():
    n = plots.symmetric_norm(np.array([[-3.0, 1.0]]), np.array([2.0]))
    assert (n.vmin, n.vmax) == (-3.0, 3.0)
    assert plots.symmetric_norm(np.zeros(3)).vmax == 1.0
    A = np.zeros((2, 100))
    A[0, -1], A[1, -5] = 0.5, -0.5  # lags 0 and 4
    assert plots.support_lag(A, 0.99) == 5
    assert plots.support_lag(A, 0.5) == 1
    assert plots.support_lag(np.zeros((2, 10))) == 1
    with pytest.raises(ValueError, match="mass"):
        plots.support_lag(A, 0.0)


def test_attribution_map_puts_the_explained_step_at_lag_zero():
    w = 200
    A = np.zeros((3, w))
    A[1, -1] = 1.0  # t*, lag 0
    A[2, -11] = -1.0  # lag 10
    x = np.zeros((w + 5, 3))
    x[-1, 0] = 1
    gt = np.zeros((3, w), bool)
    gt[1, -3:] = True  # lags 0..2
    fig, ax = plt.subplots()
    im = plots.attribution_map(ax, A, x, gt)
    assert ax.get_xscale() == "symlog" and ax.get_xlim() == (w, 0)
    assert im.cmap.name == plots.ATTRIBUTION_CMAP
    # the spike of the last step sits in the lag-0 cell
    (off,) = [c.get_offsets() for c in ax.collections if c is not im]
    np.testing.assert_allclose(off, [[0.5, 0.0]])
    (box,) = ax.patches
    assert (box.get_x(), box.get_width()) == (0, 3)
    with pytest.raises(ValueError, match="ground_truth"):
        plots.attribution_map(ax, A, None, gt[:, :5])
    with pytest.raises(ValueError, match="A must be"):
        plots.attribution_map(ax, A[0])


def _non_background_share(fig):
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    return float((img < 245).any(-1).mean())


def test_attribution_grid_is_not_mostly_empty():
    rng = np.random.default_rng(0)
    w, n_in = 1000, 4
    maps = {}
    for m in ("lrp-epsilon", "tsa-s"):
        for c in ("1L", "2L"):
            A = np.zeros((n_in, w))
            A[:, -20:] = rng.normal(size=(n_in, 20)) * np.exp(-np.arange(20)[::-1] / 5)  # relevance in the last 20 steps
            maps[(m, c)] = A
    x = {c: (rng.random((w, n_in)) < 0.05).astype(float) for c in ("1L", "2L")}
    fig = plots.attribution_grid(maps, ["lrp-epsilon", "tsa-s"], ["1L", "2L"], x=x, channels=list("abcd"))
    assert _non_background_share(fig) > 0.2
    assert len(fig.axes) == 5  # 4 panels and the colour bar


def _results():
    rows = []
    for model in ("1L", "2L", "3L"):
        for i, m in enumerate(["lrp-epsilon", "tsa-s", "saliency", "random"]):
            rows.append(dict(model=model, method=m, value=1 - 0.2 * i, low=0.9 - 0.2 * i, high=1.1 - 0.2 * i,
                             tied=i == 1, null=m == "random"))
    return pd.DataFrame(rows)


def test_interval_plot_marks():
    fig = plots.interval_plot(_results(), "value", "low", "high", tied="tied", null="null", xlabel="score")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lrp-epsilon", "tsa-s", "saliency", "random"]
    from matplotlib.collections import PathCollection

    kinds = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    hollow = [c for c in kinds if np.allclose(c.get_facecolors()[:, :3], 1.0)]
    assert len(hollow) == 1 and np.allclose(hollow[0].get_offsets(), [[0.8, 1]])
    with pytest.raises(KeyError, match="'nope'"):
        plots.interval_plot(_results(), "nope")


def test_curves_plot_highlights():
    rows = [dict(model=mo, method=m, frac=f, out=(1 - f) ** (k + 1))
            for mo in ("1L", "2L") for k, m in enumerate(["lrp-epsilon", "tsa-s", "zero"]) for f in np.linspace(0, 1, 5)]
    fig = plots.curves_plot(pd.DataFrame(rows), "frac", "out", highlight="lrp-epsilon")
    lines = fig.axes[0].get_lines()
    widths = {to_rgb(ln.get_color()): ln.get_linewidth() for ln in lines}
    assert widths[to_rgb(plots.method_color("lrp-epsilon"))] > widths[to_rgb(plots.method_color("tsa-s"))]
    assert _non_background_share(fig) > 0.03
    with pytest.raises(KeyError, match="lrp-foo"):
        plots.curves_plot(pd.DataFrame(rows), "frac", "out", highlight="lrp-foo")


def test_ranks_and_critical_difference():
    df = _results()
    ranks, n = plots.mean_ranks(df, "value")
    assert n == 3 and list(ranks.index) == ["lrp-epsilon", "tsa-s", "saliency", "random"]
    np.testing.assert_allclose(ranks.to_numpy(), [1, 2, 3, 4])
    # Demsar (2006), Table 5: q_0.05 = 2.569 for k = 4, so CD = 2.569 * sqrt(4*5/(6*3))
    assert plots.critical_difference(4, 3) == pytest.approx(2.569 * np.sqrt(20 / 18), rel=1e-3)
    fig = plots.rank_plot(df, "value")
    assert fig.axes


def test_sanity_plot_draws_one_line_per_method():
    import pandas as pd

    rows = [dict(dataset=d, model=m, method=meth, randomised_layers=k, spearman_abs_support=1.0 / k)
            for d in ("a", "b") for m in ("1L", "2L") for meth in ("lrp-epsilon", "sam") for k in (1, 2)]
    fig = plots.sanity_plot(pd.DataFrame(rows))
    assert len(fig.axes[0].lines) == 2 + 1  # two methods and the zero line
    assert fig.axes[0].get_title() == "a 2L"


def test_cue_trial_plot_draws_spikes_labels_and_the_cue(_close):
    from spikeflux.data.cue import generate

    data = generate(n_steps=20_000, seed=3)
    on = int(data.cue_onsets[3])
    fig = plots.cue_trial_plot(data, np.arange(on - 150, on + 450), t_star=on + 180)
    top, mid, bottom = fig.axes[:3]
    assert len(top.collections) == len(data.inputs)  # one vlines collection per channel
    assert "delay 180" in bottom.get_title()
    gt = bottom.images[0].get_array()
    assert int(np.asarray(gt).sum()) == data.burst  # the 8 cells of the deciding cue


def test_delay_plot_puts_each_method_at_the_bin_midpoints(_close):
    bins = {"20-79": (20, 80), "80-140": (80, 141)}
    rows = [dict(model=d, method=m, subset=k, value=v, ci_low=v - 0.1, ci_high=v + 0.1)
            for d in ("1L", "2L") for m, v in (("a", 0.5), ("b", 0.7)) for k in bins]
    fig = plots.delay_plot(pd.DataFrame(rows), bins, ["1L", "2L"], ["a", "b"])
    assert len(fig.axes) == 2
    lines = [c for c in fig.axes[0].containers]
    x = lines[0].lines[0].get_xdata()
    np.testing.assert_allclose(x, [49.5 - 1.5, 110.0 - 1.5])  # midpoints (a + b - 1) / 2, method 0 shifted


def test_variant_plots_build(_close):
    prof = np.array([1.0, 1e-2, 1e-20])
    fig = plots.reach_profiles_plot({"gate": prof, "path": prof * 2}, threshold=1e-3)
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()][:2] == ["gate", "path"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 1e-2, 1e-17])  # floored
    fig = plots.map_strip(np.array([[0.0, 1.0], [-2.0, 0.5]]), ["bias", "x1"])
    assert fig.axes[0].images[0].get_clim() == (-2.0, 2.0)
    fig = plots.map_strip(None, None, message="skipped")
    assert fig.axes[0].texts[0].get_text() == "skipped"
    maps = {(m, k): np.ones((2, 3, 5)) for m in ("plain", "ALIF") for k in ("LRP", "TSA")}
    fig = plots.maps_by_model(maps, ["plain", "ALIF"], ["LRP", "TSA"], 1, shown=4, channels=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes[:4]] == ["plain: LRP", "plain: TSA", "ALIF: LRP", "ALIF: TSA"]


def test_adl_plots_build():
    colors = plots.adl_class_colors(["Sleeping", "Toileting"])
    assert colors["Other"] == (0.6, 0.6, 0.6, 1.0) and len(set(colors.values())) == 3
    x = np.zeros((86_400, 3))
    x[3600:3660, 1] = 1  # channel "a" on for a minute at 1 h
    y = np.zeros(86_400, dtype=int)
    y[7200:] = 1
    fig = plots.day_plot(x, y, ["a", "b"], ["Sleeping", "Toileting"], colors, "day")
    top, bottom = fig.axes[:2]
    assert [t.get_text() for t in top.get_yticklabels()] == ["a", "b"] and top.get_title() == "day"
    assert len(top.collections) == 2 and bottom.get_xlim() == (0, 24)
    acc = pd.DataFrame([dict(model=m, subject=s, balanced_accuracy=0.5, ci_low=0.4, ci_high=0.6, chance=0.1)
                        for m in ("1L", "2L") for s in ("A+B", "A", "B")])
    fig = plots.accuracy_by_span_plot(acc, ["1L", "2L"])
    assert len(fig.axes[0].containers) == 6 and len(fig.axes[0].get_lines()) >= 3
    rate = np.array([[0.9, 0.1], [np.nan, np.nan]])
    fig = plots.confusion_plot(rate, ["p", "q"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["90", "10"]  # NaN row blank
