"""Non-spiking baselines: features with known values, learners on problems with known answers."""

import math

import numpy as np
import pytest
import torch

from spikeflux import baselines as bl


def test_history_features_known_values():
    T = 50
    x = np.zeros((T, 3), dtype=np.float32)
    x[:, 0] = 1.0  # bias: left out
    x[10:, 1] = 1.0  # a step on channel 1 at t = 10
    x[5, 2] = 1.0  # one spike on channel 2
    phi = bl.history_features(x, taus=(10.0, 100.0))
    assert phi.shape == (T, 2 * 3)
    np.testing.assert_array_equal(phi[:, :2], x[:, 1:])
    for j, tau in enumerate((10.0, 100.0)):
        a = math.exp(-1 / tau)
        t = np.arange(T)
        step = np.where(t >= 10, 1 - a ** (t - 9), 0.0)  # EMA of a unit step from zero
        spike = np.where(t >= 5, (1 - a) * a ** (t - 5), 0.0)  # EMA of one spike
        np.testing.assert_allclose(phi[:, 2 + 2 * j], step, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(phi[:, 3 + 2 * j], spike, rtol=1e-5, atol=1e-7)
    assert bl.history_features(x, bias_channel=None).shape == (T, 9)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="history_features: x must be a 2-D"):
        bl.history_features(np.zeros(5))
    with pytest.raises(ValueError, match="taus"):
        bl.history_features(np.zeros((5, 2)), taus=(0.0,))
    with pytest.raises(ValueError, match="fit_linear: y must be"):
        bl.fit_linear(np.zeros((5, 2)), np.zeros(4, dtype=int))


def _memory_task(n: int, seed: int):
    """Label = the channel (1 or 2) that spiked last, a spike every ~20 steps: needs history."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 3), dtype=np.float32)
    x[:, 0] = 1
    on = np.sort(rng.choice(n, n // 20, replace=False))
    ch = rng.integers(1, 3, len(on))
    x[on, ch] = 1
    last = np.searchsorted(on, np.arange(n), side="right") - 1
    y = np.where(last >= 0, ch[np.maximum(last, 0)] - 1, 0).astype(np.int64)
    return x, y


def test_feature_models_learn_a_memory_task_that_the_state_alone_cannot():
    x, y = _memory_task(20_000, 0)
    xt, yt = _memory_task(8_000, 1)
    for fit in (bl.fit_linear, bl.fit_boosting):
        model = fit(x, y, stride=2, taus=(20.0,))
        assert (bl.predict_features(model, xt, taus=(20.0,)) == yt).mean() > 0.85
    # without history (taus=()) the current state says nothing between spikes
    memoryless = bl.fit_linear(x, y, taus=())
    assert (bl.predict_features(memoryless, xt, taus=()) == yt).mean() < 0.65


def test_gru_learns_and_pieces_match_one_pass():
    x, y = _memory_task(30 * 900, 2)
    xv, yv = _memory_task(4 * 900, 3)
    net, hist = bl.fit_gru((x, y), (xv, yv), 2, hidden=8, lr=2e-2, batch_size=16, window=100, max_epochs=5, patience=5)
    assert hist["val_loss"][hist["best_epoch"]] == min(hist["val_loss"]) < hist["val_loss"][0]
    assert (bl.predict_gru(net, xv) == yv).mean() > 0.8
    # pieces that start from a zero state at step 0 (burn_in covers all) equal one pass over x
    with torch.no_grad():
        one = net(torch.as_tensor(xv[None]))[0][0].argmax(-1).numpy()
    np.testing.assert_array_equal(bl.predict_gru(net, xv, n_streams=7, burn_in=len(xv)), one)
    assert net.n_parameters == 3 * (3 * 8 + 8 * 8 + 2 * 8) + 8 * 2 + 2


def test_scores_rows():
    y = np.repeat([0, 1], 900)
    rows = bl.scores({"A": y}, {"A": y}, 2)
    assert rows[0]["subject"] == "A" and rows[0]["balanced_accuracy"] == 1.0 and rows[0]["test_steps"] == 1800


def test_adl_baselines_rows_on_a_small_task():
    x, y = _memory_task(20 * 900, 4)
    xa, ya = _memory_task(4 * 900, 5)
    xb, yb = _memory_task(3 * 900, 6)
    splits = {"train": (x, y), "val": (xa, ya), "test": (np.concatenate([xa, xb]), np.concatenate([ya, yb])),
              "test_by_subject": {"A": (xa, ya), "B": (xb, yb)}}
    rows = bl.adl_baselines(splits, 2, stride=2, gru_hidden=4, gru_epochs=1, gru_patience=1)
    assert [(r["model"], r["subject"]) for r in rows] == [(m, s) for m in ("linear", "boosting", "GRU(4)")
                                                          for s in ("A+B", "A", "B")]
    assert [r["test_steps"] for r in rows[:3]] == [len(ya) + len(yb), len(ya), len(yb)]
    assert all(0 <= r["ci_low"] <= r["balanced_accuracy"] <= r["ci_high"] <= 1 for r in rows)
    assert rows[0]["balanced_accuracy"] > 0.8  # the linear model with a 10-step history solves it
