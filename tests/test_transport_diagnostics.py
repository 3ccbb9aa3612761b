"""Ledger summaries of ``spikeflux.transport.diagnostics`` on a generated network, against the ledger itself."""

import numpy as np
import torch

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork
from spikeflux.transport import diagnostics as diag


def case(dtype=torch.float64):
    net = LIFNetwork([3, 5, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=dtype)
    x = (torch.rand(40, 3, generator=torch.Generator().manual_seed(3)) < 0.5).to(dtype)
    return explain(net, x, [30, 35, 39], method="lrp-epsilon", window=20, contrast="runner-up")


def test_residuals_and_signed_summary():
    e = case()
    L = e.ledger
    res = diag.residuals(L)
    assert res["global_init"] <= 1e-12 and res["slice_init"] <= 1e-12 and res["within"] == 1.0
    np.testing.assert_allclose(res["global_init"], float((L.global_residual.abs() / L.relevance_init.abs()).max()))
    s = diag.signed_summary(L)
    assert s["amplification"] >= 1 and 0 <= s["cancelled"] < 1
    np.testing.assert_allclose(s["absorbed_pos"] + s["absorbed_neg"],
                               float((L.absorbed / L.relevance_init.abs()).mean()), rtol=1e-10, atol=1e-12)
    assert diag.lag_profile(L.flux.abs(), L).shape == (20,)
    row = diag.amplification_row(e)
    assert row["max_global_rel_init"] == res["global_init"] or abs(row["max_global_rel_init"] - res["global_init"]) < 1e-15


def test_float32_within_share_is_a_fraction():
    res = diag.residuals(case(torch.float32).ledger)
    assert 0.0 <= res["within"] <= 1.0 and res["global_mass"] <= 1e-5


def _nets_and_excerpts():
    net = LIFNetwork([3, 5, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=torch.float64)
    x = (torch.rand(40, 3, generator=torch.Generator().manual_seed(3)) < 0.5).double()
    return {("toy", "2L"): net}, {"toy": x}


def test_sink_shares_add_to_one_and_match_share():
    L = case().ledger
    b = diag.sink_shares(L)
    assert set(b) == {"absorbed", *L.sinks}
    assert abs(sum(b.values()) - 1.0) < 1e-10  # R_init = absorbed + sinks (+ round-off), per target
    live = L.relevance_init != 0
    assert b["absorbed"] == float((L.absorbed[live] / L.relevance_init[live].abs()).mean())


def test_chapter_sweeps_against_direct_explanations():
    nets, xs = _nets_and_excerpts()
    steps = [30, 35, 39]
    b = diag.boundary_sweep(nets, xs, steps, [5, 20], contrast="runner-up")
    assert list(b.columns) == ["task", "model", "window", "boundary_share"] and list(b.window) == [5, 20]
    e = explain(nets[("toy", "2L")], xs["toy"], steps, method="lrp-epsilon", window=5, contrast="runner-up")
    assert b.boundary_share[0] == diag.share(e.ledger.sinks["boundary"].abs(), e.ledger)

    s = diag.epsilon_sweep(nets, xs, steps, 20, [0.0, 1e-3, 1.0], contrast="runner-up")
    assert s.change_vs_eps0[0] == 0.0 and (s.change_vs_eps0[1:] > 0).all()  # ε = 0 is its own reference
    assert s.stabilizer_share[0] == 0.0 and s.stabilizer_share[2] > s.stabilizer_share[1]

    p = diag.policy_table(nets, xs, steps, 20, contrast="runner-up")
    assert list(p.index) == [("toy", "2L")]
    row = p.iloc[0]
    assert abs(row.threshold_sink_pos + row.threshold_sink_neg - row.threshold_sink_excess) < 1e-12
    assert -1.0 <= row.correlation <= 1.0
    assert diag.policy_table({("toy", "1L"): nets[("toy", "2L")]}, xs, steps, 20).empty  # 1L models skipped

    rows, maps, r0 = diag.alphabeta_sweep(nets[("toy", "2L")], xs["toy"], steps, [5, 10], map_window=10,
                                          contrast="runner-up")
    assert list(rows.empty_side) == ["skip", "skip", "fallback", "fallback"] and not rows.overflow.any()
    assert set(maps) == {"skip", "fallback"} and maps["skip"].shape == (3, 10)
    e = explain(nets[("toy", "2L")], xs["toy"], steps, method="lrp-alphabeta", window=10, empty_side="skip",
                contrast="runner-up")
    np.testing.assert_array_equal(maps["skip"], e.attribution[0].numpy())
    assert r0 == abs(float(e.ledger.relevance_init[0]))


def test_precision_residuals_and_policy_rows():
    nets, xs = _nets_and_excerpts()
    nets = {("toy", "2L"): nets[("toy", "2L")].float()}
    res, signed = diag.precision_residuals(nets, xs, [30, 39], 20, methods=("lrp-0", "lrp-epsilon"),
                                           contrast="runner-up")
    assert list(res.precision) == ["float32", "float32", "float64", "float64"]
    assert nets[("toy", "2L")].weights[0].dtype == torch.float64  # left in float64
    assert (res[res.precision == "float64"].global_init <= 1e-12).all()
    assert [r["rule"] for r in signed] == ["lrp-0", "lrp-epsilon"] and all(r["policy"] == "pass" for r in signed)
    e = explain(nets[("toy", "2L")], xs["toy"], [30, 39], method="lrp-epsilon", window=20, contrast="runner-up")
    assert signed[1]["amplification"] == diag.signed_summary(e.ledger)["amplification"]
    rows = diag.policy_signed_rows(nets, xs, [30, 39], 20, model="2L", contrast="runner-up")
    assert [(r["rule"], r["policy"]) for r in rows] == [("lrp-0", "excess"), ("lrp-epsilon", "excess"),
                                                        ("lrp-zplus", "excess"), ("lrp-αβ fallback", "pass"),
                                                        ("lrp-αβ fallback", "excess")]


def test_map_peak_known_answer():
    A = np.zeros((2, 6))
    A[1, 2] = -4.0  # lag 6 - 1 - 2 = 3
    A[0, 5] = 1.0
    assert diag.map_peak(A, 2.0) == (2.0, 3)
