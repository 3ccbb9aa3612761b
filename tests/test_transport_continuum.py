"""The continuum limit (``spikeflux.transport.continuum``): same physical input at every Δt, first order without spikes."""

import numpy as np
import pytest
import torch

from spikeflux.transport import continuum


def test_refinement_keeps_the_physical_input_and_the_current():
    m = continuum.generated((3, 2), n_steps=20, rate=0.2, seed=1)
    for r in (1, 4):
        x, net = continuum.inputs(m, r), continuum.network(m, r)
        assert x.shape == ((m.n_steps - 1) * r + 1, 3)
        assert np.array_equal(np.argwhere(x.numpy()[::r] > 0), m.spike_steps)  # spikes only at the coarse times
        assert float(x.sum()) == len(m.spike_steps)
        assert net.alpha == pytest.approx(np.exp(-m.dt / r / m.tau_syn))
        np.testing.assert_allclose(net.weights[0].detach().numpy() * r, m.weights[0])


def test_linear_network_converges_at_first_order():
    """No hidden spikes: LRP-0 is a rectangle rule for the adjoint equations, differences halve with Δt."""
    m = continuum.generated((6, 2), n_steps=60, weight_scale=1.0, rate=0.1, seed=0)
    res = continuum.refine(m, factors=(1, 2, 4, 8))
    assert max(r.residual for r in res) <= 1e-12
    conv = continuum.convergence(res)
    for q in ("flux", "map", "logit"):
        assert all(0.9 < p < 1.1 for p in conv[q]["order"]), (q, conv[q])
    assert 0.9 < continuum.fitted_order([conv["map"]["difference"]]) < 1.1


def test_spike_jitter_pairs_spikes_and_counts_the_rest():
    m = continuum.generated((6, 8, 2), n_steps=60, weight_scale=1.0, rate=0.08, seed=2)
    res = continuum.refine(m, factors=(1, 2, 4))
    rows = continuum.spike_jitter(res)
    assert [r["r"] for r in rows] == [1, 2]
    for row, a, b in zip(rows, res[:-1], res[1:]):
        assert row["spikes"] == sum(len(t) for t in a.hidden_spikes) > 0
        assert row["spikes_next"] == sum(len(t) for t in b.hidden_spikes)
        assert row["unpaired"] >= abs(row["spikes_next"] - row["spikes"])  # every extra spike is unpaired
        assert 0 <= row["median_shift_s"] <= m.dt
    same = continuum.spike_jitter([res[0], res[0]])[0]
    assert same["unpaired"] == 0 and same["max_shift_steps"] == 0.0


def test_bad_norm_is_named():
    m = continuum.generated((3, 2), n_steps=10, seed=0)
    with pytest.raises(ValueError, match="norm"):
        continuum.convergence(continuum.refine(m, factors=(1, 2)), norm="l2")
