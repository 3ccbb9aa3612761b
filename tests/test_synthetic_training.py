"""The synthetic generator, the training loop and its metrics."""

import numpy as np
import pytest
import torch

from spikeflux.data.synthetic import generate
from spikeflux.snn import LIFNetwork
from spikeflux.training import (TrainConfig, arrange_streams, balanced_accuracy, balanced_accuracy_ci, confusion,
                                predict_series, stream_loss, train)


@pytest.fixture(scope="module")
def data():
    return generate(n_steps=50_000, seed=123)


def test_label_rule_and_bias(data):
    x1, x2 = data.x[:, 1].astype(int), data.x[:, 2].astype(int)
    expected = np.select([(x1 == 1) & (x2 == 0), (x1 == 1) & (x2 == 1), (x1 == 0) & (x2 == 1)], [0, 1, 2], 3)
    np.testing.assert_array_equal(data.y, expected)
    assert (data.x[:, 0] == 1).all()
    assert set(np.unique(data.x)) <= {0.0, 1.0}


def test_segments_constant_and_lengths(data):
    starts = np.unique(data.segment_start)
    lengths = np.diff(np.append(starts, len(data)))
    assert lengths[:-1].min() >= 1 and lengths.max() <= 599
    assert 250 < lengths[:-1].mean() < 350  # uniform on 1..599 has mean 300
    for a, b in zip(starts[:-1], starts[1:]):
        assert (data.x[a:b] == data.x[a]).all()
    assert all(np.mean(data.y == c) > 0.15 for c in range(4))


