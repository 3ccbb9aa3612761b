"""TSA-S, TSA-NS and SAM (``spec/tsa.md``): hand-computed cases, a loop transcription, the registry."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeflux.explain import METHODS, explain
from spikeflux.explain.tsa import psp_kernel, sam_map, spike_chain, tsa_delay_map, tsa_map
from spikeflux.snn import LIFNetwork
from tests.references.tsa import tsa_delay_loop, tsa_loop

BETA = 0.5


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
def seed():
    return 1234


# spiking_net, spike_input: the shared fixtures of conftest.py


# ---------------------------------------------------------------------------- hand-computed cases
# One layer: W_1 = [[1, 2], [3, 4]] (n_out x n_in), beta = 1/2, P = (1/4, 3/4), window t = 0, 1
# (t* = 1, t_c = 2): input 0 spikes at t = 0 (N = beta^2 = 1/4), input 1 at t = 1 (N = 1/2).
#   A(0) row 0 = 1/4 * (1, 3) * P = (1/16, 9/16);   A(1) row 1 = 1/2 * (2, 4) * P = (1/4, 3/2).
# TSA-NS adds the silent entries -1/2 * beta^(t_c - t):
#   A(0) row 1 = -1/8 * (2, 4) * P = (-1/16, -3/8);  A(1) row 0 = -1/4 * (1, 3) * P = (-1/16, -9/16).
ONE_LAYER = dict(
    x=[[1.0, 0.0], [0.0, 1.0]], W=[[1.0, 2.0], [3.0, 4.0]], P=[0.25, 0.75],
    s=[[[0.0625, 0.0], [0.0, 0.25]], [[0.5625, 0.0], [0.0, 1.5]]],
    ns=[[[0.0625, -0.0625], [-0.0625, 0.25]], [[0.5625, -0.5625], [-0.375, 1.5]]],
)

# Two layers: W_1 = [[1, -1], [2, 1/2]], W_2 = [[3, -2]], beta = 1/2, P = (0.8,), t* = 1.
# x = [[1, 0], [1, 1]], hidden spikes h = [[1, 0], [0, 1]].
# t = 0 (beta^2 = 1/4): S: N0 = (1/4, 0), N1 = (1/4, 0): diag(N1) W2^T = (3/4, 0);
#   W1^T (...) = (3/4, -3/4); diag(N0) -> (3/16, 0); * 0.8 = (0.15, 0).
#   NS: N0 = (1/4, -1/8), N1 = (1/4, -1/8): (3/4, 1/4) -> (5/4, -5/8) -> (5/16, 5/64) * 0.8 = (0.25, 0.0625).
# t = 1 (beta = 1/2): S: N0 = (1/2, 1/2), N1 = (0, 1/2): (0, -1) -> (-2, -1/2) -> (-1, -1/4) * 0.8 = (-0.8, -0.2).
#   NS: N1 = (-1/4, 1/2): (-3/4, -1) -> (-11/4, 1/4) -> (-11/8, 1/8) * 0.8 = (-1.1, 0.1).
# SAM (all weights 1, TSA-S): t = 0: (1/4 * 1/4, 0) * 0.8 = (0.05, 0); t = 1: (1/2 * 1/2, 1/2 * 1/2) * 0.8 = (0.2, 0.2).
TWO_LAYER = dict(
    x=[[1.0, 0.0], [1.0, 1.0]], h=[[1.0, 0.0], [0.0, 1.0]], W1=[[1.0, -1.0], [2.0, 0.5]], W2=[[3.0, -2.0]], P=[0.8],
    s=[[[0.15, -0.8], [0.0, -0.2]]], ns=[[[0.25, -1.1], [0.0625, 0.1]]], sam=[[[0.05, 0.2], [0.0, 0.2]]],
)


@pytest.mark.parametrize("variant", ["s", "ns"])
def test_one_layer_by_hand(variant):
    c = ONE_LAYER
    A = tsa_map([torch.tensor(c["x"])], [torch.tensor(c["W"])], BETA, torch.tensor(c["P"]), variant)
    torch.testing.assert_close(A, torch.tensor(c[variant]), rtol=0, atol=1e-7)


@pytest.mark.parametrize("variant", ["s", "ns"])
def test_two_layers_by_hand(variant):
    c = TWO_LAYER
    spikes = [torch.tensor(c["x"]), torch.tensor(c["h"])]
    weights = [torch.tensor(c["W1"]), torch.tensor(c["W2"])]
    A = tsa_map(spikes, weights, BETA, torch.tensor(c["P"]), variant)
    torch.testing.assert_close(A, torch.tensor(c[variant]), rtol=0, atol=1e-7)


def test_sam_by_hand():
    c = TWO_LAYER
    spikes = [torch.tensor(c["x"]), torch.tensor(c["h"])]
    weights = [torch.tensor(c["W1"]), torch.tensor(c["W2"])]
    A = sam_map(spikes, weights, BETA, torch.tensor(c["P"]))
    torch.testing.assert_close(A, torch.tensor(c["sam"]), rtol=0, atol=1e-7)


def test_batched_steps_select_windows_and_rows():
    """Several t* at once: each gets its own window, decay and P; target picks the class row."""
    c = ONE_LAYER
    x = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    W = [torch.tensor(c["W"])]
    P = torch.tensor([[0.5, 0.5], [0.25, 0.75]])
    A = tsa_map([x], W, BETA, P, "s", t=[1, 2], window=2)
    assert A.shape == (2, 2, 2, 2)
    torch.testing.assert_close(A[1], torch.tensor(c["s"]))  # steps 1..2 are the one-layer case
    # t* = 1: t = 0 (beta^2): both inputs spike; t = 1 (beta): input 0 spikes. P = 1/2 each.
    expected = 0.5 * torch.tensor([[[0.25, 0.5], [0.5, 0.0]], [[0.75, 1.5], [1.0, 0.0]]])
    torch.testing.assert_close(A[0], expected)
    rows = tsa_map([x], W, BETA, P, "s", t=[1, 2], window=2, target=[1, 0])
    torch.testing.assert_close(rows, torch.stack([A[0, 1], A[1, 0]]))


def test_spike_chain_is_the_weight_product_without_decay():
    """All neurons spiking: C(t) = W_1^T W_2^T (TSA-S), for every step."""
    W1, W2 = torch.tensor(TWO_LAYER["W1"]), torch.tensor(TWO_LAYER["W2"])
    C = spike_chain([torch.ones(3, 2), torch.ones(3, 2)], [W1, W2], "s")
    torch.testing.assert_close(C, (W1.T @ W2.T).expand(3, 2, 1))


# Delay-aware variant, two layers: alpha = 1/2, beta = 1/4, so kappa(0) = 1, kappa(1) = 3/4.
# x = [1, 1, 1] (one input), hidden h = [[0, 0], [1, 0], [1, 1]], W_1 = [[2], [-1]], W_2 = [[1, 3]], P = (1,), t* = 2.
# A(t) = kappa(t* - t - 1) s0(t) W_1^T diag(s1(t+1)) W_2^T:
#   t = 0: kappa(1) = 3/4, s1(1) = (1, 0): 2*1 = 2 -> 3/2;  NS: s1(1) = (1, -1/2): 2 + 3/2 = 7/2 -> 21/8.
#   t = 1: kappa(0) = 1, s1(2) = (1, 1): 2 - 3 = -1 -> -1 (both variants);  t = 2: no path in time -> 0.
DELAY = dict(x=[[1.0], [1.0], [1.0]], h=[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], W1=[[2.0], [-1.0]], W2=[[1.0, 3.0]],
             s=[[[1.5, -1.0, 0.0]]], ns=[[[2.625, -1.0, 0.0]]])


@pytest.mark.parametrize("variant", ["s", "ns"])
def test_delay_variant_by_hand(variant):
    c = DELAY
    spikes = [torch.tensor(c["x"]), torch.tensor(c["h"])]
    A = tsa_delay_map(spikes, [torch.tensor(c["W1"]), torch.tensor(c["W2"])], 0.5, 0.25, torch.ones(1), variant)
    torch.testing.assert_close(A, torch.tensor(c[variant]), rtol=0, atol=1e-7)


def test_psp_kernel():
    d = torch.arange(5)
    torch.testing.assert_close(psp_kernel(0.5, 0.25, d)[:3], torch.tensor([1.0, 0.75, 0.4375], dtype=torch.float64))
    for a, b in [(0.9, 0.37), (0.37, 0.9), (0.6, 0.6), (0.6, 0.6 * (1 + 1e-12)), (0.8, 0.0)]:
        ref = torch.tensor([sum(a ** j * b ** (k - j) for j in range(k + 1)) for k in range(5)], dtype=torch.float64)
        torch.testing.assert_close(psp_kernel(a, b, d), ref, rtol=1e-12, atol=0)
    assert psp_kernel(0.9, 0.37, torch.tensor([100000])).item() == 0.0  # underflows cleanly, no nan


def test_delay_variant_is_the_linear_decomposition_of_a_linear_model(seed, spike_input):
    """1L, output never spikes: A_i[t] = W_ci kappa(t* - t) x_i[t] P_c (spec/transport.md §5), = P_c * input x gradient."""
    net = LIFNetwork([4, 3], tau_mem=2e-2, weight_scale=3.0, seed=seed, readout="leaky").double()
    x = spike_input(30, 4, seed, dtype=torch.float64)
    e = explain(net, x, 29, method="tsa-delay", window=20)
    ixg = explain(net, x, 29, method="input-x-gradient", window=20)
    P_c = e.info["probabilities"][0, e.target]
    t = torch.arange(10, 30)
    kappa = torch.tensor([sum(net.alpha ** j * net.beta ** (29 - s - j) for j in range(30 - s)) for s in t.tolist()],
                         dtype=torch.float64)
    expected = net.weights[0].detach()[e.target][:, None] * kappa * x[t].T * P_c
    torch.testing.assert_close(e.attribution, expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(e.attribution, ixg.attribution * P_c, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("sizes", [[4, 3], [4, 9, 3], [4, 9, 7, 3]])
@pytest.mark.parametrize("variant", ["s", "ns"])
def test_delay_variant_equals_loop(sizes, variant, seed, spiking_net, spike_input):
    net = spiking_net(sizes, seed, torch.float64)
    x = spike_input(40, sizes[0], seed, dtype=torch.float64)
    steps, window = [25, 31, 39], 20
    e = explain(net, x, steps, method="tsa-delay", window=window, all_classes=True, variant=variant)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    spikes = [rec.spikes[l][0] for l in range(net.n_layers)]
    P = rec.mem[-1][0, steps].softmax(-1)
    weights = [W.detach() for W in net.weights]
    for k, t_star in enumerate(steps):
        ref = tsa_delay_loop(spikes, weights, net.alpha, net.beta, P[k], variant, t_star, window)
        assert float((e.attribution[k] - ref).abs().max()) <= 1e-12 * float(ref.abs().max())
    assert (e.attribution[..., window - net.n_layers + 1:] == 0).all()  # no path reaches t* in time


# ---------------------------------------------------------------------------- against the loop
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("sizes", [[4, 3], [4, 9, 3], [4, 9, 7, 3]])
@pytest.mark.parametrize("variant", ["s", "ns"])
def test_vectorised_equals_loop(sizes, variant, dtype, tol, seed, spiking_net, spike_input):
    net = spiking_net(sizes, seed, dtype)
    x = spike_input(40, sizes[0], seed, dtype=dtype)
    steps, window = [25, 31, 39], 20
    rec = net(x[None], record=True).record
    spikes = [rec.spikes[l][0] for l in range(net.n_layers)]
    for s in spikes[1:]:
        assert 0 < s.mean() < 1  # the hidden layers spike sometimes: the test means something
    P = rec.mem[-1][0, steps].softmax(-1)
    weights = [W.detach() for W in net.weights]
    with torch.no_grad():
        A = tsa_map(spikes, weights, net.beta, P, variant, t=steps, window=window)
        for k, t_star in enumerate(steps):
            ref = tsa_loop(spikes, weights, net.beta, P[k], variant, t_star, window)
            assert A[k].dtype == dtype
            err = (A[k] - ref).abs().max() / ref.abs().max()
            assert err <= tol, f"relative error {float(err):.3g} at t*={t_star}"


@pytest.mark.parametrize("method,variant", [("tsa-s", "s"), ("tsa-ns", "ns"), ("sam", "sam")])
def test_method_uses_recorded_spikes_and_softmax(method, variant, seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 3], seed, torch.float64)
    x = spike_input(40, 4, seed, dtype=torch.float64)
    e = explain(net, x, [30, 39], method=method, window=25, all_classes=True)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    P = rec.mem[-1][0, [30, 39]].softmax(-1)
    spikes = [rec.spikes[0][0], rec.spikes[1][0]]
    weights = [W.detach() for W in net.weights]
    for k, t_star in enumerate([30, 39]):
        if variant == "sam":
            weights = [torch.ones_like(W) for W in weights]
        ref = tsa_loop(spikes, weights, net.beta, P[k], "s" if variant == "sam" else variant, t_star, 25)
        torch.testing.assert_close(e.attribution[k], ref, rtol=1e-12, atol=1e-12 * float(ref.abs().max()))
    torch.testing.assert_close(e.info["probabilities"], P)
    one = explain(net, x, [30, 39], method=method, window=25)  # the explained class's row
    torch.testing.assert_close(one.attribution, e.attribution[torch.arange(2), one.target])


def test_window_at_sequence_start(seed, spiking_net, spike_input):
    """t* = window - 1: the window begins at step 0."""
    net = spiking_net([4, 9, 3], seed, torch.float64)
    x = spike_input(12, 4, seed, dtype=torch.float64)
    e = explain(net, x, 11, method="tsa-ns", all_classes=True)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    P = rec.mem[-1][0, 11].softmax(-1)
    ref = tsa_loop([rec.spikes[0][0], rec.spikes[1][0]], [W.detach() for W in net.weights], net.beta, P, "ns", 11, 12)
    torch.testing.assert_close(e.attribution, ref)


# ---------------------------------------------------------------------------- SAM
@settings(max_examples=40, deadline=None)
@given(data=st.data(), depth=st.integers(1, 3))
def test_sam_never_negative(data, depth):
    sizes = [data.draw(st.integers(1, 6)) for _ in range(depth + 1)]
    T = data.draw(st.integers(1, 8))
    bits = lambda n: data.draw(st.lists(st.lists(st.integers(0, 1), min_size=n, max_size=n), min_size=T, max_size=T))  # noqa: E731
    spikes = [torch.tensor(bits(n), dtype=torch.float64) for n in sizes[:-1]]
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2 ** 31)))
    weights = [torch.randn(m, n, generator=g, dtype=torch.float64) for n, m in zip(sizes[:-1], sizes[1:])]
    P = torch.randn(sizes[-1], generator=g, dtype=torch.float64).softmax(-1)
    A = sam_map(spikes, weights, 0.9, P)
    assert A.shape == (sizes[-1], sizes[0], T)
    assert (A >= 0).all()


# ---------------------------------------------------------------------------- registry and errors
@pytest.mark.parametrize("name", sorted(METHODS))
def test_registry_dispatches_every_registered_method(name, seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 3], seed, torch.float32)
    x = spike_input(30, 4, seed, dtype=torch.float32)
    e = explain(net, x, 29, method=name, window=10)
    assert e.method == name and e.window == 10
    assert e.attribution.shape == (4, 10)
    assert torch.isfinite(e.attribution).all()
    if METHODS[name].supports_all_classes:
        full = explain(net, x, [20, 29], method=name, window=10, all_classes=True)
        assert full.attribution.shape == (2, 3, 4, 10)
        torch.testing.assert_close(full.attribution[1, e.target], e.attribution)


def test_tsa_methods_are_registered():
    for name in ("tsa-s", "tsa-ns", "sam", "tsa-delay"):
        assert METHODS[name].family == "tsa" and METHODS[name].supports_all_classes


def test_unknown_method_lists_known_ones(seed, spiking_net, spike_input):
    net = spiking_net([4, 3], seed, torch.float32)
    with pytest.raises(ValueError, match="unknown explanation method 'tsa'.*tsa-ns.*tsa-s"):
        explain(net, spike_input(10, 4, seed, dtype=torch.float32), 5, method="tsa")


def test_bad_variant_and_shapes():
    x, W = torch.ones(3, 2), torch.ones(2, 2)
    with pytest.raises(ValueError, match="variant must be one of"):
        tsa_map([x], [W], 0.5, torch.ones(2), "spikes")
    with pytest.raises(ValueError, match="one spike tensor per weight matrix"):
        tsa_map([x, x], [W], 0.5, torch.ones(2), "s")
    with pytest.raises(ValueError, match="P has 1 rows for 2 explained steps"):
        tsa_map([x], [W], 0.5, torch.ones(1, 2), "s", t=[1, 2])
    with pytest.raises(ValueError, match="window=3"):
        tsa_map([x], [W], 0.5, torch.ones(2), "s", t=1, window=3)


def test_unknown_options_are_refused(seed, spiking_net, spike_input):
    net, x = spiking_net([4, 3], seed, torch.float32), spike_input(10, 4, seed, dtype=torch.float32)
    with pytest.raises(ValueError, match="tsa-s: unknown option.*'variant'.*known: none"):
        explain(net, x, 9, method="tsa-s", variant="ns")
    with pytest.raises(ValueError, match="tsa-delay: unknown option.*'epsilon'.*known: variant"):
        explain(net, x, 9, method="tsa-delay", epsilon=0.1)
    with pytest.raises(ValueError, match="variant must be one of"):
        explain(net, x, 9, method="tsa-delay", variant="sam")
