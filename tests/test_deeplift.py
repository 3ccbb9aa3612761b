"""DeepLIFT as difference transport (``spikeflux.transport.difference``, method ``deeplift``).

Summation-to-delta and the per-slice continuity equation to 1e-12 in float64, the slow
node-by-node reference (``tests/references/deeplift.py``), a known linear answer, linearity in
the contrast weights, batch and multi-target consistency, and the difference from input x gradient.
"""

import itertools

import numpy as np
import pytest
import torch

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork
from tests.references.deeplift import reference

CASES = list(itertools.product(("zero", "subtract"), ("spiking", "leaky"), (1, 2, 3)))


def make(depth, reset="zero", readout="spiking", seed=0, n_in=4, hidden=5, n_out=3, **kw):
    sizes = [n_in] + [hidden] * (depth - 1) + [n_out]
    return LIFNetwork(sizes, tau_syn=5e-3, tau_mem=3e-3, reset=reset, readout=readout, weight_scale=3.0,
                      seed=seed, dtype=torch.float64, **kw)


def spikes(T, n_in=4, p=0.35, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, n_in, generator=g, dtype=torch.float64) < p).double()
    x[:, 0] = 1.0  # the bias channel
    return x


def f_of(net, x, t, w):
    with torch.no_grad():
        return float((net(x[None, : t + 1]).output[0, t] * w).sum())


def reference_input(x, t, window, bias_channel=0):
    xr = x.clone()
    xr[t - window + 1: t + 1] = 0.0
    if bias_channel is not None:
        xr[t - window + 1: t + 1, bias_channel] = x[t - window + 1: t + 1, bias_channel]
    return xr


@pytest.mark.parametrize("reset,readout,depth", CASES)
def test_summation_to_delta_and_continuity(reset, readout, depth):
    net = make(depth, reset, readout, seed=depth)
    x = spikes(80, seed=depth)
    t, window = [79, 61, 50], 40
    e = explain(net, x, t, method="deeplift", window=window, target=[0, 1, 2], node_residuals=True)
    L = e.ledger
    for k, (tk, c) in enumerate(zip(t, [0, 1, 2])):  # R_init = f(x) - f(x̄) from two independent runs
        w = torch.nn.functional.one_hot(torch.tensor(c), 3).double()
        delta = f_of(net, x, tk, w) - f_of(net, reference_input(x, tk, window), tk, w)
        assert float(L.relevance_init[k]) == pytest.approx(delta, abs=1e-12 * max(1.0, abs(delta)))
    scale = L.relevance_init.abs().clamp(min=1.0)
    total = e.attribution.sum((1, 2)) + L.sink_total
    assert ((total - L.relevance_init).abs() / scale).max() < 1e-12
    assert (L.continuity_residual.abs().max(1).values / scale).max() < 1e-12
    assert L.sinks["boundary"].abs().max() == 0  # same carried state at the window start
    mass = L.relevance_mass.sum(-1) if L.relevance_mass.dim() > 1 else L.relevance_mass
    for key, r in L.node_residuals.items():  # every node passes what it receives, less its sink
        assert (r.abs().amax((1, 2)) / mass.clamp(min=1.0)).max() < 1e-13, key
    assert L.rule == "deeplift" and L.init == "difference" and L.threshold_policy == "rescale"
    assert e.info["explained"].startswith("difference of")


def spiking_rate(net, x):
    with torch.no_grad():
        rec = net(x[None], record=True).record
    return [float(s.mean()) for s in rec.spikes[1:]]


