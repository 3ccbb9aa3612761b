"""The LIF variants of the beyond-LIF chapter (spikeflux.variants): switches, weights copied from the
plain model, ledger residuals and budgets, map cosine; known answers on hand-made ledgers."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from spikeflux import variants
from spikeflux.snn import LIFNetwork


def test_switches_alif_decay():
    sw = variants.switches(1e-3)
    assert list(sw) == ["recurrent", "ALIF", "subtract reset", "leaky readout"]
    rho, gamma = sw["ALIF"]["adaptation"]
    assert rho == math.exp(-1e-3 / 20e-3) and gamma == 0.2


def test_from_plain_copies_weights_and_zeroes_recurrence():
    hp = dict(dt=1e-3, tau_syn=5e-3, tau_mem=10e-3)
    plain = LIFNetwork([3, 5, 4], seed=1, **hp)
    net = variants.from_plain(plain, hp, dict(recurrent=True), seed=2)
    assert all(torch.equal(w, w0) for w, w0 in zip(net.weights, plain.weights))
    assert len(net.recurrent_weights) > 0 and all(float(v.detach().abs().max()) == 0 for v in net.recurrent_weights)
    x = (torch.rand(50, 3, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    with torch.no_grad():  # V = 0: the recurrent model starts as the plain one
        assert torch.equal(net(x[None]).output, plain(x[None]).output)


def _ledger(r, mass, glob, cont):
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return SimpleNamespace(relevance_init=t(r), relevance_mass=t(mass), global_residual=t(glob),
                           continuity_residual=t(cont))


def test_residuals_relative_to_mass_and_init():
    led = _ledger([2.0, -4.0], [4.0, 8.0], [1e-13, -4e-13], [[1e-14, 2e-13], [0.0, -8e-13]])
    res = variants.residuals(led)
    assert res["global_vs_mass"] == pytest.approx(0.5e-13)
    assert res["slice_vs_mass"] == pytest.approx(1e-13)
    assert res["global_vs_init"] == pytest.approx(1e-13)
    assert res["slice_vs_init"] == pytest.approx(2e-13)
    # nothing moved (R_init = 0, mass 0, residual 0): ratio 0, not NaN
    assert variants.residuals(_ledger([0.0], [0.0], [0.0], [[0.0]]))["global_vs_init"] == 0.0


def test_sink_budget_shares():
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    # two targets, the second with R_init = 0 (left out); one hidden neuron, window 2
    led = SimpleNamespace(relevance_init=t([2.0, 0.0]), absorbed=t([1.5, 0.0]),
                          sinks={"boundary": t([0.5, 0.0])},
                          node_relevance={"S1": t([[[1.0, 1.0]], [[0.0, 0.0]]]), "U1": t([[[-1.0, 3.0]], [[0, 0]]])},
                          attribution_negative=t([-0.5, 0.0]), relevance_mass=t([6.0, 0.0]))
    shares = variants.sink_budget(led)
    assert shares == {"absorbed": 0.75, "boundary": 0.25, "through hidden spikes": 1.0,
                      "negative share of moved": pytest.approx((1.0 + 0.5) / 6.0)}


def test_mean_cosine_leaves_out_zero_maps():
    a = np.array([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    b = np.array([[[1.0, 0.0]], [[1.0, -1.0]], [[1.0, 0.0]]])
    assert variants.mean_cosine(a, b) == pytest.approx(0.5)  # cosines 1 and 0; the zero map left out


def test_threshold_summary_on_a_hand_made_explanation():
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    # two targets (the second with R_init = 0, left out); window 4; one threshold node B1 of one neuron
    led = SimpleNamespace(relevance_init=t([2.0, 0.0]), relevance_mass=t([6.0, 0.0]), global_residual=t([0.0, 0.0]),
                          continuity_residual=t([[0.0] * 4, [0.0] * 4]),
                          flux=t([[0.0, 1e-4, 0.1, 1.0], [0.0] * 4]),  # lag 1 last: reach 0.5, 0.05, 5e-5, 0
                          node_relevance={"B1": t([[[-0.5, -0.5]], [[0.0, 0.0]]]), "S1": t([[[9.0, 9.0]], [[0, 0]]])},
                          amplification=t([3.0, 1.0]))
    led.reach_profile = lambda: (led.flux[:1].abs() / 2.0).mean(0).numpy()[::-1]
    A = np.zeros((2, 1, 4))
    A[0, 0, 3] = 1.0  # all at lag 0
    e = SimpleNamespace(ledger=led, attribution=torch.as_tensor(A))
    row, reach = variants.threshold_summary(e, 4, path=True)
    np.testing.assert_allclose(reach, [0.5, 0.05, 5e-5, 0.0])
    assert row["flux_lag_1e3"] == 3 and row["relevance_via_b"] == -0.5 and row["amplification"] == 3.0
    assert row["support_lag_99"] == 1.0  # all of it within lag < 1
    assert variants.threshold_summary(e, 4, path=False)[0]["relevance_via_b"] == 0.0
    led.flux = t([[1.0, 1.0, 1.0, 1.0], [0.0] * 4])
    assert variants.threshold_summary(e, 4, path=True)[0]["flux_lag_1e3"] == 4  # never below 1e-3: the window
