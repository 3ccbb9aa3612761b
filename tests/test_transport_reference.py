"""The fast engine against the slow node-by-node reference, and conservation (``spec/transport.md`` §4-5).

Random networks (hypothesis): sizes, depths 1-3, every switch (reset, readout, recurrent,
ALIF), every rule and policy, ε, windows and initialisations. Tolerances are relative to
the relevance mass moved, :math:`\\sum_n |R_n|` (``ledger.relevance_mass``): it equals
:math:`|R_\\text{init}|` when nothing changes sign and bounds round-off otherwise (αβ and
near-zero LRP-0 denominators move large cancelling amounts).
"""


import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.references.transport import reference  # noqa: E402

from spikeflux.explain import explain  # noqa: E402
from spikeflux.snn import LIFNetwork  # noqa: E402

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = {  # method, options -> reference keywords
    "lrp-0": lambda o: dict(rule="epsilon", eps=0.0),
    "lrp-epsilon": lambda o: dict(rule="epsilon", eps=o["epsilon"]),
    "lrp-zplus": lambda o: dict(rule="alphabeta", alpha=1.0, beta=0.0),
    "lrp-alphabeta": lambda o: dict(rule="alphabeta", alpha=o["alpha"], beta=o["beta"],
                                    empty_side=o.get("empty_side", "skip")),
}


def ref_options(opts):
    """The reference's keywords for the options of a case (rule parameters aside)."""
    return dict(policy=opts.get("threshold_policy", "pass"), init=opts.get("init", "logit"),
                threshold_path=opts.get("threshold_path", False))


@st.composite
def cases(draw, max_T=9):
    """A random network, input, explained step, window, method and options."""
    depth = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(depth + 1)]
    T = draw(st.integers(1, max_T))
    t = draw(st.integers(0, T - 1))
    net = dict(
        reset=draw(st.sampled_from(["zero", "subtract"])), readout=draw(st.sampled_from(["spiking", "leaky"])),
        recurrent=draw(st.booleans()), adaptation=draw(st.sampled_from([None, (0.9, 0.4)])),
        weight_scale=draw(st.sampled_from([1.0, 3.0, 6.0])), tau_mem=draw(st.sampled_from([2e-3, 1e-2])),
        seed=draw(st.integers(0, 10**6)),
    )
    method = draw(st.sampled_from(sorted(METHODS)))
    opts = dict(threshold_policy=draw(st.sampled_from(["pass", "excess"])),
                init=draw(st.sampled_from(["logit", "probability", "one"])))
    if method == "lrp-epsilon":
        opts["epsilon"] = draw(st.sampled_from([0.0, 1e-6, 1e-2, 0.5]))
    if method == "lrp-alphabeta":
        opts["alpha"] = draw(st.sampled_from([1.0, 2.0, 3.0]))
        opts["beta"] = opts["alpha"] - 1.0
        opts["empty_side"] = draw(st.sampled_from(["skip", "fallback"]))
    if net["adaptation"] is not None:
        opts["threshold_path"] = draw(st.booleans())
    return dict(sizes=sizes, T=T, t=t, window=draw(st.integers(1, t + 1)), net=net, method=method, opts=opts,
                target=draw(st.integers(0, sizes[-1] - 1)), x_seed=draw(st.integers(0, 2**31)),
                p=draw(st.sampled_from([0.3, 0.7])))


def make(case, dtype=torch.float64):
    """The network and binary input ``(T, n_0)`` of a case."""
    net = LIFNetwork(case["sizes"], dtype=dtype, **case["net"])
    gen = torch.Generator().manual_seed(case["x_seed"])
    x = (torch.rand(case["T"], case["sizes"][0], generator=gen) < case["p"]).to(dtype)
    return net, x


def run(case, dtype=torch.float64):
    net, x = make(case, dtype)
    return explain(net, x, case["t"], method=case["method"], target=case["target"], window=case["window"],
                   **case["opts"]), net, x


def assert_conserves(ledger, tol):
    """Global balance and the continuity equation of every slice, relative to the mass moved.

    Below the smallest normal number of the dtype (subnormal relevance, float32) one unit in
    the last place is already a relative error of order 1, so the scale has that floor.
    """
    scale = max(float(ledger.relevance_mass), torch.finfo(ledger.relevance_init.dtype).tiny / tol)
    total = ledger.absorbed + ledger.sink_total
    assert abs(float(ledger.relevance_init - total)) <= tol * scale
    assert abs(float(ledger.global_residual)) <= tol * scale
    assert float(ledger.continuity_residual.abs().max()) <= tol * scale
    phi_next = torch.cat([ledger.flux[1:], ledger.relevance_init[None]])
    np.testing.assert_allclose(phi_next - ledger.flux, ledger.absorption + ledger.sink_slices, rtol=0,
                               atol=tol * scale)


