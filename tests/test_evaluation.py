"""The evaluation metrics on hand-made cases with known answers."""

import math

import numpy as np
import pytest
import torch

from spikeflux import evaluation as ev
from spikeflux.snn import LIFNetwork


def test_segments_by_hand():
    a = np.array([[0.0] * 3 + [1.0] * 12 + [-2.0] * 2])
    ch, st, sp, score = ev.segments(a, max_len=10)
    assert st.tolist() == [0, 3, 13, 15] and sp.tolist() == [3, 13, 15, 17]
    assert score.tolist() == pytest.approx([0.0, 1.0, 1.0, -2.0])
    assert ch.tolist() == [0, 0, 0, 0]


def test_segments_skip_bias():
    a = np.ones((3, 5))
    ch, *_ = ev.segments(a, channels=[1, 2])
    assert set(ch.tolist()) == {1, 2}


@pytest.fixture
def recency_net():
    """Class 0 is driven by recent x1 spikes, class 1 by the bias; leaky readout."""
    net = LIFNetwork([2, 2], dt=1e-3, tau_syn=1e-3, tau_mem=1e-3, readout="leaky").double()
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([[0.0, 1.0], [0.6, 0.0]]))
    return net


def test_deletion_right_ranking_flips_first(recency_net):
    W, P = 40, 6
    X = np.ones((P, 10 + W, 2))
    clean = ev.predict_last(recency_net, torch.as_tensor(X)).numpy()
    assert (clean == 0).all()
    good = np.zeros((P, 2, W))
    good[:, 1] = np.linspace(0, 1, W)  # the most recent x1 steps rank first
    bad = good[:, :, ::-1].copy()  # the oldest first
    r_good = ev.ess(recency_net, X, good, clean, 2, W, n_levels=8)
    r_bad = ev.ess(recency_net, X, bad, clean, 2, W, n_levels=8)
    assert r_good["curve"][0] == 1.0 and r_bad["curve"][0] == 1.0  # no flip: clean prediction
    assert r_good["ess"] < r_bad["ess"]
    # flipping the most recent decile of x1 already changes every prediction
    assert r_good["curve"][1] == 0.0


def test_deletion_inputs_levels_and_bias_untouched():
    x = np.zeros((5, 3))
    attr = np.arange(15.0).reshape(3, 5)
    out = ev.deletion_inputs(x, attr, np.array([0.0, 1.0]), max_len=2)
    assert (out[0] == 0).all()
    assert (out[1][:, 0] == 0).all() and (out[1][:, 1:] == 1).all()  # everything but the bias flipped


def test_permutation_that_cannot_change_anything(recency_net):
    W, P = 30, 4
    X = np.ones((P, 10 + W, 2))  # constant inputs: any permutation in time is the identity
    A = np.random.default_rng(0).normal(size=(P, 2, W))
    clean = ev.predict_last(recency_net, torch.as_tensor(X)).numpy()
    r = ev.output_completeness(recency_net, X, A, clean, 2, W)
    assert (r["scores"] == 1.0).all() and len(r["scores"]) == 8


def test_permuted_inputs_keep_important_segments():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(50, 3)).astype(float)
    attr = np.zeros((3, 50))
    attr[1, 10:20] = 5.0
    out = ev.permuted_inputs(x, attr, np.array([0.5]), rng)[0]
    np.testing.assert_array_equal(out[10:20, 1], x[10:20, 1])  # kept
    np.testing.assert_array_equal(out[:, 0], x[:, 0])  # bias never permuted
    assert sorted(out[:, 2]) == sorted(x[:, 2])  # a permutation: same multiset


def test_perturbation_that_changes_nothing_gives_zero_sensitivity():
    W = 20
    X = np.zeros((3, 5 + W, 2))
    X[..., 0] = 1  # only the bias, which is never perturbed
    A = np.random.default_rng(1).normal(size=(3, 2, W))

    def attribute(Xp, targets):
        assert np.array_equal(Xp, X)
        return A

    r = ev.sensitivity(attribute, X, A, np.zeros(3, int), W, n_perturb=3)
    assert (r["max_sensitivity"] == 0).all() and (r["rel_max_sensitivity"] == 0).all()


