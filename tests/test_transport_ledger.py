"""The ledger, edge cases and the public surface of transport LRP (``spec/transport.md`` §2-4)."""

import copy

import numpy as np
import pytest
import torch

from tests.references.transport import reference  # noqa: E402

from spikeflux.explain import explain  # noqa: E402
from spikeflux.snn import LIFNetwork, Record  # noqa: E402
from spikeflux.transport import decompose, transport  # noqa: E402

METHODS = ["lrp-0", "lrp-epsilon", "lrp-zplus", "lrp-alphabeta"]


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(11)


@pytest.fixture
def net():
    """Two hidden layers, subtract reset, recurrent, ALIF: every switch that adds edges."""
    return LIFNetwork([4, 6, 5, 3], weight_scale=4.0, tau_mem=5e-3, reset="subtract", recurrent=True,
                      adaptation=(0.9, 0.3), seed=4, dtype=torch.float64)


@pytest.fixture
def x(gen):
    return (torch.rand(16, 4, generator=gen) < 0.5).double()


def hand_net(W, readout="leaky", **kw):
    """A one-layer float64 network with the given weights."""
    W = torch.as_tensor(W, dtype=torch.float64)
    net = LIFNetwork([W.shape[1], W.shape[0]], readout=readout, dtype=torch.float64, **kw)
    with torch.no_grad():
        net.weights[0].copy_(W)
    return net


def balance_tol(ledger, tol=1e-12):
    return tol * (float(ledger.relevance_mass.max()) + 1e-300)


# ---------------------------------------------------------------------- the graph, by hand
def test_graph_contributions_sum_to_recorded_values_by_hand():
    """Check the recurrences by hand: I[t] = αI[t-1] + W x[t], U[t] = (1-S[t])(βU[t-1] + I[t])."""
    net = hand_net([[0.7, 0.4]], readout="spiking")
    x = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    a, b = net.alpha, net.beta
    I0, I1 = 1.1, a * 1.1 + 0.7
    U0 = I0  # 1.1 > θ: spikes at t = 1 and is reset to 0
    assert float(rec.syn[0][0, 1, 0]) == pytest.approx(I1, rel=1e-15)
    assert float(rec.spikes[1][0, 1, 0]) == 1.0 and float(rec.mem[0][0, 1, 0]) == 0.0
    (g,) = decompose(net, rec, 0, 4)
    assert float(g.leak[1, 0]) == 0.0 and float(g.integration[1, 0]) == 0.0  # the gate (1 - S[1]) = 0
    assert float(g.decay[1, 0]) == pytest.approx(a * I0, rel=1e-15)
    assert float(g.matrix.total[1, 0]) == pytest.approx(0.7, rel=1e-15)
    assert float(g.membrane_prev[1, 0]) == pytest.approx(U0, rel=1e-15)
    torch.testing.assert_close(g.leak + g.integration, rec.mem[0][0], rtol=1e-15, atol=0)
    torch.testing.assert_close(g.decay + g.matrix.total, rec.syn[0][0], rtol=1e-15, atol=1e-15)