@pytest.mark.parametrize("reset,readout,depth", CASES)
def test_matches_slow_reference(reset, readout, depth):
    net = make(depth, reset, readout, seed=10 + depth, n_in=3, hidden=4)
    x = spikes(30, n_in=3, seed=depth)
    t, window = 29, 18
    assert max(spiking_rate(net, x)[:-1] or [1.0]) > 0  # the hidden layers spike: the test is not linear
    e = explain(net, x, t, method="deeplift", window=window, target=1, node_relevance=True)
    ref = reference(net, x.numpy(), t, np.eye(3)[1], window)
    mass = float(e.ledger.relevance_mass.sum())
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], rtol=0, atol=1e-12 * max(1, mass))
    assert float(e.ledger.relevance_init) == pytest.approx(ref["r_init"], abs=1e-12)
    assert ref["r_init"] == pytest.approx(ref["delta_f"], abs=1e-12)
    np.testing.assert_allclose(e.ledger.flux.numpy(), ref["flux"], atol=1e-12 * max(1, mass))
    for cause, value in ref["sinks"].items():
        assert float(e.ledger.sinks[cause]) == pytest.approx(value, abs=1e-12 * max(1, mass)), cause
    # per-node relevance of the membranes of the last layer, every step of the window
    L = net.n_layers
    R_U = e.ledger.node_relevance[f"U{L}"].numpy()  # (w, n_out)
    for s, tt in enumerate(range(t - window + 1, t + 1)):
        for j in range(net.sizes[-1]):
            assert R_U[s, j] == pytest.approx(ref["R"][("U", L, tt, j)], abs=1e-12 * max(1, mass))


@pytest.mark.parametrize("variant", ["recurrent", "alif"])
def test_recurrent_and_alif_match_reference(variant):
    kw = {"recurrent": True} if variant == "recurrent" else {"adaptation": (0.9, 0.5)}
    net = make(2, "subtract", "spiking", seed=3, n_in=3, hidden=4, **kw)
    x = spikes(30, n_in=3, seed=5)
    e = explain(net, x, 29, method="deeplift", window=20, target=0, node_residuals=True)
    ref = reference(net, x.numpy(), 29, np.eye(3)[0], 20)
    mass = float(e.ledger.relevance_mass.sum())
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], atol=1e-12 * max(1, mass))
    for cause, value in ref["sinks"].items():
        assert float(e.ledger.sinks[cause]) == pytest.approx(value, abs=1e-12 * max(1, mass)), cause
    assert abs(float(e.ledger.global_residual)) < 1e-12 * max(1, mass)
    assert max(float(r.abs().max()) for r in e.ledger.node_residuals.values()) < 1e-12 * max(1, mass)
    if variant == "alif":  # the adaptive threshold's share is booked, not lost
        assert abs(float(e.ledger.sinks["threshold"])) > 1e-6


def test_linear_network_known_answer():
    """1L, leaky readout: no spikes anywhere, f is linear, DeepLIFT is the exact decomposition (spec §5)."""
    net = make(1, readout="leaky", seed=4)
    x = spikes(40, seed=4)
    t, w, c = 39, 25, 2
    e = explain(net, x, t, method="deeplift", window=w, target=c, bias_channel=None)
    a, b = net.alpha, net.beta
    steps = np.arange(t - w + 1, t + 1)
    kernel = np.array([sum(a ** (k - s) * b ** (t - k) for k in range(s, t + 1)) for s in steps])
    expected = net.weights[0][c].detach().numpy()[:, None] * kernel[None, :] * x[steps].numpy().T
    np.testing.assert_allclose(e.attribution.numpy(), expected, atol=1e-12)
    ixg = explain(net, x, t, method="input-x-gradient", window=w, target=c)  # the exact gradient here
    np.testing.assert_allclose(e.attribution.numpy(), ixg.attribution.numpy(), atol=1e-10)


def test_differs_from_input_x_gradient_when_the_network_spikes():
    net = make(2, seed=6)
    x = spikes(60, seed=6)
    assert spiking_rate(net, x)[0] > 0.05
    dl = explain(net, x, 59, method="deeplift", window=40, bias_channel=None)
    ixg = explain(net, x, 59, method="input-x-gradient", window=40)
    assert (dl.attribution - ixg.attribution).abs().max() > 1e-2 * dl.attribution.abs().max()