def test_perturb_runs_bounds():
    x = np.zeros((200, 2))
    x[50:150, 1] = 1
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = ev.perturb_runs(x, rng)
        on = np.flatnonzero(out[:, 1])
        assert 40 <= on[0] <= 60 and 139 <= on[-1] <= 159
        assert (out[:, 0] == 0).all()


def test_gini_and_top_share():
    assert ev.gini(np.ones(10)) == pytest.approx(0.0)
    one_hot = np.zeros(10)
    one_hot[3] = -2
    assert ev.gini(one_hot) == pytest.approx(0.9)
    assert ev.top_share(one_hot) == pytest.approx(1.0)
    assert ev.top_share(np.ones(100)) == pytest.approx(0.05)
    c = ev.compactness(np.stack([np.ones((2, 5)), -np.ones((2, 5))]))
    assert c["l1_mass"].tolist() == [10.0, 10.0]


def test_ground_truth_scores():
    mask = np.zeros((1, 3, 6), bool)
    mask[0, 1:, 3:] = True
    perfect = np.where(mask, 1.0, 0.1)
    r = ev.ground_truth_scores(perfect, mask)
    assert r["gt_pr_auc"][0] == pytest.approx(1.0)
    assert r["gt_positive_share"][0] == pytest.approx(6 / (6 + 0.1 * 12))


