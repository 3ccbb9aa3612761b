"""Reference facts of ``spec/transport.md`` §5: the linear limit and the dense limit.

Dense limit. With :math:`\\alpha = \\beta = 0` no relevance moves along the leak or decay
edges, and the unrolled graph of one layer is ``x -> I -> U``: the synapse node
:math:`I = Wx` and the membrane node :math:`U = I`, *two* LRP-ε steps (the membrane has the
single non-zero in-edge ``I -> U``, whose ratio :math:`I/(I + \\varepsilon\\,\\mathrm{sign}\\,I)`
is not 1 for ε > 0). The equivalent ``nn.Sequential`` is therefore ``Linear(W)`` followed by
``Linear(eye)``, not ``Linear(W)`` alone. For ``L > 1`` the one-step spike delay means
:math:`U^l[t-1] \\to S^l[t] \\to I^{l+1}[t]`: an input presented at ``t = 0`` reaches the
readout at ``t* = L - 1``, through threshold nodes that pass relevance unchanged
(policy ``pass``, LRP's ReLU pass-through). Captum cannot express a Heaviside with a pass-
through rule, so the deep case is checked (a) against a dense matrix-form LRP-ε written
here, and (b) against Captum on an input-specific canonised ``nn.Sequential``: the spike
:math:`S_j = H(U_j - \\theta)` becomes ``ReLU`` followed by a next weight with column ``j``
scaled by :math:`S_j / U_j` (0 for silent neurons), which reproduces every contribution
:math:`W_{kj} S_j` exactly and lets relevance through ``ReLU`` unchanged, as ``pass`` does.
"""

import math

import numpy as np
import pytest
import torch
from captum.attr import LRP
from captum.attr._utils.lrp_rules import EpsilonRule
from torch import nn

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(2024)


def dense_net(sizes, seed, weight_scale=1.0):
    """:math:`\\alpha = \\beta = 0` (``exp(-1000)`` is exactly 0.0), leaky readout, float64."""
    net = LIFNetwork(sizes, dt=1.0, tau_syn=1e-3, tau_mem=1e-3, readout="leaky", weight_scale=weight_scale,
                     seed=seed, dtype=torch.float64)
    assert net.alpha == 0.0 and net.beta == 0.0
    return net


def captum_lrp(layers, x, target, epsilon):
    """Captum's LRP-ε on ``nn.Sequential(*layers)`` (every ``Linear`` bias-free with ``EpsilonRule(epsilon)``)."""
    model = nn.Sequential(*layers).double()
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.rule = EpsilonRule(epsilon=epsilon)
    return LRP(model).attribute(x[None].clone().requires_grad_(True), target=target)[0].detach()


def linear(weight):
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False).double()
    layer.weight.data = weight.detach().clone()
    return layer


# ---------------------------------------------------------------------- linear limit
@pytest.mark.parametrize("readout,weight_scale", [("leaky", 1.0), ("spiking", 0.02)])
@pytest.mark.parametrize("window", [None, 7])
def test_linear_limit_exact_decomposition(readout, weight_scale, window, gen):
    """L = 1, ε = 0, no output spike: :math:`A_i[t] = W_{ci} \\sum_{k=t}^{t^*} \\alpha^{k-t}\\beta^{t^*-k} x_i[t]`."""
    net = LIFNetwork([5, 3], readout=readout, weight_scale=weight_scale, seed=3, dtype=torch.float64)
    x = (torch.rand(20, 5, generator=gen) < 0.4).double()
    t_star, c = 19, 2
    with torch.no_grad():
        assert net(x[None], record=True).record.spikes[1].sum() == 0  # the output never crosses threshold
    e = explain(net, x, t_star, method="lrp-0", target=c, window=window)
    w = e.attribution.shape[1]
    a, b, W = net.alpha, net.beta, net.weights[0].detach()
    expected = torch.zeros(5, w, dtype=torch.float64)
    for col, t in enumerate(range(t_star - w + 1, t_star + 1)):
        kernel = sum(a ** (k - t) * b ** (t_star - k) for k in range(t, t_star + 1))
        expected[:, col] = W[c] * kernel * x[t]
    scale = float(expected.abs().max())
    torch.testing.assert_close(e.attribution, expected, rtol=0, atol=1e-12 * scale)
    if window is None:  # the whole logit is explained: nothing reaches the boundary
        assert float(e.attribution.sum()) == pytest.approx(e.logit, rel=1e-12)
        assert abs(float(e.ledger.sinks["boundary"])) <= 1e-12 * abs(e.logit)
    else:  # the rest of the logit is the carried state, booked at the boundary
        assert float(e.ledger.sinks["boundary"]) == pytest.approx(e.logit - float(expected.sum()), abs=1e-12 * scale)