@given(cases())
@settings(max_examples=300, **SETTINGS)
def test_engine_equals_reference(case):
    """Attribution, sinks by cause and every per-slice aggregate, value for value (float64)."""
    e, net, x = run(case)
    ref = reference(net, x, case["t"], case["target"], case["window"], **ref_options(case["opts"]),
                    **METHODS[case["method"]](case["opts"]))
    L = e.ledger
    tol = dict(rtol=0, atol=1e-10 * (float(L.relevance_mass) + 1e-300))
    np.testing.assert_allclose(float(L.relevance_init), ref["r_init"], rtol=1e-13)
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], **tol)
    np.testing.assert_allclose(L.flux.numpy(), ref["flux"], **tol)
    np.testing.assert_allclose(L.absorption.numpy(), ref["absorption"], **tol)
    for cause, value in L.sinks.items():
        np.testing.assert_allclose(float(value), ref["sinks"].get(cause, 0.0), **tol)
    for cause, value in L.sink_slices_by_cause.items():
        np.testing.assert_allclose(value.numpy(), ref["sink_slices_by_cause"].get(cause, 0.0), **tol)
    mass = sum(abs(v) for n, v in ref["R"].items() if n[2] >= case["t"] - case["window"] + 1)
    np.testing.assert_allclose(float(L.relevance_mass), mass, rtol=1e-9, atol=1e-12)
    assert_signed(L, ref, tol)
    assert_conserves(L, 1e-12)


def assert_signed(L, ref, tol):
    """The signed per-slice channels equal the reference's, edge by edge, and add up to the net ones."""
    for name in ("flux_pos", "flux_neg", "absorbed_pos", "absorbed_neg", "sink_slices_pos", "sink_slices_neg", "mass"):
        np.testing.assert_allclose(getattr(L, name).numpy(), ref[name], err_msg=name, **tol)
    atol = 1e-13 * (float(L.relevance_mass) + 1e-300)
    np.testing.assert_allclose((L.flux_pos + L.flux_neg).numpy(), L.flux.numpy(), rtol=0, atol=atol)
    np.testing.assert_allclose((L.absorbed_pos + L.absorbed_neg).numpy(), L.absorption.numpy(), rtol=0, atol=atol)
    np.testing.assert_allclose((L.sink_slices_pos + L.sink_slices_neg).numpy(), L.sink_slices.numpy(), rtol=0,
                               atol=atol)
    for cause in L.sinks:
        np.testing.assert_allclose(float(L.sinks_pos[cause] + L.sinks_neg[cause]), float(L.sinks[cause]), rtol=0,
                                   atol=atol)
    assert bool((L.flux_pos >= 0).all()) and bool((L.flux_neg <= 0).all()) and bool((L.mass >= 0).all())
    # the positive channel's mismatch is the sign exchange, the negative one's its opposite (net balance)
    phi_next = torch.cat([L.flux_neg[1:], L.init_neg[None]])
    np.testing.assert_allclose((phi_next - L.flux_neg - L.absorbed_neg - L.sink_slices_neg).numpy(),
                               -L.sign_exchange.numpy(), rtol=0, atol=10 * atol)


@given(cases(max_T=30), st.sampled_from([torch.float64, torch.float32]))
@settings(max_examples=200, **SETTINGS)
def test_conservation_global_and_per_slice(case, dtype):
    """R_init = ΣA + Σσ + Φ[t0] and Φ[t+1] - Φ[t] = A[t] + σ[t]: 1e-12 in float64, 1e-5 in float32."""
    e, _, _ = run(case, dtype)
    assert e.attribution.dtype == dtype and torch.isfinite(e.attribution).all()
    assert_conserves(e.ledger, 1e-12 if dtype == torch.float64 else 1e-5)
    assert set(e.ledger.sinks) == {"stabilizer", "zero_denominator", "threshold", "boundary", "empty_side"}


@pytest.mark.parametrize("switches", [
    dict(), dict(reset="subtract"), dict(readout="leaky"), dict(recurrent=True),
    dict(adaptation=(0.8, 0.5)), dict(adaptation=(0.8, 0.5), reset="subtract", recurrent=True),
])
@pytest.mark.parametrize("method,opts", [
    ("lrp-0", {}), ("lrp-epsilon", dict(epsilon=1e-3)), ("lrp-zplus", {}),
    ("lrp-alphabeta", dict(alpha=2.0, beta=1.0)), ("lrp-epsilon", dict(epsilon=1e-3, threshold_policy="excess")),
])
def test_every_switch_moves_relevance_through_spikes(switches, method, opts):
    """A fixed 2-hidden-layer case per switch where hidden spikes carry relevance: engine == reference per step."""
    net = LIFNetwork([3, 5, 4, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=torch.float64, **switches)
    x = (torch.rand(14, 3, generator=torch.Generator().manual_seed(3)) < 0.5).double()
    ref_kw = METHODS[method]({"epsilon": 0.0, **opts})
    e = explain(net, x, 12, method=method, target=0, window=9, **opts)
    ref = reference(net, x, 12, 0, 9, policy=opts.get("threshold_policy", "pass"), **ref_kw)
    assert float(e.ledger.relevance_init) > 5
    spike_flow = sum(abs(v) for (n, m), v in ref["flows"].items() if n[0] == "S" and n[1] >= 1)
    assert spike_flow > 1e-3, "the case must send relevance through hidden spike nodes"
    tol = 1e-10 * float(e.ledger.relevance_mass)
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], rtol=0, atol=tol)
    np.testing.assert_allclose(e.ledger.flux.numpy(), ref["flux"], rtol=0, atol=tol)
    assert_conserves(e.ledger, 1e-12)
