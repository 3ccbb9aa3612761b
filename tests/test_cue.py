"""The delayed-cue task: generator, labels, weights, ground truth, splits, a hand-built solver."""

import numpy as np
import pytest
import torch

from spikeflux import models, tasks
from spikeflux.data.cue import explained_points, generate, input_names
from spikeflux.snn import LIFNetwork
from spikeflux.training import balanced_accuracy_ci, predict_series


@pytest.fixture(scope="module")
def data():
    return generate(n_steps=40_000, seed=3)


def runs(col: np.ndarray):
    """Starts and lengths of the runs of ones of a 0/1 column."""
    d = np.diff(np.concatenate([[0], col.astype(int), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return starts, stops - starts


def test_layout_bias_and_binary(data):
    assert data.x.shape == (40_000, 6) and data.x.dtype == np.float32
    assert (data.x[:, 0] == 1).all()
    assert set(np.unique(data.x)) == {0.0, 1.0}
    assert data.inputs == input_names() == ("bias", "cue 0", "cue 1", "cue 2", "distractor 0", "distractor 1")
    # background on every non-bias channel, away from bursts
    quiet = data.weight > 0
    rate = data.x[quiet, 1:].mean(0)
    assert (rate > 0.003).all()


def test_cue_bursts_labels_and_delays(data):
    b, (d_min, d_max) = data.burst, data.delay_range
    for on, c in zip(data.cue_onsets, data.cue_channels):
        assert (data.x[on:on + b, 1 + c] == 1).all()
    t = np.arange(len(data))
    k = np.searchsorted(data.cue_onsets, t, side="right") - 1
    seen = k >= 0
    np.testing.assert_array_equal(data.y[seen], data.cue_channels[k[seen]])
    np.testing.assert_array_equal(data.onset[seen], data.cue_onsets[k[seen]])
    assert (data.onset[~seen] == -1).all() and (data.weight[~seen] == 0).all()
    d = data.delay
    np.testing.assert_array_equal(data.weight > 0, seen & (d >= d_min) & (d <= d_max))
    # consecutive onsets are d_max + 1 + rest apart, rest in [50, 150]
    gaps = np.diff(data.cue_onsets)
    assert gaps.min() >= d_max + 1 + 50 and gaps.max() <= d_max + 1 + 150
    # every delay of the range is explained, and the classes are balanced
    assert set(np.unique(d[data.weight > 0])) == set(range(d_min, d_max + 1))
    counts = np.bincount(data.y[data.weight > 0], minlength=3)
    assert counts.min() > 0.25 * counts.sum()


def test_distractors_only_on_their_channels(data):
    b = data.burst
    assert len(data.distractor_onsets) > len(data.cue_onsets)  # about two per trial
    for on, c in zip(data.distractor_onsets, data.distractor_channels):
        assert (data.x[on:on + b, 1 + data.n_cues + c] == 1).all()
    # runs of >= burst spikes on a cue channel are the cues, and only them (background runs are short)
    for ch in range(data.n_cues):
        starts, lengths = runs(data.x[:, 1 + ch])
        long = starts[lengths >= b]
        expected = data.cue_onsets[(data.cue_channels == ch) & (data.cue_onsets + b <= len(data))]
        assert all(np.any(np.abs(long - e) <= 2) for e in expected)
        assert len(long) <= len(expected) + 2
    # distractors never lie inside their trial's cue burst
    k = np.searchsorted(data.cue_onsets, data.distractor_onsets, side="right") - 1
    assert (data.distractor_onsets[k >= 0] >= data.cue_onsets[k[k >= 0]] + b).all()


def test_ground_truth_mask(data):
    t = int(np.flatnonzero(data.weight > 0)[500])
    on, c = data.onset[t], data.y[t]
    W = 300
    mask = data.ground_truth(t, W)
    assert mask.shape == (6, W) and mask.sum() == data.burst
    rows, cols = np.nonzero(mask)
    assert (rows == 1 + c).all()
    np.testing.assert_array_equal(cols + t - W + 1, np.arange(on, on + data.burst))
    assert (data.x[t - W + 1:t + 1][mask.T] == 1).all()  # the cue spikes at every masked cell
    # a window that cuts the burst keeps the part inside it
    cut = data.ground_truth(t, t - on - 2)
    assert cut.sum() == data.burst - 3
    assert not data.ground_truth(int(data.cue_onsets[0]) - 1, 1).any() if data.cue_onsets[0] > 0 else True
    with pytest.raises(ValueError, match="window"):
        data.ground_truth(10, 12)
    with pytest.raises(ValueError, match="out of range"):
        data.ground_truth(len(data), 1)


def test_seeded_and_validated():
    a, b, c = generate(5000, seed=1), generate(5000, seed=1), generate(5000, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    for kw, match in [(dict(n_steps=0), "n_steps"), (dict(n_cues=1), "n_cues"), (dict(burst=0), "burst"),
                      (dict(delay=(5, 200)), "delay"), (dict(delay=(50, 20)), "delay"), (dict(rest=(-1, 5)), "rest"),
                      (dict(p_background=1.0), "p_background"),
                      (dict(n_distractors=0, distractors_per_trial=1.0), "distractors_per_trial")]:
        with pytest.raises(ValueError, match=match):
            generate(**{"n_steps": 1000, **kw})
    no_distractors = generate(5000, n_distractors=0, distractors_per_trial=0.0)
    assert no_distractors.x.shape[1] == 4 and len(no_distractors.distractor_onsets) == 0


def test_task_splits_and_selection(data):
    d, sp = tasks.cue(n_steps=20_000, seed=3)
    np.testing.assert_array_equal(d.x[:20_000], generate(20_000, seed=3).x)
    o = d.offsets()
    assert set(sp) == {"train", "val", "test"}
    assert [len(sp[k][0]) for k in ("train", "val", "test")] == [o["val"], o["test"] - o["val"], 20_000 - o["test"]]
    for x, y, w in sp.values():
        assert len(x) == len(y) == len(w)
    np.testing.assert_array_equal(sp["test"][2], d.weight[o["test"]:])
    sel = d.selection_labels(o["test"])
    assert (sel[sp["test"][2] == 0] == d.n_cues).all()
    np.testing.assert_array_equal(sel[sp["test"][2] > 0], sp["test"][1][sp["test"][2] > 0])


def test_explained_points_drop_the_selection_class(data):
    from spikeflux.evaluation import make_points

    o = data.offsets()["test"]
    x = data.x[o:]
    pts = make_points("cue", {"cue": (x, data.selection_labels(o))}, 3, 300, 100, seed=0,
                      ground_truth=lambda _, t, w: data.ground_truth(o + t, w))
    kept = explained_points(pts, data.n_cues)
    assert len(pts) == 12 and len(kept) == 9
    assert (np.bincount(kept.y, minlength=3) == 3).all()
    for k, (_, t) in enumerate(kept.where):
        assert data.weight[o + t] == 1 and kept.y[k] == data.y[o + t]
        np.testing.assert_array_equal(kept.masks[k], data.ground_truth(o + t, 300))
        assert kept.masks[k].sum() == data.burst


def test_a_hand_built_memory_solves_it(data):
    """A 1L leaky readout with tau_syn = 100 ms and weight 1 from cue k to class k: the stated
    memory suffices (and a model with tau_syn = 2 ms forgets the cue, so the test can fail)."""
    def accuracy(tau_syn):
        net = LIFNetwork([6, 3], tau_syn=tau_syn, tau_mem=2e-3, readout="leaky", dtype=torch.float64)
        with torch.no_grad():
            net.weights[0].zero_()
            net.weights[0][torch.arange(3), 1 + torch.arange(3)] = 1.0
        pred = predict_series(net, data.x, burn_in=300).argmax(1)
        m = data.weight > 0
        return balanced_accuracy_ci(data.y[m], pred[m], 3)[0]

    assert accuracy(1e-1) > 0.9
    assert accuracy(2e-3) < 0.6


def test_cue_models_are_leaky_with_long_synapses():
    for depth in ("1L", "2L", "3L"):
        net = models.build("cue", depth)
        assert net.readout == "leaky" and net.sizes[0] == 6 and net.sizes[-1] == 3
        assert abs(net.alpha - np.exp(-1e-3 / 1e-1)) < 1e-12
    assert models.build("cue", "3L").surrogate_scale == 10.0 and models.build("cue", "2L").surrogate_scale == 100.0


def test_fit_scores_only_the_explained_test_steps():
    data, sp = tasks.cue(n_steps=20_000, seed=5)
    net, hist, m = models.fit("cue", "1L", sp, max_epochs=1, patience=1, progress=False, save=False)
    _, y, w = sp["test"]
    keep = w > 0
    expected = balanced_accuracy_ci(y[keep], m["pred"][keep], 3, seed=0)
    assert (m["balanced_accuracy"], m["ci_low"], m["ci_high"]) == expected
    assert len(m["pred"]) == len(y) and not keep.all()


def test_delay_bins_known_edges():
    from spikeflux.data.cue import delay_bins

    # linspace(20, 201, 4) = 20, 80.33, 140.67, 201 -> rounded 20, 80, 141, 201
    assert delay_bins((20, 200), 3) == {"20-79": (20, 80), "80-140": (80, 141), "141-200": (141, 201)}
    bins = delay_bins((20, 200), 9)
    assert list(bins.values())[0][0] == 20 and list(bins.values())[-1][1] == 201
    assert all(a < b for a, b in bins.values())
    assert all(b == a2 for (_, b), (a2, _) in zip(list(bins.values())[:-1], list(bins.values())[1:]))
    with pytest.raises(ValueError, match="n_bins"):
        delay_bins((20, 200), 0)
