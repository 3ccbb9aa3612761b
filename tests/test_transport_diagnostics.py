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