def test_linear_in_the_contrast_weights():
    """DeepLIFT of Σ_j w_j ΔU_j is Σ_j w_j times DeepLIFT of ΔU_j (the sweep is linear in the start)."""
    net = make(2, seed=7)
    x = spikes(50, seed=7)
    e = explain(net, x, 49, method="deeplift", window=30, contrast="runner-up")
    w = torch.zeros(3)
    c = e.target
    others = e.info.get("explained_value")  # noqa: F841 (exists)
    with torch.no_grad():
        out = net(x[None]).output[0, 49]
    k2 = int(torch.tensor([v if j != c else -np.inf for j, v in enumerate(out.tolist())]).argmax())
    w[c], w[k2] = 1.0, -1.0
    per_class = [explain(net, x, 49, method="deeplift", window=30, target=j).attribution for j in (c, k2)]
    np.testing.assert_allclose(e.attribution.numpy(), (per_class[0] - per_class[1]).numpy(), atol=1e-12)
    assert float(e.ledger.relevance_init) == pytest.approx(
        f_of(net, x, 49, w) - f_of(net, reference_input(x, 49, 30), 49, w), abs=1e-12)


def test_batch_rows_and_targets_equal_single_calls():
    net = make(3, seed=8)
    X = torch.stack([spikes(45, seed=s) for s in range(3)])
    batch = explain(net, X, [44, 40, 35], method="deeplift", window=20, contrast="mean")
    for k, tk in enumerate([44, 40, 35]):
        one = explain(net, X[k], tk, method="deeplift", window=20, contrast="mean")
        np.testing.assert_allclose(batch.attribution[k].numpy(), one.attribution.numpy(), atol=1e-13)
        assert float(batch.ledger.relevance_init[k]) == pytest.approx(float(one.ledger.relevance_init), abs=1e-13)
    multi = explain(net, X[0], [44, 30], method="deeplift", window=20)
    for k, tk in enumerate([44, 30]):
        one = explain(net, X[0], tk, method="deeplift", window=20)
        np.testing.assert_allclose(multi.attribution[k].numpy(), one.attribution.numpy(), atol=1e-13)


def test_given_baseline_and_its_errors():
    net = make(2, seed=9, n_in=3, hidden=4)
    x = spikes(30, n_in=3, seed=9)
    g = torch.Generator().manual_seed(1)
    base = (torch.rand(15, 3, generator=g) < 0.5).double()
    e = explain(net, x, 29, method="deeplift", window=15, target=0, baseline=base)
    ref = reference(net, x.numpy(), 29, np.eye(3)[0], 15, x_ref_window=base.numpy())
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], atol=1e-12)
    same = explain(net, x, 29, method="deeplift", window=15, baseline=x[15:30])  # x̄ = x: nothing to explain
    assert same.attribution.abs().max() == 0 and float(same.ledger.relevance_init) == 0
    assert torch.isfinite(same.ledger.relevance_mass).all()
    with pytest.raises(ValueError, match=r"baseline: expected a reference window of shape \(15, 3\)"):
        explain(net, x, 29, method="deeplift", window=15, baseline=torch.zeros(3, 15))
    with pytest.raises(ValueError, match="deeplift: unknown option"):
        explain(net, x, 29, method="deeplift", window=15, epsilon=0.1)
    with pytest.raises(ValueError, match="bias_channel=5 is out of range"):
        explain(net, x, 29, method="deeplift", window=15, bias_channel=5)


def test_float32_conserves_to_round_off():
    net = make(2, seed=11).float()
    x = spikes(60, seed=11).float()
    L = explain(net, x, [59, 45], method="deeplift", window=40).ledger
    scale = L.relevance_mass.sum(-1) if L.relevance_mass.dim() > 1 else L.relevance_mass
    assert ((L.global_residual.abs()) / scale).max() < 1e-5


def test_rescale_threshold_share_and_the_zero_difference_limit():
    """S = H(U - θ): share ΔU/(ΔU - Δθ) passes, the rest is a threshold sink; Δv = 0 passes nothing, books all."""
    from spikeflux.transport.difference import Rescale

    dU = torch.tensor([0.0, 1.0, 2.0, 0.0, 0.5], dtype=torch.float64)
    dth = torch.tensor([0.0, 0.0, 1.0, 0.5, 0.5], dtype=torch.float64)
    g, s = Rescale(dU, dth).node(None)
    assert g.tolist() == [0.0, 1.0, 2.0, 0.0, 0.0] and s.tolist() == [1.0, 0.0, -1.0, 1.0, 1.0]
    assert torch.isfinite(g).all() and torch.equal(g + s, torch.ones(5, dtype=torch.float64))
