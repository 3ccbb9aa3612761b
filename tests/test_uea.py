"""UEA benchmarks from sktime's wheel (spikeflux.data.uea, spikeflux.tasks.uea): known shapes, layout, errors."""

import sys

import numpy as np
import pandas as pd
import pytest

from spikeflux import models, tasks
from spikeflux.data import uea
from spikeflux.encoding import delta_threshold

pytest.importorskip("sktime")


@pytest.fixture(scope="module")
def basic():
    return tasks.uea("BasicMotions", seed=0)


def test_loader_reads_the_archive_split():
    X, labels = uea.read("BasicMotions", "train")
    assert X.shape == (40, 100, 6) and X.dtype == np.float64
    assert dict(zip(*np.unique(labels, return_counts=True))) == {"badminton": 10, "running": 10, "standing": 10,
                                                                 "walking": 10}
    X_test, _ = uea.read("BasicMotions", "test")
    assert X_test.shape == (40, 100, 6) and not np.array_equal(X[:1], X_test[:1])


def test_splits_shapes_bias_and_weights(basic):
    data, splits = basic
    assert data.classes == ("badminton", "running", "standing", "walking")
    assert data.inputs[:3] == ("bias", "acc x up", "acc x down") and len(data.inputs) == 13
    for name, n_cases in (("train", 32), ("val", 8), ("test", 40)):
        x, y, w = splits[name]
        assert x.shape == (n_cases * 200, 13) and y.shape == w.shape == (n_cases * 200,)
        assert (x[:, 0] == 1).all()  # the bias on channel 0
        blocks = x.reshape(n_cases, 200, 13)
        assert not blocks[:, :100, 1:].any()  # the rest holds no spike outside the bias
        assert np.array_equal(w.reshape(n_cases, 200), np.eye(200, dtype=np.float32)[[-1] * n_cases])
        assert (y.reshape(n_cases, 200) == data.labels[name][:, None]).all()
        assert np.array_equal(y[data.last_steps(name)], data.labels[name])
    assert [np.bincount(data.labels[k]).tolist() for k in ("train", "val", "test")] == [[8] * 4, [2] * 4, [10] * 4]


def test_validation_is_carved_from_training_cases_with_the_seed(basic):
    data, _ = basic
    X, _ = uea.read("BasicMotions", "train")
    ours = np.concatenate([data.raw["train"], data.raw["val"]]).reshape(40, -1)
    assert sorted(map(bytes, ours)) == sorted(map(bytes, X.reshape(40, -1)))  # a partition of the archive's train
    again, _ = tasks.uea("BasicMotions", seed=0)
    other, _ = tasks.uea("BasicMotions", seed=1)
    assert np.array_equal(again.raw["val"], data.raw["val"])
    assert not np.array_equal(other.raw["val"], data.raw["val"])
    assert np.array_equal(data.raw["test"], uea.read("BasicMotions", "test")[0])  # archive order


def test_threshold_is_chosen_on_training_cases_only(basic):
    data, _ = basic
    assert np.allclose(data.threshold, delta_threshold(data.raw["train"], 0.5, axis=1), rtol=0, atol=0)
    with_val = delta_threshold(np.concatenate([data.raw["train"], data.raw["val"]]), 0.5, axis=1)
    assert not np.allclose(data.threshold, with_val)


def _fake(cases, labels):
    """A stand-in for an sktime loader: nested frame (cases x variables of pd.Series) and labels."""
    def load(split, return_X_y):
        frame = pd.DataFrame({f"dim_{i}": [pd.Series(c[i]) for c in cases] for i in range(len(cases[0]))})
        return frame, np.array(labels)
    return load


