"""Helpers the chapters moved into the package: the conservation, explanations, synthetic and tuning
figures (``spikeflux.plots``), ``plots.mean_lag`` and ``tasks.correct_examples``."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spikeflux import plots, tasks, tuning  # noqa: E402
from spikeflux.data.synthetic import generate  # noqa: E402
from spikeflux.explain import explain  # noqa: E402
from spikeflux.snn import LIFNetwork  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ledgers():
    net = LIFNetwork([3, 5, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=torch.float64)
    x = (torch.rand(40, 3, generator=torch.Generator().manual_seed(3)) < 0.5).double()
    led = explain(net, x, [30, 39], method="lrp-epsilon", window=20, contrast="runner-up").ledger
    return {(task, d): led for task in ("synthetic", "adl") for d in ("1L", "2L")}


def test_mean_lag_known_answer():
    A = np.zeros((2, 5))
    A[0, 4], A[1, 1] = 1.0, -3.0  # mass 1 at lag 0, mass 3 at lag 3
    assert plots.mean_lag(A) == pytest.approx(9 / 4, rel=1e-15)
    assert plots.mean_lag(np.zeros((2, 5))) == 0.0


def test_reach_plot_draws_the_ledger_profile(ledgers):
    fig = plots.reach_plot(ledgers, depths=("1L", "2L"))
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes] == ["synthetic", "adl"]
    line = fig.axes[0].get_lines()[0]
    prof = ledgers[("synthetic", "1L")].reach_profile()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 21))
    np.testing.assert_array_equal(line.get_ydata(), np.maximum(prof, 1e-300))


def test_conservation_figures_build(ledgers):
    budget = pd.DataFrame({"absorbed": [0.9, 1.1], "boundary": [0.1, -0.1]}, index=["a 1L", "a 2L"])
    fig = plots.sink_budget_plot(budget)
    assert len(fig.axes[0].patches) == 4  # two models x two parts
    fig = plots.channels_plot({t: ledgers[(t, "2L")] for t in ("synthetic", "adl")})
    assert [a.get_title() for a in fig.axes] == ["synthetic 2L, LRP-ε, pass", "adl 2L, LRP-ε, pass"]
    assert len(fig.axes[0].get_lines()) == 4  # Φ⁺, −Φ⁻, |Φ|, M
    boundary = pd.DataFrame(dict(task=["synthetic"] * 2 + ["adl"] * 2, model="1L", window=[5, 10] * 2,
                                 boundary_share=[0.5, 0.0, 0.2, 0.01]))
    fig = plots.boundary_plot(boundary, depths=("1L",))
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [0.5, 1e-17])  # floored for log axes
    sweep = pd.DataFrame(dict(task="synthetic", model="1L", epsilon=[0.0, 1e-3, 1.0], stabilizer_share=[0, .1, .5],
                              change_vs_eps0=[0, .2, .9]))
    fig = plots.epsilon_plot(sweep)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [1e-3, 1.0])  # ε = 0 off the log axis
    rows = pd.DataFrame(dict(empty_side=["skip", "skip", "fallback"], window=[5, 10, 5], amplification=[2., 8., 1.5]))
    fig = plots.alphabeta_plot(rows, {"skip": np.ones((3, 40))})
    assert len(fig.axes) >= 3 and "w = 40" in fig.axes[1].get_title()


def test_synthetic_and_explanation_figures_build():
    data = generate(n_steps=4000, seed=1)
    fig = plots.synthetic_data_plot(data, start=100, span=300)
    assert fig.axes[2].get_title() == "ground truth for the prediction at t* = 399"

    class H:  # the fields of training.History the figure reads
        train_loss, val_loss, best_epoch = [1.0, 0.5, 0.6], [1.1, 0.7, 0.8], 1

    fig = plots.training_curves_plot({"1L": H, "2L": H}, seed=3)
    assert [a.get_title() for a in fig.axes] == ["1L (seed 3)", "2L (seed 3)"]
    fig = plots.classwise_plot(np.zeros((4, 3, 10)), np.zeros((10, 3)), list("abcd"), target=2)
    assert [a.get_title() for a in fig.axes[:4]] == ["class a", "class b", "class c (explained)", "class d"]
    ig = pd.DataFrame(dict(task=["synthetic", "synthetic", "adl"], model=["2L", "2L", "1L"], n_steps=[4, 16, 4],
                           rel_gap=[0.1, 0.0, 0.3]))
    fig = plots.ig_steps_plot(ig)
    assert sorted(line.get_label() for line in fig.axes[0].get_lines()) == ["adl 1L", "synthetic 2L"]


def test_tuning_trials_plot_with_and_without_results():
    fig = plots.tuning_trials_plot(pd.DataFrame(columns=list(tuning.COLUMNS)))
    assert fig.axes[0].texts[0].get_text() == "no search results in this execution"
    results = pd.DataFrame(dict(task="adl", depth="2L", step=[1, 1, 2], parameter=["lr", "lr", "tau_mem"],
                                value=[1e-3, 1e-2, 1e-2], val_nll=[0.5, 0.4, 0.45], chosen=[False, True, True]))
    fig = plots.tuning_trials_plot(results)
    assert [a.get_title() for a in fig.axes] == ["2L: lr", "2L: tau_mem"]
    np.testing.assert_array_equal(fig.axes[0].get_lines()[1].get_ydata(), [0.4])  # the starred value


def test_correct_examples_are_correct_and_follow_the_classes():
    net = LIFNetwork([3, 4], weight_scale=3.0, seed=2, dtype=torch.float64)
    x = (np.random.default_rng(0).random((300, 3)) < 0.4).astype(float)
    with torch.no_grad():
        pred = net(torch.as_tensor(x)[None]).output[0].argmax(-1).numpy()  # a step's prediction, full history
    y = pred.copy()
    length = 50
    got = tasks.correct_examples(net, x, y, [int(pred[-1]), 99], 5, length, np.random.default_rng(1))
    assert len(got) == 1  # no step of class 99
    t, ex = got[0]
    assert t >= length and ex.shape == (length, 3) and ex.dtype == torch.float64
    np.testing.assert_array_equal(ex.numpy(), x[t - length + 1:t + 1])
    with torch.no_grad():
        assert int(net(ex[None]).output[0, -1].argmax()) == y[t]
    again = tasks.correct_examples(net, x, y, [int(pred[-1])], 5, length, np.random.default_rng(1))
    assert again[0][0] == t  # the same generator state draws the same step
    classes = sorted(set(y[length:].tolist()))
    assert len(tasks.correct_examples(net, x, y, classes, 1, length, np.random.default_rng(1))) == 1  # stops at n


def test_explain_examples_and_ig_step_gaps_equal_direct_calls():
    from spikeflux.explain.examples import explain_examples, ig_step_gaps

    net = LIFNetwork([3, 6, 4], tau_mem=2e-2, weight_scale=3.0, seed=5).double()
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(60, 3, generator=g, dtype=torch.float64) < 0.4).double()
    x[:, 0] = 1.0
    nets, examples = {("t", "2L"): net}, {("t", "2L"): [(7, x)], ("t", "3L"): []}
    maps, rows = explain_examples(nets, examples, ["lrp-epsilon", "saliency"], 30, "runner-up")
    e = explain(net, x, 59, method="lrp-epsilon", window=30, contrast="runner-up")
    assert np.array_equal(maps[("t", "2L", 0, "lrp-epsilon")], e.attribution.numpy())
    r = rows[rows.method == "lrp-epsilon"].iloc[0]
    f = float(e.info["explained_value"])
    assert r.explained == f and r.rel_gap == pytest.approx(abs(e.attribution.sum().item() - f) / abs(f))
    assert r.support == plots.support_lag(e.attribution.numpy()) and len(rows) == 2
    ig = ig_step_gaps(nets, examples, (2, 8), 30, "runner-up", {"bias_channel": 0})
    assert list(ig.n_steps) == [2, 8] and set(ig.model) == {"2L"}  # models without examples are skipped
    e8 = explain(net, x, 59, method="integrated-gradients", window=30, contrast="runner-up", n_steps=8, bias_channel=0)
    d = float(e8.info["f_input"][0]) - float(e8.info["f_baseline"][0])
    assert ig.rel_gap.iloc[1] == pytest.approx(abs(float(e8.info["completeness_gap"][0])) / abs(d))


def test_explain_examples_books_an_overflowed_map(monkeypatch):
    from spikeflux.explain import examples as mod

    real = mod.explain

    def overflowing(net, x, t, *, method, **kw):
        if method == "saliency":
            raise FloatingPointError("relevance overflowed")
        return real(net, x, t, method=method, **kw)

    monkeypatch.setattr(mod, "explain", overflowing)
    net = LIFNetwork([3, 6, 4], tau_mem=2e-2, weight_scale=3.0, seed=5).double()
    x = (torch.rand(40, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < 0.4).double()
    maps, rows = mod.explain_examples({("t", "2L"): net}, {("t", "2L"): [(7, x)]}, ["lrp-epsilon", "saliency"], 20,
                                      "runner-up")
    assert set(maps) == {("t", "2L", 0, "lrp-epsilon")}  # the overflowed map is not kept
    bad = rows[rows.method == "saliency"].iloc[0]
    assert bad.overflow and np.isinf(bad.rel_gap) and np.isnan(bad.support) and np.isnan(bad.explained)
    assert not rows[rows.method == "lrp-epsilon"].overflow.iloc[0]