def test_select_points_stratified_and_seeded():
    y = np.repeat(np.arange(4), 100)
    a = ev.select_points(y, 5, history=50, seed=3)
    b = ev.select_points(y, 5, history=50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(y[a]).tolist() == [5, 5, 5, 5]
    assert a.min() >= 50


def test_metric_metadata_is_declared():
    for m in ev.METRICS.values():
        assert m.lower <= m.upper and isinstance(m.higher_is_better, bool)
    assert ev.METRICS["ess"].higher_is_better is False


def test_bootstrap_intervals_seeded():
    v = np.random.default_rng(0).normal(size=200)
    assert ev.bootstrap_ci(v, seed=1) == ev.bootstrap_ci(v, seed=1)
    m, lo, hi = ev.bootstrap_ci(v)
    assert lo < m < hi
    w = ev.trapezoid_weights(np.linspace(0, 1, 5))
    assert w.sum() == pytest.approx(1.0)
    assert math.isclose(w @ np.linspace(0, 1, 5), 0.5)


def _segments_loop(attr, max_len=10, channels=None):
    """Transcription of the segmentation rule, one run at a time (the vectorised one must match)."""
    out = []
    for i in (range(attr.shape[0]) if channels is None else channels):
        t = 0
        W = attr.shape[1]
        while t < W:
            s = np.sign(attr[i, t])
            e = t
            while e < W and np.sign(attr[i, e]) == s:
                e += 1
            for a in range(t, e, max_len):
                b = min(a + max_len, e)
                out.append((i, a, b, attr[i, a:b].mean()))
            t = e
    return out


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_segments_match_a_loop(seed):
    rng = np.random.default_rng(seed)
    attr = rng.normal(size=(4, 57)) * (rng.random((4, 57)) < 0.5)
    attr[2] = np.sign(attr[2])
    for chans in (None, [1, 3]):
        ch, st, sp, score = ev.segments(attr, max_len=7, channels=chans)
        ref = _segments_loop(attr, 7, chans)
        assert list(zip(ch.tolist(), st.tolist(), sp.tolist())) == [r[:3] for r in ref]
        np.testing.assert_allclose(score, [r[3] for r in ref], rtol=1e-12, atol=1e-12)


def test_window_state_continues_the_burn_in():
    """Perturbed windows start from the state after the burn-in: same prediction as the whole excerpt."""
    net = LIFNetwork([3, 8, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=3.0, seed=1).double()
    rng = np.random.default_rng(0)
    X = (rng.random((7, 90, 3)) < 0.3).astype(float)
    state = ev.window_state(net, X, 50)
    whole = net(torch.as_tensor(X)).output[:, -1]
    split = net(torch.as_tensor(X[:, -50:]), state).output[:, -1]
    torch.testing.assert_close(split, whole, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ev.predict_last(net, torch.as_tensor(X[:, -50:]), chunk=3, state=state).numpy(),
                                  whole.argmax(-1).numpy())


def test_frobenius_does_not_overflow():
    A = np.zeros((3, 2, 4))
    A[1, 0, 0], A[2] = 3.0, 1e250
    np.testing.assert_allclose(ev.frobenius(A), [0.0, 3.0, 1e250 * np.sqrt(8)])


def test_completeness_gap_leaves_out_zero_logits(recency_net):
    """A point whose explained logit is 0 has no relative gap; n counts the points scored."""
    pts = ev.PointSet("toy", np.ones((4, 30, 2)), np.zeros(4, dtype=int), [("toy", t) for t in range(4)], 20, 10)
    pts.X[:2] = 0.0  # no input at all: both logits stay exactly 0 and the explained class (0) has logit 0
    rows, _ = ev.evaluate(recency_net, pts, "lrp-0", 2, dataset="toy", model="1L", n_perturb=0)
    gap = [r for r in rows if r["metric"] == "completeness_gap"]
    assert len(gap) == 1 and gap[0]["n"] == 2 and gap[0]["value"] < 1e-6  # the boundary sink only
    assert not any(r["metric"].endswith("sensitivity") for r in rows)  # n_perturb=0 skips continuity


def _toy_loader(task, depth):
    """A module-level loader for the worker processes of run_suite."""
    net = LIFNetwork([2, 5, 2], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=3.0, seed=int(depth[0])).double()
    return net


def test_run_suite_results_do_not_depend_on_workers():
    rng = np.random.default_rng(0)
    X = (rng.random((6, 60, 2)) < 0.4).astype(float)
    X[..., 0] = 1
    pts = {"toy": ev.PointSet("toy", X, np.array([0, 1] * 3), [("toy", t) for t in range(6)], 40, 20)}
    jobs = [("toy", d, m) for d in ("1L", "2L") for m in ("lrp-epsilon", "tsa-s", "random")]
    kw = dict(loader=_toy_loader, n_perturb=2, n_levels=4, seed=3, progress=False)
    one = ev.run_suite(pts, {"toy": 2}, jobs, workers=1, **kw)
    two = ev.run_suite(pts, {"toy": 2}, jobs, workers=2, **kw)
    import pandas as pd

    pd.testing.assert_frame_equal(pd.DataFrame(one[0]), pd.DataFrame(two[0]))
    pd.testing.assert_frame_equal(pd.DataFrame(one[1]), pd.DataFrame(two[1]))
    assert [t["method"] for t in one[2]] == [j[2] for j in jobs]


def test_recut_keeps_the_explained_steps():
    x = np.arange(200 * 2, dtype=float).reshape(200, 2)
    y = np.zeros(200, dtype=int)
    pts = ev.make_points("toy", {"s": (x, y)}, per_class=5, window=20, burn_in=10, seed=0)
    longer, kept = ev.recut(pts, {"s": (x, y)}, 150)
    assert all(t >= 159 for _, t in longer.where)
    np.testing.assert_array_equal(longer.X[:, -1], pts.X[kept, -1])  # the same explained steps
    assert longer.X.shape[1] == 160 and longer.window == 150


def test_excerpt_agreement_with_the_whole_series():
    """A short-memory network: the excerpt after its burn-in predicts what the whole run predicts;
    with no burn-in and a long memory it may not, and the check must be able to say so."""
    rng = np.random.default_rng(1)
    x = (rng.random((3000, 3)) < 0.3).astype(float)
    x[:, 0] = 1
    y = rng.integers(0, 2, 3000)
    net = LIFNetwork([3, 6, 2], dt=1e-3, tau_syn=1e-3, tau_mem=1e-3, weight_scale=3.0, seed=4,
                     readout="leaky").double()
    pts = ev.make_points("toy", {"s": (x, y)}, per_class=20, window=30, burn_in=60, seed=0)
    assert ev.excerpt_agreement(net, pts, {"s": (x, y)}, history=200).all()
    slow = LIFNetwork([3, 6, 2], dt=1e-3, tau_syn=1.0, tau_mem=1.0, weight_scale=3.0, seed=4,
                      readout="leaky").double()
    cold = ev.make_points("toy", {"s": (x, y)}, per_class=20, window=2, burn_in=0, seed=0)
    assert not ev.excerpt_agreement(slow, cold, {"s": (x, y)}, history=2000).all()
