"""A batch of sequences in one call: ``explain(net, X, t)`` with ``X`` of shape ``(B, T, n_in)``.

Row ``k`` of the batched result must be the single-sequence explanation of ``X[k]`` at
``t[k]``: to 1e-12 (relative to the row's scale) in float64 for transport LRP and TSA (the
same arithmetic), to float tolerance for the gradient methods (batched autograd).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from spikeflux.explain import METHODS, explain
from spikeflux.explain import explanation
from spikeflux.explain.gradients import carried_state, windows
from spikeflux.explain.tsa import tsa_delay_map, tsa_map
from spikeflux.snn import LIFNetwork
from spikeflux.transport import Ledger, decompose, engine, transport

Tensor = torch.Tensor

B, T, N_IN = 4, 16, 5
STEPS = [15, 10, 12, 7]  # one explained step per row
WINDOW = 6
SHORT = 4  # lrp-alphabeta: α > 1 grows relevance along silent chains; keep the window short

#: (sizes, switches): depth 1-3 and every switch that changes the graph.
NETS = {
    "1L": ([N_IN, 4], {}),
    "2L-leaky": ([N_IN, 8, 4], dict(readout="leaky")),
    "2L-subtract-recurrent": ([N_IN, 8, 4], dict(reset="subtract", recurrent=True)),
    "3L-alif": ([N_IN, 8, 6, 4], dict(adaptation=(0.9, 0.3))),
    "3L-all": ([N_IN, 7, 6, 4], dict(reset="subtract", recurrent=True, adaptation=(0.8, 0.4), readout="leaky")),
}


@pytest.fixture(params=sorted(NETS))
def net(request):
    sizes, switches = NETS[request.param]
    return LIFNetwork(sizes, weight_scale=3.0, tau_mem=5e-3, seed=5, dtype=torch.float64, **switches)


@pytest.fixture
def X():
    g = torch.Generator().manual_seed(3)
    X = (torch.rand(B, T, N_IN, generator=g) < 0.4).double()
    X[..., 0] = 1.0  # the bias channel
    X[2, :, 1:] = 0.0  # a row whose only input is the bias
    return X


def window_of(method: str) -> int:
    return SHORT if method == "lrp-alphabeta" else WINDOW


def options_of(method: str) -> dict:
    return {"n_steps": 4} if method == "integrated-gradients" else {}


def tolerance(method: str) -> tuple[float, float]:
    """``(rtol, scale factor for atol)``: exact arithmetic for LRP/TSA, float tolerance for gradients."""
    return (1e-12, 1e-12) if METHODS[method].family in ("lrp", "tsa") else (1e-9, 1e-9)


def assert_rows_close(batched, single, rtol, atol_factor, what=""):
    scale = float(single.abs().max()) if single.numel() else 0.0
    torch.testing.assert_close(batched, single, rtol=rtol, atol=atol_factor * scale + 1e-300,
                               msg=lambda m: f"{what}: {m}")


def assert_ledger_rows(batched: Ledger, k: int, single: Ledger, tol: float = 1e-12):
    """Every field of row ``k`` of the batched ledger equals the single-sequence ledger."""
    atol = tol * float(single.relevance_mass) + 1e-300
    for f in dataclasses.fields(Ledger):
        b, s = getattr(batched, f.name), getattr(single, f.name)
        if isinstance(s, Tensor):
            if s.is_floating_point():
                torch.testing.assert_close(b[k], s, rtol=tol, atol=atol, msg=lambda m, w=f.name: f"{w}: {m}")
            else:
                assert torch.equal(b[k], s), f.name
        elif isinstance(s, dict) and s and all(isinstance(v, Tensor) for v in s.values()):
            assert b.keys() == s.keys(), f.name
            for key in s:
                torch.testing.assert_close(b[key][k], s[key], rtol=tol, atol=atol,
                                           msg=lambda m, w=f"{f.name}[{key}]": f"{w}: {m}")
        else:
            assert b == s, f.name


# ---------------------------------------------------------------------------- rows equal single calls
def test_the_nets_spike(net, X):
    """The comparisons below are only meaningful if hidden layers spike and windows carry state."""
    with torch.no_grad():
        rec = net(X, record=True).record
    for l in range(1, net.n_layers):
        assert rec.spikes[l].sum() > 0


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_rows_equal_single_calls(net, X, method):
    """Per-row steps, predicted classes: row k is explain(net, X[k], t[k])."""
    w, opts = window_of(method), options_of(method)
    e = explain(net, X, STEPS, method=method, window=w, **opts)
    assert e.attribution.shape == (B, N_IN, w)
    assert e.target.shape == e.t.shape == e.logit.shape == (B,)
    assert e.t.tolist() == STEPS and e.window == w and e.method == method
    rtol, atol = tolerance(method)
    for k in range(B):
        one = explain(net, X[k], STEPS[k], method=method, window=w, **opts)
        assert int(e.target[k]) == one.target  # the prediction of row k at its own step
        assert float(e.logit[k]) == pytest.approx(one.logit, rel=1e-12, abs=1e-12)
        assert_rows_close(e.attribution[k], one.attribution, rtol, atol, f"{method} row {k}")
        if one.ledger is not None:
            assert_ledger_rows(e.ledger, k, one.ledger)
        for key, value in one.info.items():  # per-row extras (completeness gap, P(t*), ...)
            if isinstance(value, Tensor) and value.dim() > 0:
                assert_rows_close(e.info[key][k], value[0], rtol, atol, f"info[{key}]")


@pytest.mark.parametrize("method", sorted(METHODS))
def test_int_step_and_given_classes(X, method):
    """One int t for every row; classes given (one per row, and one int for all)."""
    sizes, switches = NETS["3L-all"]
    net = LIFNetwork(sizes, weight_scale=3.0, tau_mem=5e-3, seed=5, dtype=torch.float64, **switches)
    w, opts = window_of(method), options_of(method)
    n_out = net.sizes[-1]
    classes = [k % n_out for k in range(B)]
    e = explain(net, X, 12, method=method, target=classes, window=w, **opts)
    same = explain(net, X, 12, method=method, target=1, window=w, **opts)
    assert e.t.tolist() == [12] * B and e.target.tolist() == classes and same.target.tolist() == [1] * B
    rtol, atol = tolerance(method)
    one = explain(net, X[3], 12, method=method, target=classes[3], window=w, **opts)
    assert float(e.logit[3]) == pytest.approx(one.logit, rel=1e-12, abs=1e-12)
    assert_rows_close(e.attribution[3], one.attribution, rtol, atol, f"{method} row 3")
    one = explain(net, X[0], 12, method=method, target=1, window=w, **opts)
    assert_rows_close(same.attribution[0], one.attribution, rtol, atol, f"{method} row 0, class 1")


@pytest.mark.parametrize("method", ["lrp-epsilon", "tsa-delay", "saliency"])
def test_a_batch_of_one_sequence(X, method):
    net = LIFNetwork([N_IN, 8, 4], weight_scale=3.0, tau_mem=5e-3, seed=5, dtype=torch.float64)
    e = explain(net, X[1:2], STEPS[1], method=method, window=WINDOW)
    one = explain(net, X[1], STEPS[1], method=method, window=WINDOW)
    assert e.attribution.shape == (1, N_IN, WINDOW) and e.target.tolist() == [one.target]
    assert_rows_close(e.attribution[0], one.attribution, 1e-12, 1e-12)


@pytest.mark.parametrize("method", [m for m in sorted(METHODS) if METHODS[m].supports_all_classes])
def test_all_classes_rows_equal_single_calls(net, X, method):
    e = explain(net, X, STEPS, method=method, window=WINDOW, all_classes=True)
    assert e.attribution.shape == (B, net.sizes[-1], N_IN, WINDOW)
    for k in range(B):
        one = explain(net, X[k], STEPS[k], method=method, window=WINDOW, all_classes=True)
        assert_rows_close(e.attribution[k], one.attribution, 1e-12, 1e-12, f"{method} row {k}")


# ---------------------------------------------------------------------------- the ledger per row
@pytest.mark.parametrize("method", ["lrp-0", "lrp-epsilon", "lrp-zplus", "lrp-alphabeta"])
def test_conservation_holds_per_row(net, X, method):
    e = explain(net, X, STEPS, method=method, window=window_of(method))
    mass = e.ledger.relevance_mass
    assert e.ledger.flux.shape == (B, window_of(method))
    assert (e.ledger.global_residual.abs() <= 1e-12 * mass).all()
    assert (e.ledger.continuity_residual.abs().amax(1) <= 1e-12 * mass).all()
    total = e.ledger.absorbed + e.ledger.sink_total  # R_init = Σ A + sinks (boundary included)
    torch.testing.assert_close(total, e.ledger.relevance_init, rtol=0, atol=float(1e-12 * mass.max()))


def test_zero_denominators_and_node_ledgers_per_row(X):
    """LRP-0 from R_init = 1 on a row with silent inputs books zero denominators; node-level fields per row."""
    net = LIFNetwork([N_IN, 8, 4], weight_scale=3.0, tau_mem=5e-3, seed=5, dtype=torch.float64, recurrent=True)
    X = X.clone()
    X[1, :, :] = 0.0  # no input at all, not even the bias: every denominator of the window is zero
    opts = dict(init="one", node_residuals=True, node_relevance=True, threshold_policy="excess")
    e = explain(net, X, STEPS, method="lrp-0", window=WINDOW, **opts)
    assert int(e.ledger.zero_denominators[1]) > 0 and float(e.ledger.sinks["zero_denominator"][1]) > 0
    assert e.ledger.node_residuals["I1"].shape == (B, WINDOW, 8)
    for k in range(B):
        one = explain(net, X[k], STEPS[k], method="lrp-0", window=WINDOW, **opts)
        assert_ledger_rows(e.ledger, k, one.ledger)
        for key in one.ledger.node_relevance:
            torch.testing.assert_close(e.ledger.node_relevance[key][k], one.ledger.node_relevance[key],
                                       rtol=1e-12, atol=1e-12 * float(one.ledger.relevance_mass))
            assert float(e.ledger.node_residuals[key][k].abs().max()) <= 1e-12 * float(one.ledger.relevance_mass)


# ---------------------------------------------------------------------------- chunks
@pytest.mark.parametrize("method", ["lrp-epsilon", "tsa-ns", "saliency", "integrated-gradients"])
def test_chunked_batches_equal_one_chunk(X, method, monkeypatch):
    """Batches split into chunks of rows (forward pass and sweep) give the same rows, info merged."""
    net = LIFNetwork([N_IN, 8, 6, 4], weight_scale=3.0, tau_mem=5e-3, seed=2, dtype=torch.float64,
                     reset="subtract", recurrent=True)
    opts = options_of(method)
    whole = explain(net, X, STEPS, method=method, window=WINDOW, **opts)
    monkeypatch.setattr(explanation, "RECORD_BYTES", 1)  # one sequence per forward pass
    monkeypatch.setattr(engine, "SWEEP_BYTES", 1)  # one target per sweep
    assert explanation.rows_per_record(net, T) == 1 and engine.rows_per_sweep(net, T, shared=False) == 1
    parts = explain(net, X, STEPS, method=method, window=WINDOW, **opts)
    rtol, atol = tolerance(method)
    assert torch.equal(parts.target, whole.target) and torch.equal(parts.t, whole.t)
    assert_rows_close(parts.attribution, whole.attribution, rtol, atol)
    assert_rows_close(parts.logit, whole.logit, 1e-12, 1e-12)
    assert parts.info.keys() == whole.info.keys()
    for key, value in whole.info.items():
        if isinstance(value, Tensor):
            assert_rows_close(parts.info[key], value, rtol, atol, f"info[{key}]")
        else:
            assert parts.info[key] == value
    if whole.ledger is not None:
        for k in range(B):
            assert_ledger_rows(parts.ledger, k, _row(whole.ledger, k))


def _row(ledger: Ledger, k: int) -> Ledger:
    """Row ``k`` of a batched ledger, as a single-target ledger."""
    def pick(v):
        if isinstance(v, Tensor):
            return v[k]
        if isinstance(v, dict) and v and all(isinstance(u, Tensor) for u in v.values()):
            return {key: u[k] for key, u in v.items()}
        return v

    return Ledger(**{f.name: pick(getattr(ledger, f.name)) for f in dataclasses.fields(Ledger)})


def test_many_targets_of_one_sequence_in_chunks_equal_one_sweep(X, monkeypatch):
    """The single-sequence mode (K targets share a graph) chunks its targets the same way."""
    net = LIFNetwork([N_IN, 8, 4], weight_scale=3.0, tau_mem=5e-3, seed=2, dtype=torch.float64, adaptation=(0.9, 0.3))
    steps = [15, 9, 13, 11, 6, 14]
    whole = explain(net, X[0], steps, method="lrp-zplus", window=WINDOW)
    monkeypatch.setattr(engine, "SWEEP_BYTES", 1)
    parts = explain(net, X[0], steps, method="lrp-zplus", window=WINDOW)
    torch.testing.assert_close(parts.attribution, whole.attribution, rtol=1e-12, atol=1e-14)
    for k in range(len(steps)):
        assert_ledger_rows(parts.ledger, k, _row(whole.ledger, k))


# ---------------------------------------------------------------------------- the building blocks
def test_batched_graph_columns_are_the_single_graphs(net, X):
    with torch.no_grad():
        rec = net(X, record=True).record
    batched = decompose(net, rec, 4, 15, batched=True)
    for k in (0, 2, 3):
        with torch.no_grad():
            one = decompose(net, net(X[k:k + 1], record=True).record, 4, 15)
        for gb, g1 in zip(batched, one):
            for name in ("leak", "integration", "decay", "spikes", "membrane_prev", "threshold_prev"):
                torch.testing.assert_close(getattr(gb, name)[:, k], getattr(g1, name), rtol=1e-13, atol=1e-13)
            torch.testing.assert_close(gb.matrix.total[:, k], g1.matrix.total, rtol=1e-13, atol=1e-14)


def test_carried_state_and_windows_read_each_row(net, X):
    t0 = torch.tensor(STEPS) - WINDOW + 1
    with torch.no_grad():
        state = carried_state(net, net(X, record=True), t0)
    inputs = windows(X, t0, WINDOW)
    for k in range(B):
        with torch.no_grad():
            one = carried_state(net, net(X[k:k + 1], record=True), t0[k:k + 1])
        for a, b in zip((*state.I, *state.U, *state.b), (*one.I, *one.U, *one.b)):
            torch.testing.assert_close(a[k], b[0], rtol=1e-13, atol=1e-13)  # V S: batched BLAS rounding
        torch.testing.assert_close(inputs[k], windows(X[k], t0[k:k + 1], WINDOW)[0], rtol=0, atol=0)


@pytest.mark.parametrize("variant", ["s", "ns"])
def test_tsa_maps_of_batched_spikes(variant):
    """tsa_map / tsa_delay_map on (B, T, n) spikes: row k is the map of sequence k alone."""
    g = torch.Generator().manual_seed(0)
    spikes = [(torch.rand(3, 12, n, generator=g) < 0.4).double() for n in (4, 6, 5)]
    weights = [torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64),
               torch.randn(3, 5, generator=g, dtype=torch.float64)]
    P = torch.rand(3, 3, generator=g, dtype=torch.float64).softmax(-1)
    steps = [11, 7, 9]
    for fn, args in ((tsa_map, (0.6,)), (tsa_delay_map, (0.8, 0.6))):
        A = fn(spikes, weights, *args, P, variant, t=steps, window=6)
        rows = fn(spikes, weights, *args, P, variant, t=steps, window=6, target=[2, 0, 1])
        assert A.shape == (3, 3, 4, 6) and rows.shape == (3, 4, 6)
        for k in range(3):
            one = fn([s[k, :steps[k] + 1] for s in spikes], weights, *args, P[k], variant, t=steps[k], window=6)
            torch.testing.assert_close(A[k], one, rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(rows[k], one[[2, 0, 1][k]], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs,match", [
    (dict(x=torch.zeros(2, 10, N_IN + 1)), r"x must have shape \(T, n_in=5\) or \(B, T, n_in=5\)"),
    (dict(x=torch.zeros(2, 3, 10, N_IN)), "x must have shape"),
    (dict(x=torch.zeros(0, 10, N_IN)), "x: need at least one sequence"),
    (dict(t=[9, 9]), r"t: give one int, or one step per sequence: x has B=3 sequences, t has shape \(2,\)"),
    (dict(t=[[9, 9, 9]]), "t: give one int, or one step per sequence"),
    (dict(t=[9, 10, 9]), "t: step 10 is out of range for a sequence of length T=10"),
    (dict(t=-1), "t: step -1 is out of range"),
    (dict(t=[9.0, 9.0, 9.0]), "t: steps must be integers"),
    (dict(t=[9, 4, 9], window=6), r"window=6 must be between 1 and t\+1=5"),
    (dict(window=0), "window=0"),
    (dict(target=[0, 1]), "target: 2 classes given for 3 sequences"),
    (dict(target=[0, 1, 3]), r"target: class 3 is out of range \(0..2\)"),
    (dict(target=-1), "target: class -1 is out of range"),
    (dict(method="lrp-epsilon", all_classes=True), "does not support all_classes=True"),
    (dict(method="lrp-epsilon", espilon=1.0), "unknown option.*'espilon'"),
    (dict(method="tsa-batched"), "unknown explanation method 'tsa-batched'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    net = LIFNetwork([N_IN, 6, 3], seed=0, dtype=torch.float64)
    args = dict(x=torch.zeros(3, 10, N_IN), t=9, method="tsa-s")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        explain(net, args.pop("x"), args.pop("t"), **args)


def test_transport_rejects_a_record_batch_that_is_neither_one_nor_k(X):
    net = LIFNetwork([N_IN, 6, 3], seed=0, dtype=torch.float64)
    with torch.no_grad():
        rec = net(X[:3], record=True).record
    with pytest.raises(ValueError, match=r"record: batch 3 must be 1 \(the 2 targets share one sequence\) or 2"):
        transport(net, rec, [9, 9], [0, 0], 5)
    with pytest.raises(ValueError, match="batch of 3 sequences for 2 windows"):
        carried_state(net, net(X[:3], record=True), torch.tensor([3, 4]))