def test_graph_every_switch_sums_to_the_record(net, x):
    """Each layer's in-edge contributions add up to the recorded I[t], U[t] (subtract reset, V, ALIF)."""
    with torch.no_grad():
        rec = net(x[None], record=True).record
    for l, g in enumerate(decompose(net, rec, 3, 16)):
        torch.testing.assert_close(g.leak + g.integration + (g.reset if g.reset is not None else 0),
                                   rec.mem[l][0, 3:], rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(g.decay + g.matrix.total, rec.syn[l][0, 3:], rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(g.threshold_prev, rec.theta[l][0, 2:15])


# ---------------------------------------------------------------------- per-step values
def test_wrong_step_activations_still_conserve_but_fail_the_reference(net, x):
    """Same weights at every step: a scheme reading x[t-1] instead of x[t] conserves, yet per-step values differ."""
    with torch.no_grad():
        rec = net(x[None], record=True).record
    good, lg = transport(net, rec, [15], [0], 12, "epsilon", epsilon=1e-6)
    bad_rec = Record([torch.roll(rec.spikes[0], 1, dims=1)] + rec.spikes[1:], rec.syn, rec.mem, rec.theta)
    bad, lb = transport(net, bad_rec, [15], [0], 12, "epsilon", epsilon=1e-6)
    assert abs(float(lb.global_residual[0])) <= balance_tol(lb)  # conservation cannot see it
    ref = reference(net, x, 15, 0, 12, rule="epsilon", eps=1e-6)
    tol = 1e-10 * float(lg.relevance_mass[0])
    np.testing.assert_allclose(good[0].numpy(), ref["attribution"], rtol=0, atol=tol)
    np.testing.assert_allclose(lg.flux[0].numpy(), ref["flux"], rtol=0, atol=tol)
    assert np.abs(bad[0].numpy() - ref["attribution"]).max() > 1e3 * tol  # the per-step check can


# ---------------------------------------------------------------------- zero denominators, silence
def cancelling():
    """L = 1, W = [0.5, -0.5]: x[t] = (1, 1) gives I[t] = 0 exactly."""
    net = hand_net([[0.5, -0.5], [0.25, 0.5]])
    x = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    return net, x


@pytest.mark.parametrize("method,cause", [("lrp-0", "zero_denominator"), ("lrp-epsilon", "stabilizer"),
                                          ("lrp-zplus", "empty_side"), ("lrp-alphabeta", "empty_side")])
def test_zero_valued_output_books_everything_never_nan(method, cause):
    """U[0] = 0.5 - 0.5 = 0 and R_init = 1: nothing passes, all of it is one sink (sign(0) = +1 for ε)."""
    net, x = cancelling()
    e = explain(net, x, 0, method=method, target=0, init="one")
    L = e.ledger
    assert e.logit == 0.0 and torch.isfinite(e.attribution).all()
    assert float(e.attribution.abs().max()) == 0.0
    assert float(L.sinks[cause]) == 1.0 and float(L.sink_total) == 1.0
    assert int(L.zero_denominators) == (1 if method == "lrp-0" else 0)


def test_cancelling_contributions_inside_the_window_lrp0():
    """ε = 0 with exactly cancelling synapses at some steps: finite, conserving, equal to the reference."""
    net, x = cancelling()
    e = explain(net, x, 3, method="lrp-0", target=0, init="one")
    ref = reference(net, x, 3, 0, rule="epsilon", eps=0.0, init="one")
    assert torch.isfinite(e.attribution).all() and all(np.isfinite(v) for v in ref["R"].values())
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], rtol=0, atol=1e-14)
    assert float(e.ledger.sinks["zero_denominator"]) == pytest.approx(ref["sinks"]["zero_denominator"], abs=1e-15)
    assert abs(float(e.ledger.global_residual)) <= 1e-14


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("init", ["logit", "one"])
@pytest.mark.parametrize("silence", ["network", "input"])
def test_all_silent_gives_zero_attribution_and_whole_logit_as_sinks(method, init, silence, gen):
    """A network whose hidden layer never spikes, or an all-zero input: A = 0, R_init all booked, no NaN."""
    net = LIFNetwork([4, 5, 3], seed=1, dtype=torch.float64)
    x = (torch.rand(10, 4, generator=gen) < 0.5).double()
    if silence == "network":
        with torch.no_grad():
            net.weights[0].copy_(-net.weights[0].abs())  # hidden membranes never rise
    else:
        x = torch.zeros_like(x)
    e = explain(net, x, 9, method=method, target=1, init=init)
    L = e.ledger
    assert float(e.attribution.abs().max()) == 0.0
    assert float(L.relevance_init) == (1.0 if init == "one" else 0.0)
    assert float(L.sink_total) == float(L.relevance_init)
    for v in [L.global_residual, L.global_residual_relative, *L.sinks.values(), L.flux, L.continuity_residual]:
        assert torch.isfinite(v).all() and float(v.abs().max()) <= 1e-15 + float(L.relevance_init)