def test_seed_determinism():
    a, b, c = generate(5000, seed=1), generate(5000, seed=1), generate(5000, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    np.testing.assert_array_equal(generate(1000, seed=123).y, generate(1000).y)  # default seed 123


def test_ground_truth_mask(data):
    """The mask covers the maximal run of the current (x1, x2) pattern, which may span several segments."""
    t = 20_000
    s = int(data.run_start[t])
    window = t - s + 50
    mask = data.ground_truth(t, window)
    assert mask.shape == (3, window)
    assert not mask[0].any()
    np.testing.assert_array_equal(mask[1], np.arange(t - window + 1, t + 1) >= s)
    np.testing.assert_array_equal(mask[1], mask[2])
    assert mask[1].sum() == t - s + 1
    assert (data.x[s:t + 1, 1:] == data.x[t, 1:]).all() and (data.x[s - 1, 1:] != data.x[t, 1:]).any()
    # a step whose segment repeats the previous segment's pattern: the run starts earlier than the segment
    repeat = np.flatnonzero(data.run_start < data.segment_start)
    assert len(repeat) > 0
    u = int(repeat[0])
    m = data.ground_truth(u, u + 1)
    assert m[1].sum() == u - data.run_start[u] + 1 > u - data.segment_start[u] + 1
    with pytest.raises(ValueError, match="window"):
        data.ground_truth(10, 12)


def test_split_is_chronological(data):
    sp = data.split()
    n = len(data)
    assert len(sp["train"][1]) + len(sp["val"][1]) == int(0.7 * n)
    assert len(sp["test"][1]) == n - int(0.7 * n)
    np.testing.assert_array_equal(sp["test"][1], data.y[int(0.7 * n):])
    off = data.offsets()
    np.testing.assert_array_equal(sp["val"][1], data.y[off["val"]:off["test"]])


def test_arrange_streams_continue_rows():
    x = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    y = np.arange(20)
    xb, yb, dropped = arrange_streams(x, y, window=2, batch_size=3)
    # 10 windows, batches of at most 3 -> 4 batches of 2 streams; 2 windows (4 steps) left out and reported
    assert xb.shape == (4, 2, 2, 3) and dropped == 4
    for b in range(3):
        for k in range(2):
            assert yb[b + 1, k, 0] == yb[b, k, -1] + 1  # row k of batch b+1 continues row k of batch b
    assert yb[0, 1, 0] == 8
    # a long series loses less than one batch's worth of windows
    _, _, dropped = arrange_streams(np.zeros((2012 * 900 + 17, 1)), np.zeros(2012 * 900 + 17), 900, 512)
    assert dropped == 17


def test_short_training_lowers_loss(data):
    sp = data.split()
    net = LIFNetwork([3, 10, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=0)
    xb, yb, _ = arrange_streams(*sp["val"], 900, 128)
    before = stream_loss(net, xb, yb)
    hist = train(net, sp["train"], sp["val"], TrainConfig(lr=1e-2, batch_size=16, max_epochs=3, patience=3),
                 progress=False)
    after = stream_loss(net, xb, yb)
    assert after < before
    assert after == pytest.approx(hist.best_val_loss, rel=1e-5)  # best weights restored
    assert len(hist.train_loss) == 3


def test_training_is_deterministic(data):
    sp = {k: (x[:20_000], y[:20_000]) for k, (x, y) in data.split().items()}
    outs = []
    for _ in range(2):
        net = LIFNetwork([3, 5, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=4)
        train(net, sp["train"], sp["val"], TrainConfig(lr=1e-2, batch_size=4, max_epochs=1), progress=False)
        outs.append(net.weights[0].detach().clone())
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_early_stopping_restores_best():
    """With a learning rate that diverges, the best (first) epoch's weights come back."""
    d = generate(20_000, seed=5)
    sp = d.split()
    net = LIFNetwork([3, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=0)
    hist = train(net, sp["train"], sp["val"], TrainConfig(lr=5.0, batch_size=4, max_epochs=6, patience=2),
                 progress=False)
    assert hist.val_loss[hist.best_epoch] == min(hist.val_loss)
    xb, yb, _ = arrange_streams(*sp["val"], 900, 4)
    assert stream_loss(net, xb, yb) == pytest.approx(min(hist.val_loss), rel=1e-5)


def test_predict_series_matches_streams():
    net = LIFNetwork([3, 4], seed=0)
    x = generate(3000, seed=1).x
    out = predict_series(net, x, n_streams=1, chunk=700)
    ref = net(torch.as_tensor(x)[None]).output[0].detach().numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    assert predict_series(net, x, n_streams=3, chunk=900).shape == (3000, 4)


def test_balanced_accuracy_and_interval():
    y = np.array([0] * 90 + [1] * 10)
    pred = np.array([0] * 90 + [0] * 5 + [1] * 5)
    cm = confusion(y, pred, 2)
    assert balanced_accuracy(cm) == pytest.approx((1.0 + 0.5) / 2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 9000)
    pred = np.where(rng.random(9000) < 0.8, y, rng.integers(0, 3, 9000))
    ba, lo, hi = balanced_accuracy_ci(y, pred, 3, block=90, n_boot=300)
    assert lo < ba < hi and hi - lo < 0.05
    assert balanced_accuracy_ci(y, pred, 3, block=90, n_boot=300) == (ba, lo, hi)  # seeded


def test_fit_all_in_workers_equals_fit_in_process(tmp_path, monkeypatch):
    """Models trained side by side in worker processes are bit-identical to in-process ones (one thread)."""
    from spikeflux import models

    monkeypatch.setenv("SPIKEFLUX_DERIVED_DIR", str(tmp_path))
    d = generate(n_steps=20_000, seed=5)
    splits = d.split()
    kw = dict(seed=0, max_epochs=2, patience=1, progress=False, save=False)
    par = models.fit_all("synthetic", ["1L", "2L"], splits, workers=2, **kw)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seq = {dep: models.fit("synthetic", dep, splits, **kw) for dep in ("1L", "2L")}
    finally:
        torch.set_num_threads(threads)
    assert list(par) == ["1L", "2L"]
    for dep in ("1L", "2L"):
        for a, b in zip(par[dep][0].parameters(), seq[dep][0].parameters()):
            assert torch.equal(a, b), dep
        np.testing.assert_array_equal(par[dep][2]["pred"], seq[dep][2]["pred"])


def test_predict_series_burn_in_gives_each_piece_history():
    """With a burn-in every piece starts early: equal to one uninterrupted run once the
    burn-in covers the memory of the network (here float64, decays e^-1 per step)."""
    net = LIFNetwork([3, 6, 4], dt=1e-3, tau_syn=1e-3, tau_mem=1e-3, weight_scale=3.0, seed=2).double()
    x = (np.random.default_rng(0).random((1000, 3)) < 0.3).astype(np.float64)
    whole = net(torch.as_tensor(x[None])).output[0].detach().numpy()
    np.testing.assert_allclose(predict_series(net, x, n_streams=5, chunk=70, burn_in=100), whole, atol=1e-12)
    cold = predict_series(net, x, n_streams=5, chunk=70)  # zero state at every piece start: differs there
    assert not np.allclose(cold, whole)
    np.testing.assert_array_equal(predict_series(net, x, n_streams=1, chunk=70), predict_series(net, x, 1, 1000))


def test_class_weights_known_answer():
    from spikeflux.training import class_weights, with_step_weights

    y = np.array([0, 0, 0, 1, 3])
    w = class_weights(y, 5)  # n / (K n_c) with n = 5, K = 3 classes present
    np.testing.assert_allclose(w, [5 / 9, 5 / 3, 0.0, 5 / 3, 0.0])
    x, y2, steps = with_step_weights((np.zeros((5, 2)), y), w)
    assert steps.dtype == np.float32 and steps.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(steps, [5 / 9] * 3 + [5 / 3] * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="0..1"):
        class_weights(np.array([0, 2]), 2)


def test_fit_with_class_weights_trains_on_the_weighted_loss():
    """``class_weights=True`` is the same training as passing the weights with the splits."""
    from spikeflux import models, tasks
    from spikeflux.training import class_weights, with_step_weights

    _, sp = tasks.synthetic(n_steps=20_000)
    kw = dict(seed=0, max_epochs=1, patience=1, progress=False, save=False)
    a, ha, _ = models.fit("synthetic", "2L", sp, class_weights=True, **kw)
    w = class_weights(sp["train"][1], 4)
    weighted = dict(sp, train=with_step_weights(sp["train"], w), val=with_step_weights(sp["val"], w))
    b, hb, _ = models.fit("synthetic", "2L", weighted, **kw)
    assert ha.val_loss == hb.val_loss
    for ta, tb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(ta, tb)
    with pytest.raises(ValueError, match="own loss weights"):
        models.fit("synthetic", "2L", weighted, class_weights=True, **kw)