# ---------------------------------------------------------------------- dense limit, L = 1
@pytest.mark.parametrize("epsilon", [1e-6, 0.1, 2.0])
def test_dense_limit_one_layer_equals_captum(epsilon, gen):
    """T = 1, α = β = 0, real-valued input: LRP-ε equals Captum's LRP on Linear(W) -> Linear(eye)."""
    net = dense_net([6, 4], seed=1)
    x = torch.randn(1, 6, generator=gen, dtype=torch.float64)
    W = net.weights[0].detach()
    for c in range(4):
        e = explain(net, x, 0, method="lrp-epsilon", target=c, epsilon=epsilon)
        ref = captum_lrp([linear(W), linear(torch.eye(4, dtype=torch.float64))], x[0], c, epsilon)
        torch.testing.assert_close(e.attribution[:, 0], ref, rtol=1e-12, atol=1e-14)
    if epsilon >= 0.1:  # Linear(W) alone misses the membrane node's ε step, visibly
        alone = captum_lrp([linear(W)], x[0], 3, epsilon)
        assert not torch.allclose(e.attribution[:, 0], alone, rtol=1e-6)


def test_dense_limit_sign_of_zero_matches_captum(gen):
    """A neuron with an exactly zero pre-activation: both use sign(0) = +1 (denominator ε), no NaN."""
    net = dense_net([5, 3], seed=2)
    with torch.no_grad():
        net.weights[0][1] = 0.0  # I_1 = 0 exactly
    x = torch.randn(1, 5, generator=gen, dtype=torch.float64)
    W = net.weights[0].detach()
    for c in range(3):
        e = explain(net, x, 0, method="lrp-epsilon", target=c, epsilon=1e-3, init="logit")
        ref = captum_lrp([linear(W), linear(torch.eye(3, dtype=torch.float64))], x[0], c, 1e-3)
        assert torch.isfinite(e.attribution).all()
        torch.testing.assert_close(e.attribution[:, 0], ref, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- dense limit, L > 1
def dense_lrp_heaviside(Ws, x, c, epsilon, theta=1.0):
    """Matrix-form LRP-ε of the dense net :math:`a_l = H(W_l a_{l-1} - \\theta)` with pass-through at ``H``
    and the membrane's extra ε step per layer (module docstring)."""
    stab = lambda z: z + epsilon * torch.where(z >= 0, 1.0, -1.0).double()  # noqa: E731
    acts, zs = [x], []
    for l, W in enumerate(Ws):
        zs.append(W @ acts[-1])
        if l < len(Ws) - 1:
            acts.append((zs[-1] > theta).double())
    R = torch.zeros_like(zs[-1])
    R[c] = zs[-1][c]
    for l in range(len(Ws) - 1, -1, -1):
        R = zs[l] / stab(zs[l]) * R  # U <- I (integration edge, the only non-zero one)
        R = acts[l] * (Ws[l].T @ (R / stab(zs[l])))  # I <- S^{l-1} (synapses); then S <- U passes all
    return R, acts


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("epsilon", [1e-6, 0.05])
def test_dense_limit_deep_equals_matrix_form_and_captum(depth, epsilon, gen):
    """Input at t = 0 only, t* = L - 1 (the spike delay), α = β = 0: matrix-form LRP-ε and canonised Captum."""
    sizes = [6] + [8] * (depth - 1) + [3]
    net = dense_net(sizes, seed=5, weight_scale=2.5)
    T = depth
    x = torch.zeros(T, 6, dtype=torch.float64)
    x[0] = torch.randn(6, generator=gen, dtype=torch.float64).abs() + 0.5
    Ws = [w.detach() for w in net.weights]
    for c in range(3):
        e = explain(net, x, T - 1, method="lrp-epsilon", target=c, epsilon=epsilon)
        R, acts = dense_lrp_heaviside(Ws, x[0], c, epsilon)
        assert all(a.sum() > 0 for a in acts[1:]), "hidden neurons must spike"
        assert e.logit == pytest.approx(float((Ws[-1] @ acts[-1])[c]), rel=1e-12)
        torch.testing.assert_close(e.attribution[:, 0], R, rtol=1e-10, atol=1e-12)
        assert e.attribution[:, 1:].abs().max() == 0  # inputs after t = 0 are zero
        # Captum on the canonised Sequential: Linear(W) Linear(eye) [ReLU Linear(W diag(S/U)) Linear(eye)]...
        layers, u = [], None
        for l, W in enumerate(Ws):
            if l > 0:
                scale = torch.where(acts[l] > 0, 1.0 / u, torch.zeros_like(u))
                layers.append(nn.ReLU())
                W = W * scale[None, :]
            layers += [linear(W), linear(torch.eye(W.shape[0], dtype=torch.float64))]
            u = W @ (torch.relu(u) if l > 0 else x[0])
        ref = captum_lrp(layers, x[0], c, epsilon)
        torch.testing.assert_close(e.attribution[:, 0], ref, rtol=1e-10, atol=1e-12)


def test_dense_limit_alpha_is_exactly_zero():
    """The construction relies on exp(-1000) underflowing to exactly 0 in float64."""
    assert math.exp(-1.0 / 1e-3) == 0.0
    np.testing.assert_equal(dense_net([2, 1], seed=0).alpha, 0.0)