@pytest.mark.parametrize("method,cause", [("lrp-0", "zero_denominator"), ("lrp-epsilon", "stabilizer"),
                                          ("lrp-zplus", "empty_side")])
def test_subnormal_values_are_booked_not_nan(method, cause):
    """float32, one input spike at t = 0 then silence: I decays to subnormal values (1/den overflows)."""
    net = LIFNetwork([2, 2], readout="leaky", seed=0)
    x = torch.zeros(1000, 2)
    x[0] = 1.0
    with torch.no_grad():
        u = net(x[None]).output[0, 999]
    assert 0 < float(u.abs().max()) < torch.finfo(torch.float32).tiny  # subnormal readout
    e = explain(net, x, 999, method=method, target=0, init="one")
    assert torch.isfinite(e.attribution).all() and float(e.ledger.sinks[cause]) == 1.0
    assert float(e.ledger.global_residual) == 0.0


def test_alphabeta_overflow_raises_instead_of_nan():
    """αβ (α = 2) doubles relevance at every node without negative contributions: a long silence overflows."""
    net = LIFNetwork([2, 2], readout="leaky", seed=0)
    x = torch.zeros(400, 2)
    x[0] = 1.0
    with pytest.raises(FloatingPointError, match="overflow"):
        explain(net, x, 300, method="lrp-alphabeta", target=0, init="one")
    e = explain(net, x, 300, method="lrp-alphabeta", target=0, init="one", window=20)  # a short window is fine
    assert float(e.ledger.relevance_mass) > 2.0**19  # float32: balance relative to the mass moved
    assert abs(float(e.ledger.global_residual)) <= balance_tol(e.ledger, 1e-5)


# ---------------------------------------------------------------------- batches and options
@pytest.mark.parametrize("method,opts", [("lrp-epsilon", {}), ("lrp-0", {}), ("lrp-zplus", {}),
                                         ("lrp-alphabeta", dict(alpha=1.5, beta=0.5)),
                                         ("lrp-epsilon", dict(threshold_policy="excess", init="probability"))])
@pytest.mark.parametrize("window", [None, 4])
def test_batched_targets_equal_single_calls(net, x, method, opts, window):
    """K targets with different t* in one sweep == K single calls, field by field."""
    steps, targets = [5, 9, 9, 15, 12], [0, 1, 2, 0, 2]
    batch = explain(net, x, steps, method=method, target=targets, window=window, **opts)
    assert batch.attribution.shape == (5, 4, window or 6)
    assert batch.ledger.flux.shape == (5, window or 6) and batch.ledger.sinks["boundary"].shape == (5,)
    for k, (t, c) in enumerate(zip(steps, targets)):
        one = explain(net, x, t, method=method, target=c, window=window or 6, **opts)
        tol = dict(rtol=1e-12, atol=1e-12 * float(one.ledger.relevance_mass))
        torch.testing.assert_close(batch.attribution[k], one.attribution, **tol)
        L1, LK = one.ledger, batch.ledger
        for name in ["relevance_init", "flux", "absorption", "sink_slices", "continuity_residual",
                     "attribution_positive", "attribution_negative", "channel_positive", "channel_negative",
                     "relevance_mass"]:
            torch.testing.assert_close(getattr(LK, name)[k], getattr(L1, name), **tol)
        for cause in L1.sinks:
            torch.testing.assert_close(LK.sinks[cause][k], L1.sinks[cause], **tol)
        assert int(LK.zero_denominators[k]) == int(L1.zero_denominators)


