r"""Difference transport (DeepLIFT) on the unrolled LIF graph, ``spec/transport.md`` §6.

DeepLIFT (Shrikumar, Greenside & Kundaje 2017) explains the difference
:math:`f(x) - f(\bar x)` of the explained quantity between the input :math:`x` and a
reference input :math:`\bar x`. Both are run through the network; every node carries its
difference :math:`\Delta z_n = z_n - \bar z_n`, written as a sum of in-edge
*Δ-contributions* :math:`\Delta z_{m \to n}` (:func:`difference_graph`), and the engine's
sweep (:mod:`.engine`) moves Δ-relevance over the same unrolled graph with LRP-0 on
differences:

.. math::

    F(n \to m) = \frac{\Delta z_{m \to n}}{\Delta z_n}\, R_n
    \qquad(\text{a zero-denominator sink where } \Delta z_n = 0).

The Δ-contributions, per layer and step (:math:`\bar{\ }` marks the reference run):

======================================  =================================================================
edge (forward)                          Δ-contribution
======================================  =================================================================
:math:`I[t-1] \to I[t]`                 :math:`\alpha\, \Delta I[t-1]`
:math:`S^{l-1}_i[t] \to I^l_j[t]`       :math:`W_{ji}\, \Delta S^{l-1}_i[t]` (and :math:`V_{ji} \Delta S^l_i[t]`)
:math:`U[t-1] \to U[t]`                 :math:`\tfrac{g[t] + \bar g[t]}{2}\, \beta\, \Delta U[t-1]`
:math:`I[t] \to U[t]`                   :math:`\tfrac{g[t] + \bar g[t]}{2}\, \Delta I[t]`
:math:`S[t] \to U[t]` (hard reset)      :math:`-\Delta S[t]\, \tfrac{b[t] + \bar b[t]}{2}`
:math:`S[t] \to U[t]` (subtract reset)  :math:`-\Delta S[t]\, \tfrac{\theta[t-1] + \bar\theta[t-1]}{2}`
:math:`U[t-1] \to S[t]`                 :math:`\Delta S[t]` (threshold node, rescale rule)
======================================  =================================================================

with the gate :math:`g[t] = 1 - S[t]` and the pre-reset membrane
:math:`b[t] = \beta U[t-1] + I[t]` of the hard reset :math:`U[t] = g[t]\, b[t]`. The
difference of that product is split by the **Shapley rule** (``notebooks/theory.md``,
"DeepLIFT on the unrolled graph"):

.. math::

    \Delta(g b) = \bar g\, \Delta b + \bar b\, \Delta g + \Delta g\, \Delta b
               = \underbrace{\tfrac{g + \bar g}{2} \Delta b}_{\text{to } b}
               + \underbrace{\tfrac{b + \bar b}{2} \Delta g}_{\text{to } g},

the average of the two orders in which the factors can change (the Shapley value of the
two-player game :math:`v(\{g\}) = \Delta g\, \bar b`, :math:`v(\{b\}) = \bar g\, \Delta b`).
Under the subtract reset and for a leaky readout :math:`g \equiv 1` and the membrane is
linear; under ALIF the subtract reset's :math:`\theta[t-1] S[t]` is a product too and its
:math:`\Delta\theta` share, :math:`-\tfrac{S + \bar S}{2} \Delta\theta[t-1]`, is booked as a
``threshold`` sink (the threshold is a gate here, as in the engine's default).

**Threshold nodes** :math:`S[t] = H(v)`, :math:`v = U[t-1] - \theta[t-1]`, use DeepLIFT's
rescale multiplier :math:`m = \Delta S / \Delta v`: the contribution of :math:`U[t-1]` is
:math:`m\, \Delta U[t-1]`, that of the (gated) threshold :math:`-m\, \Delta\theta[t-1]`. So
:math:`R(S[t])` passes to :math:`U[t-1]` with share :math:`\Delta U[t-1] / \Delta v` (1 without
ALIF) and the rest is a ``threshold`` sink. The limit :math:`\Delta v \to 0` is handled
explicitly: there :math:`\Delta S = 0` (equal :math:`v`, equal spike), so
:math:`R(S) = \sum_\text{out-edges} (\dots)\,\Delta S = 0`; the share is set to 0 and
whatever arrives (round-off at most) is booked as the ``threshold`` sink, never divided by 0.

**Consistent differences.** The Δ-values of the I and U nodes are not read as
:math:`z - \bar z` from the two runs but computed by the Δ-recursion itself (each node's
value *is* the sum of its Δ-contributions, bit for bit the engine's denominator), starting
from the recorded :math:`z - \bar z` at the step before the span. This equals
:math:`z - \bar z` to round-off and makes :math:`R_n / \Delta z_n` DeepLIFT's multiplier
exactly, even where contributions cancel (no round-off quotient such as
:math:`10^{-17}/10^{-16}` ever scales relevance). The explained quantity's difference
:math:`\sum_j w_j \Delta U^L_j[t^*]` (of the recursion) is injected at the output nodes.

Summation-to-delta is the ledger's global balance, the continuity equation of §4 holds
per slice, both to round-off: :math:`R_\text{init} = f(x) - f(\bar x) = \sum A + \sum \sigma + \Phi[t_0]`.

Shapes: as in :mod:`.engine`; the difference graph is always ``(Ts, K, n)`` (the reference
of target ``k`` is its own run, row ``k`` of ``record_ref``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..snn import LIFNetwork, Record
from . import ledger as _ledger
from .engine import Book, LayerFlux, _finish, _injections, in_sweeps, record_rows, sweep_layers
from .graph import LayerGraph, MatrixEdges, previous, time_major
from .rules import Epsilon, NodeFlux

#: How the difference of the hard-reset product :math:`(1 - S)(\beta U + I)` is split.
PRODUCT_RULE = "shapley"


class DifferenceRule(Epsilon):
    r"""LRP-0 on Δ-contributions (DeepLIFT's linear rule): :math:`F = \Delta z_m / \Delta z_n \cdot R_n`."""

    name = "deeplift"

    def __init__(self):
        super().__init__(0.0)

    @property
    def params(self) -> dict:
        return {"product": PRODUCT_RULE, "threshold": "rescale"}


class Rescale:
    r"""The threshold policy of difference transport: share :math:`\Delta U[t-1] / \Delta v[t-1]` passes.

    :math:`\Delta v = \Delta U[t-1] - \Delta\theta[t-1]`; where :math:`\Delta v = 0` nothing
    passes and all of :math:`R(S[t])` (0 up to round-off) is the ``threshold`` sink.
    """

    name = "rescale"

    def __init__(self, dU_prev: Tensor, dtheta_prev: Tensor):
        self.dU_prev, self.dtheta_prev = dU_prev, dtheta_prev

    def node(self, graph: LayerGraph) -> tuple[Tensor, Tensor]:
        """``(g, s)``: flux :math:`g\\,R(S)` to :math:`U[t-1]`, sink :math:`s\\,R(S)`."""
        dv = self.dU_prev - self.dtheta_prev
        ok = dv != 0
        safe = torch.where(ok, dv, 1.0)
        g = torch.where(ok, self.dU_prev / safe, 0.0)
        s = torch.where(ok, -self.dtheta_prev / safe, 1.0)
        return g, s


def _values(net: LIFNetwork, record: Record, l: int, start: int, stop: int) -> dict[str, Tensor]:
    """Recorded values of layer ``l`` over the span, time-major ``(Ts, B, n)``: the same reads as :func:`.graph.decompose`."""
    lo = max(start - 1, 0)
    S, I, U, th = (time_major(v, lo, stop, True) for v in (record.spikes[l + 1], record.syn[l], record.mem[l],
                                                             record.theta[l]))
    first, n = start - lo, stop - lo
    return dict(S=S[first:], I=I[first:], U_prev=previous(U, first, n, 0.0), I_prev=previous(I, first, n, 0.0),
                theta_prev=previous(th, first, n, net.threshold),
                source=time_major(record.spikes[l], start, stop, True))


def difference_graph(net: LIFNetwork, record: Record, record_ref: Record, start: int, stop: int
                     ) -> tuple[list[LayerGraph], list[dict]]:
    r"""The Δ-contributions of every layer over steps ``start..stop-1`` (module docstring's table).

    ``record``: the input's pass (batch 1 or ``K``); ``record_ref``: the reference passes (batch
    ``K``), both from step 0 with the same (zero) initial state. Returns one
    :class:`~.graph.LayerGraph` per layer whose fields hold Δ-contributions (``spikes`` is
    :math:`\Delta S`, the matrix sources :math:`\Delta S^{l-1}`, ``reset`` the gate's or the
    subtract reset's Δ-contribution) and, per layer, ``{"dU": ΔU[t], "dU_prev": ΔU[t-1],
    "dtheta_prev": Δθ[t-1], "adapt": the ALIF Δθ share of the subtract reset or None}``.
    """
    alpha, beta = net.alpha, net.beta
    graphs, extras = [], []
    for l in range(net.n_layers):
        a, r = _values(net, record, l, start, stop), _values(net, record_ref, l, start, stop)
        K = r["S"].shape[1]
        dS = (a["S"] - r["S"]).expand(-1, K, -1).contiguous()  # ΔS[t] ∈ {-1, 0, 1}
        source = (a["source"] - r["source"]).expand(-1, K, -1).contiguous()  # ΔS^{l-1}[t] (Δx for l = 0)
        pairs = [(source, net.weights[l].detach())]
        if net.recurrent_weights and l < net.n_layers - 1:
            pairs.append((dS, net.recurrent_weights[l].detach()))
        matrix = MatrixEdges(pairs)
        drive = matrix.total  # Σ_i W_ji ΔS^{l-1}_i[t] (+ V ΔS[t]), the engine's cached sum
        spiking = net.spiking(l)
        zero_reset = spiking and net.reset == "zero"
        subtract = spiking and net.reset == "subtract"
        ones = torch.ones_like(dS)
        if zero_reset:
            gate = 1.0 - (a["S"] + r["S"]) / 2  # (g + ḡ)/2, g = 1 - S
            b, b_ref = beta * a["U_prev"] + a["I"], beta * r["U_prev"] + r["I"]  # pre-reset membranes
            reset_coef = -(b + b_ref) / 2  # Δg = -ΔS times (b + b̄)/2
        else:
            gate = ones
            reset_coef = -(a["theta_prev"] + r["theta_prev"]) / 2 if subtract else None
        gate, reset_coef = gate.expand_as(dS), (reset_coef.expand_as(dS) if reset_coef is not None else None)
        dtheta = (a["theta_prev"] - r["theta_prev"]).expand_as(dS)  # Δθ[t-1] (0 without ALIF)
        adaptive = subtract and net.adaptation is not None
        adapt_coef = (-(a["S"] + r["S"]) / 2).expand_as(dS) if adaptive else None
        dU_prev = (a["U_prev"][0] - r["U_prev"][0]).expand(K, -1)  # ΔU[start-1], recorded
        dI_prev = (a["I_prev"][0] - r["I_prev"][0]).expand(K, -1)
        leak, integ, reset, decay, adapt, dU_all, dUp_all = [], [], [], [], [], [], []
        for t in range(stop - start):  # the Δ-recursion: every value the sum of its Δ-contributions
            dec = alpha * dI_prev  # α ΔI[t-1]
            dI = dec + drive[t]  # = sum([decay]) + matrix.total, the engine's denominator
            lk = gate[t] * (beta * dU_prev)
            it = gate[t] * dI
            edges = [lk, it]
            if reset_coef is not None:
                edges.append(reset_coef[t] * dS[t])
            if adaptive:
                edges.append(adapt_coef[t] * dtheta[t])
            dU = sum(edges)  # the engine's Σ_m z_m, same order
            leak.append(lk), integ.append(it), decay.append(dec), dUp_all.append(dU_prev), dU_all.append(dU)
            if reset_coef is not None:
                reset.append(edges[2])
            if adaptive:
                adapt.append(edges[-1])
            dU_prev, dI_prev = dU, dI
        st = torch.stack
        dUp = st(dUp_all)
        graphs.append(LayerGraph(
            leak=st(leak), integration=st(integ), reset=st(reset) if reset else None, decay=st(decay),
            matrix=matrix, spikes=dS, membrane_prev=dUp, threshold_prev=dtheta, spiking=spiking,
        ))
        extras.append(dict(dU=st(dU_all), dU_prev=dUp, dtheta_prev=dtheta, adapt=st(adapt) if adapt else None))
    return graphs, extras


def difference_flux(graph: LayerGraph, extra: dict, rule: DifferenceRule) -> LayerFlux:
    """:class:`~.engine.LayerFlux` of one Δ-layer; the ALIF Δθ share of the U nodes is a ``threshold`` sink."""
    u_edges = [graph.leak, graph.integration] + ([graph.reset] if graph.reset is not None else [])
    if extra["adapt"] is not None:
        U = rule.node(u_edges + [extra["adapt"]])
        U = NodeFlux(U.edges[:-1], sinks={**U.sinks, "threshold": U.edges[-1]}, zero=U.zero)
    else:
        U = rule.node(u_edges)
    passed, sink = (Rescale(extra["dU_prev"], extra["dtheta_prev"]).node(graph) if graph.spiking else (None, None))
    return LayerFlux(U, rule.node([graph.decay], graph.matrix), passed, {} if sink is None else {"threshold": sink})


@torch.no_grad()
def difference_transport(
    net: LIFNetwork,
    record: Record,
    record_ref: Record,
    t,
    window: int,
    readout: Tensor,
    target=None,
    node_residuals: bool = False,
    node_relevance: bool = False,
) -> tuple[Tensor, _ledger.Ledger]:
    r"""DeepLIFT for ``K`` targets: Δ-relevance :math:`\sum_j w_j \Delta U^L_j[t^*]` moved to the inputs.

    Parameters
    ----------
    net : LIFNetwork
    record : Record
        The input's recorded pass: batch 1 (the ``K`` targets share one sequence) or ``K``.
    record_ref : Record
        The reference passes, batch ``K`` (row ``k`` is target ``k``'s reference), same length.
    t : sequence of int
        Explained steps :math:`t^*_k`, ``(K,)``.
    window : int
        Steps per window, ending at :math:`t^*_k`; what reaches :math:`I[t_0-1], U[t_0-1]` is the
        ``boundary`` sink (zero when the reference shares the input before :math:`t_0`).
    readout : Tensor
        ``(K, n_out)`` weights :math:`w` of the explained quantity :math:`\sum_j w_j U^L_j[t^*]`.
    target : sequence of int or None
        The classes recorded in the ledger (default: the largest weight of each readout row).
    node_residuals, node_relevance : bool
        As in :func:`.engine.transport` (``node_residuals`` include the ``threshold`` sinks).

    Returns
    -------
    attribution : Tensor
        :math:`A_i[t]`, ``(K, n_in, w)``; :math:`\sum A + \sum \text{sinks} = f(x) - f(\bar x)`.
    ledger : Ledger
        ``rule="deeplift"``, ``threshold_policy="rescale"``, ``init="difference"``,
        ``relevance_init`` :math:`= \sum_j w_j \Delta U^L_j[t^*]`.
    """
    steps = [int(s) for s in torch.as_tensor(t).reshape(-1).tolist()]
    K, window = len(steps), int(window)
    B, T = record.spikes[0].shape[:2]
    Br, Tr = record_ref.spikes[0].shape[:2]
    starts = [s - window + 1 for s in steps]
    if K == 0:
        raise ValueError("t: give at least one step to explain")
    if window < 1 or min(starts) < 0 or max(steps) >= min(T, Tr):
        raise ValueError(f"window={window}: every window [t-w+1, t] must lie in 0..{min(T, Tr) - 1}")
    if B not in (1, K) or Br != K:
        raise ValueError(f"record: batch {B} must be 1 or {K}, record_ref: batch {Br} must be {K} (one reference per target)")
    readout = torch.as_tensor(readout, dtype=net.dtype, device=record.spikes[0].device)
    if readout.shape != (K, net.sizes[-1]):
        raise ValueError(f"readout: expected shape ({K}, {net.sizes[-1]}), got {tuple(readout.shape)}")
    target = (readout.argmax(-1) if target is None else
              torch.as_tensor(target, device=readout.device).reshape(-1).long())
    if target.numel() != K:
        raise ValueError(f"target: need one class per step, got {target.numel()} for {K} steps")
    options = dict(node_residuals=node_residuals, node_relevance=node_relevance)

    def sweep_rows(rows: slice):
        return _difference(net, record if B == 1 else record_rows(record, rows), record_rows(record_ref, rows),
                           steps[rows], window, readout[rows], target[rows], **options)

    return in_sweeps(sweep_rows, K, max(steps) + 1 - min(starts), net, shared=False)


def _difference(net, record, record_ref, steps, window, readout, target, node_residuals, node_relevance):
    """:func:`difference_transport` of validated arguments in one sweep."""
    x = record.spikes[0]
    K = len(steps)
    starts = [s - window + 1 for s in steps]
    start, stop = min(starts), max(steps) + 1
    graphs, extras = difference_graph(net, record, record_ref, start, stop)
    rule = DifferenceRule()
    rows = torch.arange(K, device=x.device)
    dU_out = extras[-1]["dU"][torch.tensor(steps, device=x.device) - start, rows]  # (K, n_out) ΔU^L[t*]
    start_nodes = readout * dU_out  # w_j ΔU^L_j[t*]
    r_init = start_nodes.sum(-1)
    inject, cut = _injections(steps, starts, start, start_nodes)
    book = Book(stop - start, K, x)
    channels, residuals, relevance = sweep_layers(net, graphs, lambda l, graph: difference_flux(graph, extras[l], rule),
                                                  inject, cut, K, book, node_residuals, node_relevance)
    policy = Rescale(None, None)
    attribution, ledger = _finish(book, channels, residuals, rule, policy, "difference", r_init, steps, starts,
                                  start, window, target, relevance, start_nodes)
    if not bool(torch.isfinite(ledger.relevance_mass).all()):
        raise FloatingPointError(f"DeepLIFT relevance overflowed to inf/NaN in {x.dtype} over a {window}-step window")
    return attribution, ledger
