"""Captum gradient baselines on the per-step logit of an input window (``explain/gradients.py``)."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients

from spikeflux.explain import METHODS, explain
from spikeflux.explain.gradients import WindowLogits, carried_state, windows

GRADIENT_METHODS = ["integrated-gradients", "saliency", "input-x-gradient"]  # deeplift: tests/test_deeplift.py


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
def seed():
    return 7


# spiking_net, spike_input: the shared fixtures of conftest.py


def window_gradient(net, x, t_star, window, c):
    """d U^L_c[t*] / d x over the window, from one forward pass over the whole sequence (prefix fixed)."""
    x = x[: t_star + 1].clone().requires_grad_()
    (g,) = torch.autograd.grad(net(x[None]).output[0, t_star, c], x)
    return g[t_star - window + 1:].T  # (n_in, window)


# ---------------------------------------------------------------------------- the wrapped model
@pytest.mark.parametrize("kwargs", [{}, dict(adaptation=(0.9, 0.3)), dict(recurrent=True),
                                    dict(reset="subtract"), dict(readout="leaky")])
def test_carried_state_reproduces_the_recorded_logits(kwargs, seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 6, 3], seed, **kwargs)
    x = spike_input(50, 4, seed)
    t = torch.tensor([20, 35, 49])
    with torch.no_grad():
        fwd = net(x[None], record=True)
        state = carried_state(net, fwd, t - 14)
        out = WindowLogits(net)(windows(x, t - 14, 15), *state.I, *state.U, *state.b)
    torch.testing.assert_close(out, fwd.output[0, t], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- every depth, both readouts
@pytest.mark.parametrize("method", GRADIENT_METHODS)
@pytest.mark.parametrize("sizes", [[4, 3], [4, 9, 3], [4, 9, 6, 3]])
@pytest.mark.parametrize("readout", ["spiking", "leaky"])
def test_runs_on_every_depth_and_readout(method, sizes, readout, seed, spiking_net, spike_input):
    net = spiking_net(sizes, seed, dtype=torch.float32, readout=readout)
    x = spike_input(30, 4, seed, dtype=torch.float32)
    e = explain(net, x, [20, 29], method=method, window=12)
    assert e.attribution.shape == (2, 4, 12)
    assert torch.isfinite(e.attribution).all()
    gap = e.info["completeness_gap"]
    assert gap.shape == (2,) and torch.isfinite(gap).all()
    torch.testing.assert_close(e.info["f_input"], e.logit)
    one = explain(net, x, 29, method=method, window=12)
    assert one.attribution.shape == (4, 12)


# ---------------------------------------------------------------------------- values
def test_saliency_and_input_x_gradient_are_the_window_gradient(seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 3], seed)
    x = spike_input(40, 4, seed)
    steps, window = [25, 39], 15
    sal = explain(net, x, steps, method="saliency", window=window, abs=False)
    sal_abs = explain(net, x, steps, method="saliency", window=window)
    ixg = explain(net, x, steps, method="input-x-gradient", window=window)
    for k, t_star in enumerate(steps):
        g = window_gradient(net, x, t_star, window, int(sal.target[k]))
        assert g.abs().sum() > 0  # the surrogate gradient reaches the window
        torch.testing.assert_close(sal.attribution[k], g)
        torch.testing.assert_close(sal_abs.attribution[k], g.abs())
        torch.testing.assert_close(ixg.attribution[k], x[t_star - window + 1: t_star + 1].T * g)


def test_linear_model_gives_the_exact_decomposition(seed, spiking_net, spike_input):
    """1L, leaky readout: U^L[t*] is affine in the window, so IG = x * grad = the linear decomposition
    A_i[t] = W_ci sum_{k=t}^{t*} alpha^(k-t) beta^(t*-k) x_i[t] (spec/transport.md §5) and the gap is zero."""
    net = spiking_net([4, 3], seed, readout="leaky")
    x = spike_input(40, 4, seed)
    t_star, window = 39, 16
    ig = explain(net, x, t_star, method="integrated-gradients", window=window, n_steps=8)
    ixg = explain(net, x, t_star, method="input-x-gradient", window=window)
    c, a, b = ig.target, net.alpha, net.beta
    t = torch.arange(t_star - window + 1, t_star + 1)
    kernel = torch.tensor([sum(a ** (k - s) * b ** (t_star - k) for k in range(s, t_star + 1)) for s in t.tolist()],
                          dtype=torch.float64)
    expected = net.weights[0].detach()[c][:, None] * kernel[None, :] * x[t].T
    torch.testing.assert_close(ixg.attribution, expected, rtol=1e-10, atol=1e-12)
    assert abs(float(ixg.info["completeness_gap"][0])) < 1e-10
    # Captum builds its quadrature weights with torch.tensor(list of floats): float32, even for
    # a float64 model, so IG's weights sum to 1 only to ~1e-8.
    torch.testing.assert_close(ig.attribution, expected, rtol=1e-7, atol=1e-12)
    assert abs(float(ig.info["completeness_gap"][0])) < 1e-7 * float(ig.attribution.abs().sum())


def test_ig_gap_is_captums_convergence_delta(seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 3], seed)
    x = spike_input(40, 4, seed)
    e = explain(net, x, [30, 39], method="integrated-gradients", window=20, n_steps=16)
    with torch.no_grad():
        fwd = net(x[None], record=True)
    t0 = e.t - 19
    state = carried_state(net, fwd, t0)
    inp = windows(x, t0, 20).requires_grad_()
    A, delta = IntegratedGradients(WindowLogits(net)).attribute(
        inp, baselines=torch.zeros_like(inp), target=e.target, n_steps=16,
        additional_forward_args=(*state.I, *state.U, *state.b), return_convergence_delta=True)
    torch.testing.assert_close(e.attribution, A.detach().transpose(1, 2))
    torch.testing.assert_close(e.info["completeness_gap"], delta.detach())


def test_ig_gap_is_reported_and_stays_bounded(seed, spiking_net, spike_input):
    """The gap does not close (the surrogate is not the derivative of H) but settles as n_steps grows."""
    net = spiking_net([4, 12, 3], 2)
    x = spike_input(60, 4, 3)
    gaps = {}
    for n in (5, 20, 50, 100):
        e = explain(net, x, 58, method="integrated-gradients", window=30, n_steps=n)
        assert e.info["n_steps"] == n
        gaps[n] = float(e.info["completeness_gap"][0])
        delta_f = float(e.info["f_input"][0] - e.info["f_baseline"][0])
    assert all(abs(g) < float("inf") for g in gaps.values())
    assert delta_f != 0
    spread = max(gaps[n] for n in (20, 50, 100)) - min(gaps[n] for n in (20, 50, 100))
    assert spread <= 0.25 * abs(delta_f), gaps
    assert max(abs(g) for g in gaps.values()) <= 2 * abs(delta_f) + 1.0, gaps


def test_batching_does_not_change_the_result(seed, spiking_net, spike_input):
    net = spiking_net([4, 9, 3], seed, adaptation=(0.9, 0.3))
    x = spike_input(40, 4, seed)
    steps = [20, 27, 33, 39]
    for method in GRADIENT_METHODS:
        whole = explain(net, x, steps, method=method, window=15)
        split = explain(net, x, steps, method=method, window=15, batch_size=1)
        torch.testing.assert_close(split.attribution, whole.attribution, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(split.info["completeness_gap"], whole.info["completeness_gap"],
                                   rtol=1e-10, atol=1e-12)
    ig = explain(net, x, steps, method="integrated-gradients", window=15, n_steps=10)
    ig_small = explain(net, x, steps, method="integrated-gradients", window=15, n_steps=10, internal_batch_size=4)
    torch.testing.assert_close(ig_small.attribution, ig.attribution, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("n_steps", [0, -3, 2.5, True, None, "50"])
def test_bad_n_steps(n_steps, seed, spiking_net, spike_input):
    net = spiking_net([4, 3], seed)
    with pytest.raises(ValueError, match="n_steps must be a positive int"):
        explain(net, spike_input(10, 4, seed), 9, method="integrated-gradients", n_steps=n_steps)


def test_bad_options(seed, spiking_net, spike_input):
    net, x = spiking_net([4, 3], seed), spike_input(10, 4, seed)
    with pytest.raises(ValueError, match="rule must be one of"):
        explain(net, x, 9, method="integrated-gradients", rule="simpson")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        explain(net, x, 9, method="saliency", batch_size=0)
    with pytest.raises(ValueError, match="saliency: unknown option.*'n_steps'.*known: abs, batch_size"):
        explain(net, x, 9, method="saliency", n_steps=10)
    with pytest.raises(ValueError, match="abs must be True or False"):
        explain(net, x, 9, method="saliency", abs="yes")
    with pytest.raises(ValueError, match="internal_batch_size must be a positive int"):
        explain(net, x, 9, method="integrated-gradients", internal_batch_size=-1)


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_all_classes_is_refused(method, seed, spiking_net, spike_input):
    assert METHODS[method].family == "gradient" and not METHODS[method].supports_all_classes
    with pytest.raises(ValueError, match=f"method '{method}' does not support all_classes=True"):
        explain(spiking_net([4, 3], seed), spike_input(10, 4, seed), 9, method=method, all_classes=True)


def test_unknown_method_lists_the_gradient_methods(seed, spiking_net, spike_input):
    with pytest.raises(ValueError, match="known methods: .*deeplift.*input-x-gradient.*integrated-gradients"):
        explain(spiking_net([4, 3], seed), spike_input(10, 4, seed), 9, method="smoothgrad")