def test_single_step_ledger_is_scalar_and_list_has_a_target_axis(net, x):
    e = explain(net, x, 15)
    assert isinstance(e.target, int) and e.attribution.shape == (4, 16)
    assert e.ledger.relevance_init.dim() == 0 and isinstance(float(e.ledger.global_residual), float)
    assert all(v.dim() == 0 for v in e.ledger.sinks.values())
    assert e.ledger.rule == "epsilon" and e.ledger.params == {"epsilon": 1e-6} and e.ledger.init == "logit"
    assert e.ledger.node_residuals is None
    many = explain(net, x, [14, 15])
    assert many.ledger.global_residual.shape == (2,) and many.ledger.flux.shape == (2, 15)


def test_init_options_scale_the_map_and_are_recorded(net, x):
    """Relevance is linear in R_init: probability and one rescale the logit map."""
    base = explain(net, x, 15, target=2, method="lrp-epsilon")
    p = float(torch.softmax(net(x[None]).output[0, 15].detach(), -1)[2])
    for init, r in [("probability", p), ("one", 1.0)]:
        e = explain(net, x, 15, target=2, method="lrp-epsilon", init=init)
        assert e.ledger.init == init and float(e.ledger.relevance_init) == pytest.approx(r, rel=1e-12)
        torch.testing.assert_close(e.attribution, base.attribution * (r / base.logit), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_node_residuals_on_request_and_channel_identities(net, x, method):
    e = explain(net, x, 15, method=method, window=9, node_residuals=True, threshold_policy="excess")
    L = e.ledger
    assert set(L.node_residuals) == {"U1", "I1", "S1", "U2", "I2", "S2", "U3", "I3", "S3"}
    assert L.node_residuals["U2"].shape == (9, 5)
    assert max(float(v.abs().max()) for v in L.node_residuals.values()) <= balance_tol(L)
    assert float(L.channel_positive + L.channel_negative) == pytest.approx(float(L.absorbed), abs=balance_tol(L))
    assert float(L.attribution_positive + L.attribution_negative) == pytest.approx(float(L.absorbed),
                                                                                  abs=balance_tol(L))
    assert float(L.attribution_positive) >= 0 >= float(L.attribution_negative)
    if method == "lrp-zplus":
        assert float(L.channel_negative) == 0.0


def test_boundary_sink_is_the_relevance_reaching_the_window_start(net, x):
    """What crosses into I[t0-1], U[t0-1] (threshold edge U[t0-1] -> S[t0] included) is the boundary sink."""
    e = explain(net, x, 15, target=0, window=5, method="lrp-epsilon", epsilon=1e-3)
    ref = reference(net, x, 15, 0, 5, rule="epsilon", eps=1e-3)
    at_boundary = sum(v for n, v in ref["R"].items() if n[2] == 10)
    assert float(e.ledger.sinks["boundary"]) == pytest.approx(at_boundary, abs=1e-12 * float(e.ledger.relevance_mass))
    assert abs(at_boundary) > 1e-3
    assert float(e.ledger.flux[0]) == float(e.ledger.sinks["boundary"])


def test_float32_close_to_float64(net, x):
    e64 = explain(net, x, 15, method="lrp-epsilon", epsilon=1e-3)
    e32 = explain(_float(net), x.float(), 15, method="lrp-epsilon", epsilon=1e-3, target=e64.target)
    assert e32.attribution.dtype == torch.float32
    scale = float(e64.ledger.relevance_mass)
    torch.testing.assert_close(e32.attribution.double(), e64.attribution, rtol=0, atol=1e-4 * scale)


def _float(net):
    """A float32 copy (the fixture stays float64)."""
    return copy.deepcopy(net).float()


# ---------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs,match", [
    (dict(t=16), "t"), (dict(t=-1), "t"), (dict(t=5, target=3), "target"), (dict(t=5, window=7), "window"),
    (dict(t=15, window=17), "window"),
    (dict(t=5, threshold_policy="relu"), "threshold_policy"), (dict(t=5, init="logits"), "init"),
    (dict(t=5, epsilon=-1e-3), "epsilon"), (dict(t=5, espilon=1e-3), "espilon"),
    (dict(t=5, method="lrp-alphabeta", alpha=2.0, beta=2.0), "alpha - beta"),
    (dict(t=5, method="lrp-0", epsilon=0.1), "epsilon"), (dict(t=5, method="lrp-zplus", alpha=2.0), "alpha"),
    (dict(t=5, node_residuals="yes"), "node_residuals"), (dict(t=5, method="lrp-gamma"), "lrp-gamma"),
])
def test_bad_arguments_raise_clear_errors(net, x, kwargs, match):
    kwargs = {"method": "lrp-epsilon", **kwargs}
    with pytest.raises(ValueError, match=match):
        explain(net, x, **kwargs)


