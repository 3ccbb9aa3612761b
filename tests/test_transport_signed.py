"""Signed channels, the ALIF threshold as a path and αβ's empty-side fallback (``spec/transport.md`` §6).

Each against the slow node-by-node reference (``tests.references.transport``) and against
conservation to 1e-12 of :math:`|R_\\text{init}|` in float64, plus known answers.
"""

import numpy as np
import pytest
import torch

from tests.references.transport import reference
from tests.test_transport_reference import assert_conserves, assert_signed

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork
from spikeflux.transport import AlphaBeta

ALIF = dict(adaptation=(0.95, 0.6))


def alif_case(seed=8, **switches):
    net = LIFNetwork([3, 5, 4, 2], weight_scale=4.0, tau_mem=5e-3, seed=seed, dtype=torch.float64, **ALIF, **switches)
    x = (torch.rand(30, 3, generator=torch.Generator().manual_seed(3)) < 0.5).double()
    return net, x


def conserves_to_init(L, tol=1e-12):
    """Global identity and every slice's continuity residual within ``tol`` of |R_init|."""
    scale = float(L.relevance_init.abs())
    assert scale > 1e-3
    assert abs(float(L.global_residual)) <= tol * scale, float(L.global_residual) / scale
    assert float(L.continuity_residual.abs().max()) <= tol * scale


@pytest.mark.parametrize("switches", [dict(), dict(reset="subtract"), dict(recurrent=True), dict(readout="leaky")])
@pytest.mark.parametrize("method,opts,ref_kw", [
    ("lrp-0", {}, dict(rule="epsilon", eps=0.0)),
    ("lrp-epsilon", dict(epsilon=1e-3), dict(rule="epsilon", eps=1e-3)),
    ("lrp-epsilon", dict(epsilon=1e-3, threshold_policy="excess"), dict(rule="epsilon", eps=1e-3, policy="excess")),
    ("lrp-zplus", {}, dict(rule="alphabeta", alpha=1.0, beta=0.0)),
    ("lrp-alphabeta", dict(empty_side="fallback"), dict(rule="alphabeta", alpha=2.0, beta=1.0, empty_side="fallback")),
])
def test_threshold_path_equals_reference(switches, method, opts, ref_kw):
    """With b as a node, relevance reaches the b nodes and the engine equals the reference per slice and sign."""
    net, x = alif_case(**switches)
    e = explain(net, x, 28, method=method, target=0, window=25, threshold_path=True, node_relevance=True, **opts)
    ref = reference(net, x, 28, 0, 25, threshold_path=True, **ref_kw)
    L = e.ledger
    through_b = sum(abs(v) for (n, m), v in ref["flows"].items() if m[0] == "B")
    if method != "lrp-zplus":  # z⁺ never uses the negative contribution -b[t-1]
        assert through_b > 1e-3, "the case must send relevance into the threshold nodes b"
        assert float(L.node_relevance["B1"].abs().sum()) > 1e-3
    tol = dict(rtol=0, atol=1e-10 * float(L.relevance_mass))
    np.testing.assert_allclose(e.attribution.numpy(), ref["attribution"], **tol)
    np.testing.assert_allclose(L.flux.numpy(), ref["flux"], **tol)
    for cause, value in L.sink_slices_by_cause.items():
        np.testing.assert_allclose(value.numpy(), ref["sink_slices_by_cause"].get(cause, 0.0), **tol)
    assert_signed(L, ref, tol)
    assert_conserves(L, 1e-12)
    if method != "lrp-0":  # LRP-0's zero denominators can move large cancelling amounts
        conserves_to_init(L)


