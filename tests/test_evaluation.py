"""The evaluation package on hand-made cases with known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
import torch

from spikeflux import evaluation as ev
from spikeflux.evaluation import metrics as M
from spikeflux.snn import LIFNetwork


def test_segments_by_hand():
    a = np.array([[0.0] * 3 + [1.0] * 12 + [-2.0] * 2])
    ch, st, sp, score = ev.segments(a, max_len=10)
    assert st.tolist() == [0, 3, 13, 15] and sp.tolist() == [3, 13, 15, 17]
    assert score.tolist() == pytest.approx([0.0, 1.0, 1.0, -2.0])
    assert ch.tolist() == [0, 0, 0, 0]


def _segments_loop(attr, max_len=10, channels=None):
    """Transcription of the segmentation rule, one run at a time (the vectorised one must match)."""
    out = []
    for i in (range(attr.shape[0]) if channels is None else channels):
        t, W = 0, attr.shape[1]
        while t < W:
            s, e = np.sign(attr[i, t]), t
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


# --------------------------------------------------------------------------- budgets and ties
def test_cell_budget_is_the_same_for_every_map():
    """At every level, maps of any shape of segments flip exactly round(q N) cells, bias excluded."""
    rng = np.random.default_rng(0)
    x = np.zeros((200, 4))
    levels = ev.LEVELS
    n = ev.budgets(4, 200, levels, bias_channel=0)
    assert n.tolist() == [round(q * 600) for q in levels]
    maps = [rng.normal(size=(4, 200)), np.sign(rng.normal(size=(4, 200))) * 3, np.zeros((4, 200)),
            np.repeat(rng.normal(size=(4, 1)), 200, 1)]
    for attr in maps:
        out = ev.deletion_inputs(x, attr, levels, rng, bias_channel=0)
        flipped = (out != x[None]).sum((1, 2))
        assert flipped.tolist() == n.tolist()
        assert (out[:, :, 0] == 0).all()  # the bias is never flipped


def test_last_segment_is_cut_nearest_t_star_first():
    attr = np.zeros((2, 30))
    attr[1, 5:15] = 2.0  # one segment of 10 steps ranks first
    x = np.zeros((30, 2))
    out = ev.deletion_inputs(x, attr, [4 / 30, 10 / 30], np.random.default_rng(0), bias_channel=0)
    assert np.flatnonzero(out[0][:, 1]).tolist() == [11, 12, 13, 14]  # 4 cells, the latest of the segment
    assert np.flatnonzero(out[1][:, 1]).tolist() == list(range(5, 15))


def test_ties_are_ordered_at_random_and_seeded():
    attr = np.zeros((3, 100))  # every segment ties
    a = ev.cell_order(attr, np.random.default_rng(1), bias_channel=0)
    b = ev.cell_order(attr, np.random.default_rng(1), bias_channel=0)
    c = ev.cell_order(attr, np.random.default_rng(2), bias_channel=0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    first = np.argwhere(a < 10)  # the first segment: 10 cells of one channel, contiguous
    assert len(set(first[:, 0])) == 1 and np.ptp(first[:, 1]) == 9
    # no fixed channel-then-time order: over seeds the first segment lands anywhere
    starts = {tuple(np.argwhere(ev.cell_order(attr, np.random.default_rng(s), bias_channel=0) == 0)[0])
              for s in range(30)}
    assert len(starts) > 10
    # scores still rank first: a positive segment precedes every tie
    attr[2, 40:50] = 1.0
    pos = ev.cell_order(attr, np.random.default_rng(3), bias_channel=0)
    assert set(pos[2, 40:50].tolist()) == set(range(10))


def test_kept_inputs_keep_the_top_cells_and_permute_the_rest():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(50, 3)).astype(float)
    attr = np.zeros((3, 50))
    attr[1, 10:20] = 5.0
    out = ev.kept_inputs(x, attr, [10 / 100, 1.0], rng, bias_channel=0)
    np.testing.assert_array_equal(out[0][10:20, 1], x[10:20, 1])  # the 10 top cells kept
    np.testing.assert_array_equal(out[1], x)  # keep everything: unchanged
    for o in out:
        np.testing.assert_array_equal(o[:, 0], x[:, 0])  # bias never permuted
        assert sorted(o[:, 2]) == sorted(x[:, 2])  # a permutation: same multiset


def test_permuted_inputs_keep_important_segments():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(50, 3)).astype(float)
    attr = np.zeros((3, 50))
    attr[1, 10:20] = 5.0
    out = ev.permuted_inputs(x, attr, np.array([0.5]), rng, bias_channel=0)[0]
    np.testing.assert_array_equal(out[10:20, 1], x[10:20, 1])
    np.testing.assert_array_equal(out[:, 0], x[:, 0])
    assert sorted(out[:, 2]) == sorted(x[:, 2])


def test_bias_channel_none_lets_every_channel_be_perturbed():
    x = np.zeros((10, 2))
    out = ev.deletion_inputs(x, np.ones((2, 10)), [1.0], np.random.default_rng(0), bias_channel=None)
    assert (out[0] == 1).all()
    with pytest.raises(ValueError, match="bias_channel=5"):
        ev.deletion_inputs(x, np.ones((2, 10)), [1.0], np.random.default_rng(0), bias_channel=5)


def test_perturb_runs_bounds():
    x = np.zeros((200, 2))
    x[50:150, 1] = 1
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = ev.perturb_runs(x, rng, bias_channel=0)
        on = np.flatnonzero(out[:, 1])
        assert 40 <= on[0] <= 60 and 139 <= on[-1] <= 159
        assert (out[:, 0] == 0).all()


# --------------------------------------------------------------------------- metrics on a toy model
@pytest.fixture
def recency_net():
    """Class 0 is driven by recent x1 spikes, class 1 by the bias; leaky readout."""
    net = LIFNetwork([2, 2], dt=1e-3, tau_syn=1e-3, tau_mem=1e-3, readout="leaky").double()
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([[0.0, 1.0], [0.6, 0.0]]))
    return net


def _points(X, y=None, masks=None, window=None):
    P = len(X)
    return ev.PointSet("toy", X, np.zeros(P, int) if y is None else y, [("toy", t) for t in range(P)],
                       window or X.shape[1] - 10, 10, masks, bias_channel=0)


def test_deletion_right_ranking_flips_first(recency_net):
    W, P = 40, 6
    X = np.ones((P, 10 + W, 2))
    pts = _points(X)
    good = np.zeros((P, 2, W))
    good[:, 1] = np.linspace(0.01, 1, W)  # the most recent x1 steps rank first
    bad = good[:, :, ::-1].copy()  # the oldest first
    levels = (0.0, 0.05, 0.1, 0.5, 1.0)
    rg, cg = ev.score_maps(recency_net, pts, good, 2, bias_channel=0, levels=levels)
    rb, cb = ev.score_maps(recency_net, pts, bad, 2, bias_channel=0, levels=levels)
    ess = lambda rows: [r["value"] for r in rows if r["metric"] == "ess"][0]  # noqa: E731
    assert ess(rg) < ess(rb)
    deletion = [c for c in cg if c["curve"] == "deletion"]
    assert deletion[0]["value"] == 1.0 and deletion[0]["cells_flipped"] == 0
    assert deletion[1]["value"] == 0.0 and deletion[1]["cells_flipped"] == 2  # the 2 latest x1 steps


def test_per_point_values_average_to_the_balanced_accuracy():
    clean = np.array([0, 0, 0, 1, 2, 2])
    pred = np.array([0, 1, 0, 1, 0, 2])
    from spikeflux.training import balanced_accuracy, confusion

    v = ev.ba_weights(clean) * (pred == clean)
    assert v.mean() == pytest.approx(balanced_accuracy(confusion(clean, pred, 3)))


def test_permutation_that_cannot_change_anything(recency_net):
    W, P = 30, 4
    X = np.ones((P, 10 + W, 2))  # constant inputs: any permutation in time is the identity
    A = np.random.default_rng(0).normal(size=(P, 2, W))
    rows, curves = ev.score_maps(recency_net, _points(X), A, 2, bias_channel=0)
    oc = [r["value"] for r in rows if r["metric"] in ("output_completeness", "oc_matched")]
    assert oc and all(v == 1.0 for v in oc)


def test_gini_and_top_share():
    assert ev.gini(np.ones(10)) == pytest.approx(0.0)
    one_hot = np.zeros(10)
    one_hot[3] = -2
    assert ev.gini(one_hot) == pytest.approx(0.9)
    assert ev.top_share(one_hot) == pytest.approx(1.0)
    assert ev.top_share(np.ones(100)) == pytest.approx(0.05)


def _case(A, masks=None, **kw):
    return M.Case(net=None, X=np.zeros((len(A), 5, A.shape[1])), A=A, clean=np.zeros(len(A), int), n_classes=2,
                  window=A.shape[2], state=None, bias_channel=0, masks=masks, **kw)


def test_ground_truth_scores_by_hand():
    mask = np.zeros((1, 3, 6), bool)
    mask[0, 1:, 3:] = True  # 6 cells
    perfect = np.where(mask, 1.0, 0.1)
    perfect[0, 0] = 100.0  # the bias row is never ranked nor counted
    c = _case(perfect, mask)
    assert M.gt_pr_auc(c)[0] == pytest.approx(1.0)
    assert M.gt_mass_accuracy(c)[0] == pytest.approx(6 / (6 + 0.1 * 6))
    assert M.gt_rank_accuracy(c)[0] == pytest.approx(1.0)
    half = np.zeros((1, 3, 6))
    half[0, 1, 3:] = 1.0  # 3 of the 6 mask cells on top, the rest 0
    half[0, 2, :3] = 2.0  # 3 cells off the mask rank higher still
    c = _case(half, mask)
    assert M.gt_rank_accuracy(c)[0] == pytest.approx(0.5)
    assert M.gt_mass_accuracy(c)[0] == pytest.approx(3 / 9)
    assert M.cell_share(c)[0] == pytest.approx(3 / 9)
    assert M.sensor_share(c)[0] == pytest.approx(1.0)  # every non-zero cell is on a row that holds evidence


def test_zero_map_share_and_completeness_against_the_own_target():
    A = np.zeros((4, 2, 3))
    A[1:, 1, 2] = [1.0, 2.0, 3.0]
    c = _case(A, target=np.array([0.0, 1.0, 4.0, 3.0]))
    assert M.zero_map_share(c).mean() == pytest.approx(0.25)
    gap = M.completeness_gap(c)
    assert np.isnan(gap[0]) and gap[1:].tolist() == pytest.approx([0.0, 0.5, 0.0])
    assert M.completeness_gap(_case(A)) is None  # no completeness property: no row


def test_metric_registry_declares_everything():
    for m in ev.METRICS.values():
        assert m.lower <= m.upper and isinstance(m.higher_is_better, bool) and m.fn is not None
        assert m.statistic in ("mean", "median")
    assert ev.METRICS["ess"].higher_is_better is False
    with pytest.raises(ValueError, match="twice"):
        ev.register_metric("ess", higher_is_better=False, lower=0, upper=1, category="x", description="")(len)


def test_frobenius_does_not_overflow():
    A = np.zeros((3, 2, 4))
    A[1, 0, 0], A[2] = 3.0, 1e250
    np.testing.assert_allclose(ev.frobenius(A), [0.0, 3.0, 1e250 * np.sqrt(8)])


# --------------------------------------------------------------------------- statistics
def test_bootstrap_and_hierarchical_intervals():
    rng = np.random.default_rng(0)
    v = rng.normal(size=200)
    assert ev.bootstrap_ci(v, seed=1) == ev.bootstrap_ci(v, seed=1)
    m, lo, hi = ev.bootstrap_ci(v)
    assert lo < m < hi
    assert ev.hierarchical_ci([v], seed=1)[0] == pytest.approx(m)
    # seeds that disagree widen the interval beyond the points' own spread
    tight = [rng.normal(0, 0.1, 100) for _ in range(3)]
    spread = [rng.normal(mu, 0.1, 100) for mu in (-1.0, 0.0, 1.0)]
    w_tight = np.diff(ev.hierarchical_ci(tight)[1:])[0]
    w_spread = np.diff(ev.hierarchical_ci(spread)[1:])[0]
    assert w_spread > 5 * w_tight


def test_paired_test_on_a_constructed_case():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 60))  # large variation between points, shared by both methods
    a = [b + 0.1 + rng.normal(0, 0.01, 60) for b in base]  # a = b + 0.1 on every unit
    r = ev.paired(a, list(base))
    assert r["diff"] == pytest.approx(0.1, abs=0.01) and r["ci_low"] > 0.05 and r["p"] < 1e-10
    same = ev.paired(list(base), list(base))
    assert same["diff"] == 0 and same["p"] == 1.0
    noise = ev.paired([b + rng.normal(0, 1, 60) for b in base], list(base))
    assert noise["p"] > 0.01 and noise["ci_low"] < 0 < noise["ci_high"]


def test_holm_by_hand():
    np.testing.assert_allclose(ev.holm(np.array([0.01, 0.04, 0.03, np.nan])), [0.03, 0.06, 0.06, np.nan])
    assert (ev.holm(np.array([0.5, 0.9])) == [1.0, 1.0]).all()


def test_kendall_w():
    assert ev.kendall_w(np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3]])) == pytest.approx(1.0)
    assert ev.kendall_w(np.array([[1, 2, 3], [3, 2, 1]])) == pytest.approx(0.0)
    assert np.isnan(ev.kendall_w(np.array([[1, 2, 3]])))


# --------------------------------------------------------------------------- sanity checks
def test_randomisation_changes_a_weight_dependent_map_and_not_sam_at_the_output():
    net = LIFNetwork([3, 12, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2, weight_scale=3.0, seed=2).double()
    rng = np.random.default_rng(0)
    X = (rng.random((6, 80, 3)) < 0.4).astype(float)
    X[..., 0] = 1
    clean = ev.predict_last(net, torch.as_tensor(X)).numpy()

    def explainer(method):
        return lambda n, Xp, c: ev.attribute(n, Xp, method, 50, c)[0]

    r1 = ev.randomised(net, 1, seed=0)
    assert torch.equal(r1.weights[0], net.weights[0]) and not torch.equal(r1.weights[1], net.weights[1])
    A_sam = explainer("sam")(net, X, clean)
    sam = ev.cascading(net, X, A_sam, clean, explainer("sam"))
    assert sam[0]["randomised_layers"] == 1 and sam[0]["spearman_abs"] == pytest.approx(1.0)
    assert not np.array_equal(explainer("sam")(ev.randomised(net, 2, seed=1), X, clean), A_sam)  # hidden spikes move
    A_lrp = explainer("lrp-epsilon")(net, X, clean)
    lrp = ev.cascading(net, X, A_lrp, clean, explainer("lrp-epsilon"))
    assert lrp[0]["spearman_signed"] < 0.9
    cls = ev.class_sensitivity(net, X, clean, lambda n, Xp, c: ev.attribute(n, Xp, "lrp-epsilon", 50, c,
                                                                              contrast=None)[0])
    assert cls["check"] == "class" and cls["spearman_signed"] < 0.99


# --------------------------------------------------------------------------- evaluate and the suite
def test_completeness_gap_leaves_out_zero_targets(recency_net):
    X = np.ones((4, 30, 2))
    X[:2] = 0.0  # no input at all: both logits stay exactly 0, so the contrast is 0 as well
    rows, _ = ev.evaluate(recency_net, _points(X, window=20), "lrp-0", 2, dataset="toy", model="1L", n_perturb=0,
                          bias_channel=0)
    gap = [r for r in rows if r["metric"] == "completeness_gap"]
    assert len(gap) == 1 and gap[0]["n"] == 2 and gap[0]["value"] < 1e-6
    zero = [r for r in rows if r["metric"] == "zero_map_share"][0]
    assert zero["value"] == pytest.approx(0.5)
    assert not any(r["metric"].endswith("sensitivity") for r in rows)  # n_perturb=0 skips continuity
    assert not any(r["metric"] == "completeness_gap" for r in
                   ev.evaluate(recency_net, _points(X, window=20), "saliency", 2, dataset="toy", model="1L",
                               n_perturb=0, bias_channel=0)[0])


def test_evaluate_refuses_the_old_arguments(recency_net):
    with pytest.raises(TypeError, match="levels="):
        ev.evaluate(recency_net, _points(np.ones((2, 30, 2))), "saliency", 2, dataset="t", model="m", n_levels=10)


def test_make_points_on_a_short_series_names_it():
    with pytest.raises(ValueError, match="series 's' has 50 steps, fewer than burn_in \\+ window"):
        ev.make_points("toy", {"s": (np.zeros((50, 2)), np.zeros(50, int))}, 2, window=40, burn_in=20)


def _toy_loader(task, depth, seed=0):
    """A module-level loader for the worker processes of run_suite."""
    return LIFNetwork([2, 5, 2], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=3.0,
                      seed=int(depth[0]) + 10 * seed).double()


def _toy_suite():
    rng = np.random.default_rng(0)
    X = (rng.random((6, 60, 2)) < 0.4).astype(float)
    X[..., 0] = 1
    pts = {"toy": ev.PointSet("toy", X, np.array([0, 1] * 3), [("toy", t) for t in range(6)], 40, 20,
                              bias_channel=0)}
    jobs = [("toy", d, s, m) for d in ("1L", "2L") for s in (0, 1) for m in ("lrp-epsilon", "tsa-s", "random")]
    kw = dict(loader=_toy_loader, n_perturb=2, n_draws=2, levels=(0, 0.05, 0.2, 1.0), progress=False)
    return pts, jobs, kw


def test_run_suite_results_do_not_depend_on_workers():
    pts, jobs, kw = _toy_suite()
    one = ev.run_suite(pts, {"toy": 2}, jobs, workers=1, **kw)
    two = ev.run_suite(pts, {"toy": 2}, jobs, workers=2, **kw)
    pd.testing.assert_frame_equal(pd.DataFrame(one.rows), pd.DataFrame(two.rows))
    pd.testing.assert_frame_equal(pd.DataFrame(one.curves), pd.DataFrame(two.curves))
    assert [t["method"] for t in one.timing] == [j[3] for j in jobs]
    summary = pd.DataFrame(ev.summarise(one))
    assert set(summary.seed.astype(str)) == {"0", "1", "all"}
    pairs = pd.DataFrame(ev.compare(one))
    assert {"method_a", "method_b", "diff", "ci_low", "ci_high", "p", "p_holm"} <= set(pairs.columns)
    assert set(pairs.method_a) | set(pairs.method_b) == {"lrp-epsilon", "tsa-s", "random"}


def test_a_diverged_method_is_reported_not_ranked(monkeypatch):
    import importlib

    S = importlib.import_module("spikeflux.evaluation.suite")  # the module (the package exports a function suite)

    monkeypatch.setattr(S, "AMPLIFICATION_BOUND", 0.5)  # every LRP map "diverges": amplification >= 1
    pts, jobs, kw = _toy_suite()
    jobs = [j for j in jobs if j[1] == "1L"]
    res = ev.run_suite(pts, {"toy": 2}, jobs, workers=1, **{**kw, "n_perturb": 0})
    assert ev.statuses(res)[("toy", "1L", "lrp-epsilon")] == "diverged"
    pairs = pd.DataFrame(ev.compare(res))
    with_lrp = pairs[(pairs.method_a == "lrp-epsilon") | (pairs.method_b == "lrp-epsilon")]
    assert len(with_lrp) and with_lrp.p_holm.isna().all()  # in pairs.csv, with no Holm p
    assert pairs[(pairs.method_a != "lrp-epsilon") & (pairs.method_b != "lrp-epsilon")].p_holm.notna().all()
    v = ev.verdicts(pairs.to_dict("records"))
    assert all("lrp-epsilon" not in x["best"] for x in v.values())
    frame = ev.report.plot_frame(pd.DataFrame(ev.summarise(res)), v, "ess")
    assert "lrp-epsilon" not in set(frame.method)


def test_mostly_empty_maps_are_reported_not_ranked():
    """Maps that are all zero on most points score like the zero baseline: status "empty"."""
    pts, jobs, kw = _toy_suite()
    res = ev.run_suite(pts, {"toy": 2}, [j for j in jobs if j[1] == "1L" and j[2] == 0], workers=1,
                       **{**kw, "n_perturb": 0})
    res.scores[("toy", "1L", 0, "lrp-epsilon")][("zero_map_share", np.nan)] = np.ones(6)  # as if every map were 0
    assert ev.statuses(res)[("toy", "1L", "lrp-epsilon")] == "empty"
    assert ev.statuses(res)[("toy", "1L", "tsa-s")] == "ok"


def test_run_sanity_covers_every_method():
    pts, jobs, kw = _toy_suite()
    rows = pd.DataFrame(ev.run_sanity(pts, jobs, n_points=4, loader=_toy_loader, progress=False))
    assert set(rows.method) == {"lrp-epsilon", "tsa-s"}  # the baselines are skipped
    assert {"dataset", "model", "seed", "method", "randomised_layers", "spearman_abs", "spearman_signed"} <= set(rows.columns)
    two = rows[(rows.model == "2L") & (rows.check == "cascading")]
    assert sorted(set(two.randomised_layers)) == [1, 2]


def test_run_suite_on_a_dask_cluster_equals_the_default():
    distributed = pytest.importorskip("distributed")
    pts, jobs, kw = _toy_suite()
    ref = ev.run_suite(pts, {"toy": 2}, jobs, workers=1, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        out = ev.run_suite(pts, {"toy": 2}, jobs, executor=client.get_executor(), **kw)
    pd.testing.assert_frame_equal(pd.DataFrame(ref.rows), pd.DataFrame(out.rows))
    pd.testing.assert_frame_equal(pd.DataFrame(ref.curves), pd.DataFrame(out.curves))


def test_recut_keeps_the_explained_steps():
    x = np.arange(200 * 2, dtype=float).reshape(200, 2)
    y = np.zeros(200, dtype=int)
    pts = ev.make_points("toy", {"s": (x, y)}, per_class=5, window=20, burn_in=10, seed=0)
    longer, kept = ev.recut(pts, {"s": (x, y)}, 150)
    assert all(t >= 159 for _, t in longer.where)
    np.testing.assert_array_equal(longer.X[:, -1], pts.X[kept, -1])
    assert longer.X.shape[1] == 160 and longer.window == 150


def test_window_state_continues_the_burn_in():
    net = LIFNetwork([3, 8, 4], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=3.0, seed=1).double()
    rng = np.random.default_rng(0)
    X = (rng.random((7, 90, 3)) < 0.3).astype(float)
    state = ev.window_state(net, X, 50)
    whole = net(torch.as_tensor(X)).output[:, -1]
    split = net(torch.as_tensor(X[:, -50:]), state).output[:, -1]
    torch.testing.assert_close(split, whole, rtol=0, atol=1e-12)


def test_excerpt_agreement_with_the_whole_series():
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


def test_an_overflow_in_continuity_or_sanity_is_reported_not_raised(recency_net, monkeypatch):
    """A method whose relevance overflows on a perturbed input or a randomised model: NaN rows, no crash."""
    X = np.ones((4, 30, 2))
    from spikeflux.evaluation import metrics as M

    def explode(Xp, c):
        raise FloatingPointError("overflow")

    case = M.Case(net=recency_net, X=X, A=np.ones((4, 2, 20)), clean=np.zeros(4, int), n_classes=2, window=20,
                  state=None, bias_channel=0, explain=explode, n_perturb=2)
    assert np.isnan(M.max_sensitivity(case)).all() and np.isnan(M.rel_max_sensitivity(case)).all()


def test_silent_windows_known_answer():
    """A step ends a silent window when no channel but the bias spiked in its last ``window`` steps."""
    from spikeflux.evaluation.points import silent_windows

    x = np.zeros((12, 3))
    x[:, 0] = 1.0  # bias, always on
    x[4, 2] = 1.0  # the one event
    quiet = silent_windows(x, window=3, bias_channel=0)
    assert quiet.tolist() == [True] * 4 + [False] * 3 + [True] * 5
    # without a bias channel the bias spikes count as events: no window is silent
    assert not silent_windows(x, window=3, bias_channel=None).any()


def test_make_points_excludes_silent_windows_and_reports_the_share():
    from spikeflux.evaluation.points import make_points, silent_windows

    rng = np.random.default_rng(0)
    T = 400
    x = np.zeros((T, 3))
    x[:, 0] = 1.0
    y = np.repeat([0, 1], T // 2)
    x[: T // 2, 1] = rng.random(T // 2) < 0.3  # class 0 is busy; class 1 mostly silent
    x[300, 2] = 1.0
    pts = make_points("t", {"s": (x, y)}, per_class=50, window=20, burn_in=5, seed=0, bias_channel=0,
                      exclude_silent=True)
    quiet = silent_windows(x, 20, 0)
    assert not any(quiet[t] for _, t in pts.where)
    assert (pts.X[:, -20:, 1:] != 0).any((1, 2)).all()
    at1 = np.flatnonzero(y == 1)
    assert pts.silent[1] == pytest.approx(quiet[at1].mean())
    assert pts.silent[0] == pytest.approx(quiet[24:T // 2].mean())
    assert (pts.y == 1).sum() == (~quiet[at1]).sum()  # fewer eligible steps than asked: all of them
    kept = make_points("t", {"s": (x, y)}, per_class=50, window=20, burn_in=5, seed=0, bias_channel=0)
    assert kept.silent == {} and any(quiet[t] for _, t in kept.where)


def test_run_explained_check_equals_the_direct_check_on_its_subset():
    pts, _, _ = _toy_suite()
    rows = pd.DataFrame(ev.run_explained_check(pts, ("1L", "2L"), ("lrp-epsilon", "saliency"), n_points=4,
                                               loader=_toy_loader, progress=False))
    assert len(rows) == 2 * 3 * 2 and set(rows.model) == {"1L", "2L"} and (rows.n == 4).all()
    idx = ev.stratified_subset(pts["toy"], 4, "explained")
    assert np.bincount(pts["toy"].y[idx]).tolist() == [2, 2]
    direct = pd.DataFrame(ev.explained_check(_toy_loader("toy", "2L"), pts["toy"].subset(idx),
                                             ("lrp-epsilon", "saliency")))
    got = rows[rows.model == "2L"].drop(columns=["dataset", "model"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, direct)


def test_paired_test_counts_a_point_once_over_seeds():
    """Three seeds repeating the same 8 point differences are 8 observations, not 24."""
    d = np.array([0.3, 0.1, 0.4, 0.2, -0.05, 0.25, 0.15, 0.35])
    a = [d.copy() for _ in range(3)]
    b = [np.zeros(8) for _ in range(3)]
    r = ev.paired(a, b)
    assert r["n"] == 8
    assert r["p"] == pytest.approx(float(scipy_stats.wilcoxon(d, zero_method="zsplit").pvalue))
    one = ev.paired([d], [np.zeros(8)])
    assert one["p"] == pytest.approx(r["p"])
    with pytest.raises(ValueError, match="different numbers of points"):
        ev.paired([d, d[:4]], [np.zeros(8), np.zeros(4)])


def test_verdicts_best_only_among_methods_that_beat_random():
    def pair(a, b, diff, p):  # lower is better (ESS-like)
        return dict(dataset="t", model="1L", metric="ess", level=np.nan, method_a=a, method_b=b, diff=diff,
                    p_holm=p, higher_is_better=False)

    pairs = [pair("a", "random", -0.3, 0.001), pair("b", "random", -0.05, 0.4), pair("a", "b", -0.25, 0.2)]
    v = ev.verdicts(pairs)[("t", "1L", "ess", np.nan)]
    assert v["beats_random"] == ["a"] and v["best"] == ["a"]  # b is not worse than a, but not better than random
    none = ev.verdicts([pair("a", "random", -0.1, 0.3), pair("b", "random", 0.1, 0.3), pair("a", "b", 0.0, 1.0)])
    assert none[("t", "1L", "ess", np.nan)]["best"] == []