def test_transport_rejects_unknown_rule_and_bad_windows(net, x):
    with torch.no_grad():
        rec = net(x[None], record=True).record
    with pytest.raises(ValueError, match="rule"):
        transport(net, rec, [5], [0], 3, "gamma")
    with pytest.raises(ValueError, match="window"):
        transport(net, rec, [5], [0], 7)
    with pytest.raises(ValueError, match="target"):
        transport(net, rec, [5, 6], [0], 3)


# ---------------------------------------------------------------------- device
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu(net, x):
    cpu = explain(net, x, [12, 15], method="lrp-alphabeta", window=8)
    gpu = explain(copy.deepcopy(net).cuda(), x.cuda(), [12, 15], method="lrp-alphabeta", window=8)
    assert gpu.attribution.is_cuda
    torch.testing.assert_close(gpu.attribution.cpu(), cpu.attribution, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gpu.ledger.sinks["empty_side"].cpu(), cpu.ledger.sinks["empty_side"])


def _hand_ledger(r_init, flux):
    """A ledger holding only ``relevance_init`` and ``flux`` (every other field a placeholder)."""
    from dataclasses import fields

    from spikeflux.transport.ledger import Ledger

    r_init, flux = torch.tensor(r_init, dtype=torch.float64), torch.tensor(flux, dtype=torch.float64)
    values = {f.name: None for f in fields(Ledger)}
    values.update(rule="lrp-0", params={}, threshold_policy="pass", init="logit", sinks={},
                  sink_slices_by_cause={}, relevance_init=r_init, flux=flux)
    return Ledger(**values)


def test_reach_profile_known_answer():
    """|Φ[t]| / |R_init| averaged over the targets with R_init != 0, lag 1 (column w-1) first."""
    led = _hand_ledger([2.0, 0.0, -4.0], [[1.0, -1.0, 2.0], [9.0, 9.0, 9.0], [0.0, 2.0, -4.0]])
    # target 0: |Φ|/2 = [.5, .5, 1]; target 2: |Φ|/4 = [0, .5, 1]; target 1 (R_init = 0) left out
    np.testing.assert_allclose(led.reach_profile(), [1.0, 0.5, 0.25], rtol=0, atol=1e-15)
    np.testing.assert_allclose(led.reach_profile(torch.ones(3, 3, dtype=torch.float64)), [0.375] * 3, atol=1e-15)
    single = _hand_ledger(-2.0, [0.5, -1.0])  # a squeezed ledger: 0-d R_init, (w,) flux
    np.testing.assert_allclose(single.reach_profile(), [0.5, 0.25], atol=1e-15)


def test_reach_profile_is_diagnostics_lag_profile(gen, net):
    from spikeflux.transport import diagnostics as diag

    x = (torch.rand(30, net.sizes[0], generator=gen) < 0.3).double()
    led = explain(net, x, [20, 29], method="lrp-epsilon", window=12).ledger
    prof = led.reach_profile()
    assert prof.shape == (12,) and np.isfinite(prof).all() and (prof > 0).any()
    np.testing.assert_array_equal(prof, diag.lag_profile(led.flux.abs(), led))
    live = led.relevance_init != 0
    manual = (led.flux[live].abs() / led.relevance_init[live].abs()[:, None]).mean(0).numpy()[::-1]
    np.testing.assert_array_equal(prof, manual)  # the expression the chapters used, bit for bit