def test_encoding_of_a_hand_made_series(monkeypatch):
    # variable 0: changes 0, +1, +2, 0, -1; variable 1 constant (never spikes); thresholds from train
    up = [[0.0, 1.0, 3.0, 3.0, 2.0], [5.0] * 5]
    down = [[4.0, 3.0, 1.0, 1.0, 2.0], [5.0] * 5]
    cases = [up, down, up, down]
    monkeypatch.setitem(uea.SHIPPED, "Toy", "toy")
    monkeypatch.setattr(uea, "_loader", lambda name: _fake(cases, ["a", "b", "a", "b"]))
    data = uea.load("Toy", val=0.5, quantile=0.5, rest=3, seed=0)
    assert data.threshold.tolist() == [1.0, 1.0]  # median of |Δ| in {1, 2, 1} = 1; constant variable: 1
    assert data.variables == ("dim 0", "dim 1") and data.block == 8
    k = int(np.flatnonzero(data.labels["train"] == 0)[0])  # class "a": the rising series
    b = data.blocks("train")[k]
    assert b[:, 0].tolist() == [1] * 8
    assert b[3:, 1].tolist() == [0, 1, 1, 0, 0] and b[3:, 2].tolist() == [0, 0, 0, 0, 1]  # up, down of variable 0
    assert not b[:3, 1:].any() and not b[:, 3:].any()


def test_bad_input_is_named(monkeypatch):
    with pytest.raises(ValueError, match="unknown UEA data set 'Nope'.*BasicMotions"):
        tasks.uea("Nope")
    with pytest.raises(ValueError, match="'JapaneseVowels'.*unequal length.*7 to 26"):
        tasks.uea("JapaneseVowels")
    with pytest.raises(ValueError, match="split must be"):
        uea.read("BasicMotions", "validation")
    with pytest.raises(ValueError, match="rest must be a positive int"):
        tasks.uea("BasicMotions", rest=0)
    with pytest.raises(ValueError, match="val must be a share"):
        tasks.uea("BasicMotions", val=1.0)
    monkeypatch.setitem(uea.SHIPPED, "Toy", "toy")
    monkeypatch.setattr(uea, "_loader", lambda name: _fake([[[1.0, np.nan, 2.0]]] * 4, ["a", "b", "a", "b"]))
    with pytest.raises(ValueError, match="'Toy'.*missing or infinite values in 4 case"):
        uea.load("Toy")


def test_missing_sktime_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sktime", None)
    with pytest.raises(ImportError, match="'BasicMotions'.*sktime is not installed.*pip install"):
        uea.read("BasicMotions", "train")


def test_models_train_one_case_per_window_and_points_are_blocks(basic):
    data, splits = basic
    net, hist, _ = models.fit("uea", "1L", splits, max_epochs=1, patience=1, progress=False, save=False)
    assert net.sizes == [13, 4] and hist.dropped_steps == {"train": 0, "val": 0}  # 200-step windows, none cut
    pred = uea.predict_cases(net, data, "test")
    assert pred.shape == (40,) and set(pred) <= {0, 1, 2, 3}
    pts = uea.explained_points(data, per_class=2, seed=0)
    assert len(pts) == 8 and pts.window == 100 and pts.burn_in == 100 and pts.bias_channel == 0
    cases = [t // 200 for _, t in pts.where]
    assert np.array_equal(pts.X, data.blocks("test")[cases]) and np.array_equal(pts.y, data.labels["test"][cases])
    assert np.bincount(pts.y).tolist() == [2] * 4


def test_continuity_perturbation_cannot_move_delta_spikes(basic):
    """The chapter skips continuity: run edges move by int(0.1 * run length) = 0 steps for runs under 10."""
    from spikeflux.evaluation import perturb_runs

    s = np.zeros((2, 6, 2))
    s[0, 1:4, 1] = 1
    s[1, 0, 0] = 1
    s[1, 2:4, 0] = 1
    assert uea.longest_run(s) == 3 and uea.longest_run(np.zeros((1, 3, 1))) == 0
    data, _ = basic
    assert uea.longest_run(data.spikes["test"]) == 6
    rng = np.random.default_rng(0)
    blocks = data.blocks("test")
    assert all(np.array_equal(perturb_runs(b, rng, bias_channel=0), b) for b in blocks)


def test_encoding_plot_draws_every_spike_and_every_variable(basic):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from spikeflux import plots

    data, _ = basic
    fig = plots.uea_encoding_plot(data, {"first": 0, "second": 5})
    try:
        top, bottom = fig.axes[:2], fig.axes[2:4]  # row-major: the two raw panels, then the two rasters
        assert [len(ax.lines) for ax in top] == [6, 6]
        for ax, k in zip(bottom, (0, 5)):
            drawn = sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))
            assert drawn == int(data.spikes["train"][k].sum())
        assert np.allclose(top[1].lines[2].get_ydata(), data.raw["train"][5, :, 2])
    finally:
        plt.close(fig)