def test_threshold_path_changes_nothing_without_adaptation_or_spikes():
    """No ALIF: the option is a no-op. ALIF whose b never rises (no hidden spike): the same map as the gate."""
    net = LIFNetwork([3, 5, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=torch.float64)
    x = (torch.rand(20, 3, generator=torch.Generator().manual_seed(3)) < 0.5).double()
    a = explain(net, x, 18, method="lrp-epsilon", target=0, window=15)
    b = explain(net, x, 18, method="lrp-epsilon", target=0, window=15, threshold_path=True)
    assert torch.equal(a.attribution, b.attribution)
    flat = LIFNetwork([3, 5, 2], weight_scale=4.0, tau_mem=5e-3, seed=8, dtype=torch.float64, adaptation=(0.9, 0.0))
    with torch.no_grad():
        assert float(flat(x[None], record=True).record.spikes[1].sum()) > 0  # spikes, but b stays 0 (γ = 0)
    a = explain(flat, x, 18, method="lrp-0", target=0, window=15)
    b = explain(flat, x, 18, method="lrp-0", target=0, window=15, threshold_path=True)
    assert float(a.attribution.abs().sum()) > 0
    torch.testing.assert_close(a.attribution, b.attribution, rtol=1e-13, atol=1e-15)


def test_threshold_path_known_answer_single_neuron():
    """One ALIF hidden neuron firing twice: by hand, the second spike's relevance splits U/(U-b) and -b/(U-b)."""
    net = LIFNetwork([1, 1, 1], dt=1e-3, tau_syn=1e-3, tau_mem=1e-3, readout="leaky", dtype=torch.float64,
                     adaptation=(0.5, 0.5))
    with torch.no_grad():
        net.weights[0].fill_(3.0)
        net.weights[1].fill_(1.0)
    x = torch.tensor([[1.0], [1.0], [0.0], [0.0], [0.0]], dtype=torch.float64)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    S1 = rec.spikes[1][0, :, 0].tolist()
    assert S1 == [0.0, 1.0, 0.0, 1.0, 0.0], S1  # fires at t = 1, resets, fires at t = 3 against b[2] = ρ γ
    e = explain(net, x, 4, method="lrp-0", target=0, window=5, threshold_path=True, node_relevance=True)
    R = {k: v.numpy() for k, v in e.ledger.node_relevance.items()}
    U_prev, b_prev = float(rec.mem[0][0, 2, 0]), float(rec.theta[0][0, 2, 0]) - net.threshold  # U[2], b[2]
    np.testing.assert_allclose(b_prev, 0.25, rtol=1e-12)
    RS3 = R["S1"][3, 0]
    assert abs(RS3) > 0
    # S[3] -> b[2]: -b/(U-b) R(S[3]); b[2] = ρ b[1] (+ γ S[2] = 0) -> b[1]; b[1] = γ S[1] -> S[1]
    np.testing.assert_allclose(R["B1"][2, 0], -b_prev / (U_prev - b_prev) * RS3, rtol=1e-12)
    np.testing.assert_allclose(R["B1"][1, 0], R["B1"][2, 0], rtol=1e-12)
    assert R["B1"][1, 0] < 0 < RS3  # b is an inhibitory memory: the earlier spike gets negative relevance through it
    conserves_to_init(e.ledger)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_fallback_removes_the_one_signed_growth(depth, bias):
    """80 steps of generated networks: skip multiplies relevance by a = 2 along one-signed chains (mass 1e20+,
    the ledger balances only relative to the mass); fallback removes that growth (at least 1e8 times less mass).
    Two-sided chains still grow (a z⁺ share dominated by one contribution passes about a R), so the float64
    balance is exact relative to the mass moved, and relative to R_init where that mass is moderate."""
    net = LIFNetwork([4] + [6] * depth + [2], weight_scale=3.0, seed=depth, dtype=torch.float64)
    x = (torch.rand(80, 4, generator=torch.Generator().manual_seed(depth)) < 0.3).double()
    if bias:
        x[:, 0] = 1.0
    skip = explain(net, x, 79, method="lrp-alphabeta", target=0, window=80).ledger
    fall = explain(net, x, 79, method="lrp-alphabeta", target=0, window=80, empty_side="fallback").ledger
    amp_skip, amp_fall = float(skip.amplification), float(fall.amplification)
    assert amp_skip > 1e18, amp_skip
    assert amp_fall < 1e-8 * amp_skip, (amp_fall, amp_skip)
    assert_conserves(fall, 1e-12)
    if amp_fall < 1e3:
        conserves_to_init(fall)
    assert fall.params == {"alpha": 2.0, "beta": 1.0, "empty_side": "fallback"}
    assert skip.params == {"alpha": 2.0, "beta": 1.0}


def test_fallback_known_answers():
    """One-sided nodes pass all of R through their side; two-sided nodes are plain αβ; no side: all booked."""
    rule = AlphaBeta(2.0, 1.0, empty_side="fallback")
    pos = [torch.tensor([1.0, 3.0]).double(), torch.tensor([0.0, 1.0]).double()]  # node 0: one-sided, node 1: one-sided
    f = rule.node(pos)
    torch.testing.assert_close(f.edges[0], torch.tensor([1.0, 0.75]).double())
    torch.testing.assert_close(f.edges[1], torch.tensor([0.0, 0.25]).double())
    torch.testing.assert_close(f.sinks["empty_side"], torch.zeros(2).double())
    neg = rule.node([torch.tensor([-1.0]).double(), torch.tensor([-3.0]).double()])
    torch.testing.assert_close(neg.edges[0] + neg.edges[1], torch.ones(1).double())
    torch.testing.assert_close(neg.edges[0], torch.tensor([0.25]).double())
    mixed = rule.node([torch.tensor([2.0]).double(), torch.tensor([-1.0]).double()])
    torch.testing.assert_close(mixed.edges[0], torch.tensor([2.0]).double())
    torch.testing.assert_close(mixed.edges[1], torch.tensor([-1.0]).double())
    empty = rule.node([torch.zeros(1).double()])
    torch.testing.assert_close(empty.sinks["empty_side"], torch.ones(1).double())
    skip = AlphaBeta(2.0, 1.0).node(pos)
    torch.testing.assert_close(skip.edges[0], 2 * torch.tensor([1.0, 0.75]).double())
    torch.testing.assert_close(skip.sinks["empty_side"], -torch.ones(2).double())


def test_signed_channels_known_answer_positive_network():
    """All weights positive, LRP-0: no negative relevance anywhere, so Φ⁻ = A⁻ = σ⁻ = 0 and nothing is exchanged."""
    net = LIFNetwork([3, 4, 2], weight_scale=2.0, seed=1, dtype=torch.float64, readout="leaky")
    with torch.no_grad():
        for w in net.weights:
            w.abs_()
    x = (torch.rand(25, 3, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    L = explain(net, x, 24, method="lrp-epsilon", epsilon=1e-6, target=0, window=20).ledger
    assert float(L.relevance_init) > 0
    for name in ("flux_neg", "absorbed_neg", "sink_slices_neg"):
        assert float(getattr(L, name).abs().max()) == 0.0, name
    assert float(L.sign_exchange.abs().max()) <= 1e-12 * float(L.relevance_init)
    torch.testing.assert_close(L.flux_pos, L.flux, rtol=0, atol=0)


def test_signed_channels_see_the_cancellation_of_excess():
    """The excess policy on a network with spikes: the threshold sink and the absorption have opposite signs in
    places; the signed sinks add to the net ones and the mass exceeds |R_init|."""
    net, x = alif_case(seed=8)
    net.adaptation = None
    L = explain(net, x, 28, method="lrp-epsilon", epsilon=1e-6, target=0, window=25, threshold_policy="excess").ledger
    assert float(L.sinks_pos["threshold"]) > 0 and float(L.amplification) > 1 and 0 < float(L.cancelled) < 1
    torch.testing.assert_close(L.sinks_pos["threshold"] + L.sinks_neg["threshold"], L.sinks["threshold"])


def test_bad_options_are_named():
    net, x = alif_case()
    with pytest.raises(ValueError, match="empty_side"):
        explain(net, x, 28, method="lrp-alphabeta", window=5, empty_side="drop")
    with pytest.raises(ValueError, match="threshold_path"):
        explain(net, x, 28, method="lrp-epsilon", window=5, threshold_path="yes")
    with pytest.raises(ValueError, match="empty_side"):
        explain(net, x, 28, method="lrp-epsilon", window=5, empty_side="fallback")
