r"""The generic backward sweep: relevance transport on the unrolled LIF graph.

:mod:`.graph` writes each node as a sum of in-edge contributions, :mod:`.rules` turns them
into per-step coefficients (:math:`F(n \to m) = c_m R_n`), and this module moves relevance
through the graph and books it (:mod:`.ledger`).

Why one loop over time per layer is enough: a layer's spikes :math:`S^l[t]` read only its
own :math:`U^l[t-1]`, so without recurrent weights the graph is acyclic layer by layer.
The sweep runs the output layer backwards over time (element-wise ops on ``(K, n_L)``),
pushes relevance to the spike nodes of the layer below for *all* steps with one batched
matrix product, then sweeps that layer, and so on down to the inputs. Inside a layer, per
step :math:`t` (going down):

.. math::

    R(U[t]) &= c_\text{leak}[t+1]\,R(U[t+1]) + g[t+1]\,R(S[t+1]) \; (+ R_\text{init} \text{ at } t^*) \\
    R(I[t]) &= c_\text{decay}[t+1]\,R(I[t+1]) + c_\text{int}[t]\,R(U[t]) \\
    R(S[t]) &= R_\uparrow(S[t]) + c_\text{reset}[t]\,R(U[t]) + S[t] \odot \big((k[t]\,R(I[t]))\,V\big)

(:math:`g` the threshold policy's pass share; the last two terms only under the subtract
reset, resp. with recurrent :math:`V`). ``K`` targets with different :math:`t^*` share the
sweep: each injects :math:`R_\text{init}` at its own step and is cut at its own window start
:math:`t_0` (what reaches :math:`I[t_0-1], U[t_0-1]` is the ``boundary`` sink). No autograd.

Two kinds of batch share this code path. ``K`` targets of *one* recorded sequence (record
batch 1) read one graph; ``K`` *sequences*, one target each (record batch ``K``, target
``k`` reads row ``k``), read one graph column each. The graph and its coefficients are
``(Ts, Bk, n)`` with ``Bk`` the record's batch (1 or ``K``) and broadcast against the
relevance; only the products that reduce over neurons (:func:`spread`, :func:`push`,
:func:`slice_sum`) see the difference.

Shapes: ``Ts`` steps of the span :math:`[\min t_0, \max t^*]`, ``K`` targets, ``n`` neurons;
relevance tensors are time-major ``(Ts, K, n)``, graph tensors ``(Ts, Bk, n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..chunking import map_chunks, rows_within
from ..snn import LIFNetwork, Record
from . import ledger as _ledger
from .graph import LayerGraph, decompose, split
from .rules import NodeFlux, Rule, get_policy, get_rule, threshold_path

INITS = ("logit", "probability", "one")


@dataclass
class LayerFlux:
    """The coefficients of one layer: :class:`NodeFlux` of ``U`` (edges leak, integration[, reset]),
    of ``I`` (edge decay, matrix edges), and of the spike nodes: the share ``passed`` :math:`g` of
    :math:`R(S[t])` sent to :math:`U[t-1]` (``None`` = 1) and ``spike_sinks`` (cause -> coefficient).
    With the ALIF threshold as a path (:func:`.rules.threshold_path`) also ``to_b``, the share sent
    to :math:`b[t-1]`, and ``B``, the :class:`NodeFlux` of the :math:`b` nodes (edges decay, spike)."""

    U: NodeFlux
    I: NodeFlux
    passed: Tensor | None
    spike_sinks: dict
    spike_zero: Tensor | None = None
    to_b: Tensor | None = None
    B: NodeFlux | None = None


@dataclass
class Relevance:
    """What one layer's sweep leaves: :math:`R(U), R(I), R(S)`, ``(Ts, K, n)`` (``S`` may be ``None`` = 0),
    and :math:`R(b)` when the ALIF threshold is a path (else ``None``)."""

    U: Tensor
    I: Tensor
    S: Tensor | None
    B: Tensor | None = None


def layer_flux(graph: LayerGraph, rule: Rule, policy) -> LayerFlux:
    """Apply ``rule`` to the ``U``, ``I`` (and ``b``) nodes and ``policy`` to the ``S`` nodes of one layer."""
    u_edges = [graph.leak, graph.integration] + ([graph.reset] if graph.reset is not None else [])
    U, I = rule.node(u_edges), rule.node([graph.decay], graph.matrix)
    if graph.adaptation is not None:  # the ALIF threshold as a path: S[t] is a rule node over U[t-1], b[t-1]
        S = threshold_path(rule, policy, graph)
        B = rule.node([graph.adaptation.decay, graph.adaptation.spike])
        return LayerFlux(U, I, S.edges[0], S.sinks, S.zero, S.edges[1], B)
    passed, sink = policy.node(graph) if graph.spiking else (None, None)
    return LayerFlux(U, I, passed, {} if sink is None else {"threshold": sink})


def spread(rp: Tensor, rn: Tensor | None, source: Tensor, weight: Tensor, shared: bool) -> tuple[Tensor, Tensor]:
    r"""Flux through matrix edges :math:`z_{ni} = M_{ni} s_i`, split by the sign of :math:`z`.

    ``rp`` :math:`= k^+ R_n`, ``rn`` :math:`= k^- R_n` (``(Ts, K, n)``); ``source`` :math:`s` ``(Ts, Bk, m)``;
    ``weight`` :math:`M` ``(n, m)``. Returns the positive- and negative-channel flux to the sources,
    :math:`s_i^+ (r^+ M^+ + r^- M^-)_i + s_i^- (r^+ M^- + r^- M^+)_i` split into its :math:`z^\pm` parts.
    """
    (sp, sn), wp, wn = split(source), weight.clamp(min=0), weight.clamp(max=0)
    rn = rp if shared else rn
    pos = sp * (rp @ wp) + (sn * (rp @ wn) if sn is not None else 0)
    neg = (sp * (rn @ wn) + (sn * (rn @ wp) if sn is not None else 0)) if rn is not None else torch.zeros_like(pos)
    return pos, neg


def push(R: Tensor, node: NodeFlux, source: Tensor, weight: Tensor) -> Tensor:
    r"""Relevance sent down the synapses of a layer, :math:`F(I^l_j[t] \to S^{l-1}_i[t])` summed over ``j``.

    ``R`` :math:`R(I[t])` ``(Ts, K, n)``; ``source`` :math:`S^{l-1}[t]` ``(Ts, Bk, m)`` (spikes, >= 0).
    """
    if node.shared:  # LRP-0/ε: s_i Σ_j W_ji R_j / (z_j + ε sign z_j), one matrix product
        return source * ((R * node.kpos) @ weight)
    out = source * ((R * node.kpos) @ weight.clamp(min=0))
    if node.kneg is not None:
        out = out + source * ((R * node.kneg) @ weight.clamp(max=0))
    return out


def sweep(graph: LayerGraph, flux: LayerFlux, up: Tensor | None, inject: dict, cut: dict, K: int) -> Relevance:
    """One layer, backwards over time (module docstring). ``up``: :math:`R_\\uparrow(S)` ``(Ts, K, n)`` or ``None``;
    ``inject``/``cut``: step -> ``(K, n)`` added to :math:`R(U)`, resp. ``(K, 1)`` keep-mask of the carries."""
    Ts, _, n = graph.leak.shape
    c_leak, c_int = flux.U.edges[0].unbind(0), flux.U.edges[1].unbind(0)
    c_reset = flux.U.edges[2].unbind(0) if graph.reset is not None else None
    c_dec = flux.I.edges[0].unbind(0)
    V = graph.recurrent
    path = flux.B is not None  # ALIF threshold as a path: R(S[t]) also receives from b[t]
    in_loop = c_reset is not None or V is not None or path  # R(S[t]) needs R(U[t]), R(I[t]) or R(b[t]) of step t
    g = flux.passed.unbind(0) if (in_loop and flux.passed is not None) else None
    if in_loop:
        up_t = up.unbind(0) if up is not None else None
        rec = _recurrent_step(graph, flux.I) if V is not None else None
    else:  # R(S) is known for every step: its share g R(S) to U[t-1], all steps at once
        thr = None if up is None else (up if flux.passed is None else up * flux.passed)
        thr_t = thr.unbind(0) if thr is not None else None
    if path:  # R(b[t]) -> b[t-1] (decay), -> S[t] (own spike); R(S[t]) -> b[t-1]
        b_dec, b_spk, to_b = (c.unbind(0) for c in (flux.B.edges[0], flux.B.edges[1], flux.to_b))
    zeros = graph.leak.new_zeros(K, n)
    carry_U, carry_I, carry_B = zeros, zeros, zeros  # R(U[t]), R(I[t]), R(b[t]) received from slice t+1
    out_U, out_I, out_S, out_B = [], [], [], []
    for t in range(Ts - 1, -1, -1):
        RU = carry_U + inject[t] if t in inject else carry_U
        RI = torch.addcmul(carry_I, c_int[t], RU)  # + F(U[t] -> I[t])
        if in_loop:
            RS = up_t[t] if up_t is not None else zeros
            if c_reset is not None:
                RS = torch.addcmul(RS, c_reset[t], RU)  # + F(U[t] -> S[t]), reset edge
            if rec is not None:
                RS = RS + rec(t, RI)  # + F(I[t] -> S[t]), recurrent edges
            if path:
                RB = carry_B
                RS = torch.addcmul(RS, b_spk[t], RB)  # + F(b[t] -> S[t]), the neuron's own spike
                carry_B = torch.addcmul(b_dec[t] * RB, to_b[t], RS)  # F(b[t] -> b[t-1]) + F(S[t] -> b[t-1])
                out_B.append(RB)
            out_S.append(RS)
            to_prev = RS if g is None else RS * g[t]  # F(S[t] -> U[t-1])
        else:
            to_prev = thr_t[t] if thr_t is not None else None
        carry_U = torch.addcmul(to_prev, c_leak[t], RU) if to_prev is not None else c_leak[t] * RU
        carry_I = c_dec[t] * RI  # F(I[t] -> I[t-1])
        if t in cut:  # targets whose window starts at t: U[t-1], I[t-1] (b[t-1]) are boundary nodes
            carry_U, carry_I, carry_B = carry_U * cut[t], carry_I * cut[t], carry_B * cut[t]
        out_U.append(RU)
        out_I.append(RI)
    stack = lambda xs: torch.stack(xs[::-1])  # noqa: E731
    return Relevance(stack(out_U), stack(out_I), stack(out_S) if in_loop else up, stack(out_B) if path else None)


def _recurrent_step(graph: LayerGraph, node: NodeFlux):
    r"""``f(t, R(I[t]))``: flux through :math:`V`, :math:`S_i[t] \sum_j (k^+ V^+ + k^- V^-)_{ji} R_j` (``(K, n)``)."""
    V, S = graph.recurrent, graph.spikes.unbind(0)
    kp = node.kpos.unbind(0)
    if node.shared:
        return lambda t, RI: S[t] * ((RI * kp[t]) @ V)
    Vp, Vn = V.clamp(min=0), V.clamp(max=0)
    kn = node.kneg.unbind(0) if node.kneg is not None else None
    if kn is None:
        return lambda t, RI: S[t] * ((RI * kp[t]) @ Vp)
    return lambda t, RI: S[t] * ((RI * kp[t]) @ Vp + (RI * kn[t]) @ Vn)


def slice_sum(R: Tensor, coef: Tensor | None) -> Tensor:
    """:math:`\\sum_j c_j[t] R_j[t]` per slice and target: ``(Ts, K, n)``, ``(Ts, Bk, n)`` -> ``(Ts, K)``."""
    if coef is None:
        return R.sum(-1)
    if coef.shape[1] == 1:  # one graph for every target: a batched matrix-vector product
        return torch.bmm(R, coef.transpose(1, 2)).squeeze(-1)
    return torch.linalg.vecdot(R, coef)  # one graph column per target


def signed_sum(R: Tensor, coef: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    r""":math:`\sum_j c_j[t] R_j[t]` and its parts :math:`\sum_j (c_j R_j)^+`, :math:`\sum_j (c_j R_j)^-`, ``(Ts, K)`` each.

    The sign is that of the relevance an edge (or a sink) carries, edge by edge, so the two
    channels add to the net sum and neither hides cancellation inside a slice. One product and
    two reductions (the negative part is the net sum less the positive one).
    """
    if coef is None:
        net, pos = R.sum(-1), R.clamp(min=0).sum(-1)
        return net, pos, net - pos
    v = R * coef
    net = v.sum(-1)
    pos = v.clamp_(min=0).sum(-1)
    return net, pos, net - pos


class Book:
    r"""Per-slice accumulators over the span, ``(Ts, K)``: flux :math:`\Phi` (net and by sign), sinks by cause
    (net and by sign), zero-denominator counts and the mass :math:`\sum_{n \in t} |R_n|` of every slice."""

    def __init__(self, Ts: int, K: int, like: Tensor):
        new = lambda: like.new_zeros(Ts, K)  # noqa: E731
        self.flux, self.flux_pos, self.flux_neg, self.zero, self.mass = new(), new(), new(), new(), new()
        self.sinks: dict[str, Tensor] = {}
        self.sinks_pos: dict[str, Tensor] = {}
        self.sinks_neg: dict[str, Tensor] = {}

    def add_mass(self, R: Tensor | None):
        r"""Add :math:`\sum_n |R_n|` of ``R`` ``(Ts, K, n)`` to every slice."""
        if R is not None:
            self.mass += torch.linalg.vector_norm(R, 1, dim=2)

    def crossing(self, R: Tensor, coef: Tensor | None):
        """Book the flux :math:`c R` of one kind of edge from slice :math:`t` to :math:`t-1`."""
        net, pos, neg = signed_sum(R, coef)
        self.flux += net
        self.flux_pos += pos
        self.flux_neg += neg

    def sink(self, cause: str, R: Tensor, coef: Tensor):
        """Book the sink :math:`s R` of one kind of node under ``cause``, net and by sign."""
        net, pos, neg = signed_sum(R, coef)
        self.sinks[cause] = self.sinks.get(cause, 0) + net
        self.sinks_pos[cause] = self.sinks_pos.get(cause, 0) + pos
        self.sinks_neg[cause] = self.sinks_neg.get(cause, 0) + neg

    def node(self, node: NodeFlux, R: Tensor):
        """Book the sinks of one kind of node and count its zero denominators that carried relevance."""
        for cause, coef in node.sinks.items():
            self.sink(cause, R, coef)
        if node.zero is not None:
            self.zero += slice_sum((R != 0).to(R.dtype), node.zero.to(R.dtype))

    def layer(self, R: Relevance, f: LayerFlux):
        """Book one layer: crossing flux (leak, decay, spike edges, and the b edges of an ALIF path),
        the sinks of its nodes, their mass."""
        for Rn in (R.U, R.I, R.S, R.B):
            self.add_mass(Rn)
        self.crossing(R.U, f.U.edges[0])
        self.crossing(R.I, f.I.edges[0])
        if R.S is not None:
            self.crossing(R.S, f.passed)
            for cause, coef in f.spike_sinks.items():
                self.sink(cause, R.S, coef)
            if f.spike_zero is not None:
                self.zero += slice_sum((R.S != 0).to(R.S.dtype), f.spike_zero.to(R.S.dtype))
        if R.B is not None:
            self.crossing(R.B, f.B.edges[0])  # b[t] -> b[t-1]
            self.crossing(R.S, f.to_b)  # S[t] -> b[t-1]
            self.node(f.B, R.B)
        self.node(f.U, R.U)
        self.node(f.I, R.I)


def local_residuals(R: Relevance, f: LayerFlux, graph: LayerGraph) -> dict[str, Tensor]:
    r"""Local residuals :math:`r_n = R_n (1 - \sum_m c_m - s_n)` of one layer's nodes, ``(Ts, K, n)``."""
    def rest(node: NodeFlux, extra=0):
        return 1.0 - sum(node.edges) - extra - sum(node.sinks.values(), torch.zeros_like(node.edges[0]))

    out = {"U": R.U * rest(f.U), "I": R.I * rest(f.I, f.I.matrix_share(graph.matrix))}
    if R.S is not None:
        g = 1.0 if f.passed is None else f.passed
        gb = 0.0 if f.to_b is None else f.to_b
        s = sum(f.spike_sinks.values(), 0.0)
        out["S"] = R.S * (1.0 - g - gb - s)
    if R.B is not None:
        out["B"] = R.B * rest(f.B)
    return out


def initial_relevance(logits: Tensor, target: Tensor, init: str) -> Tensor:
    r""":math:`R_\text{init}` ``(K,)`` from the readout :math:`U^L[t^*]` ``(K, n_out)``: logit, probability or one."""
    return initial_injection(logits, target, init).sum(-1)


def initial_injection(logits: Tensor, target: Tensor, init: str, readout: Tensor | None = None) -> Tensor:
    r"""``(K, n_out)``: the relevance put on every output node :math:`U^L_j[t^*]` at the start.

    Without ``readout``, :math:`R_\text{init}` (logit, probability or one) sits on the target
    class alone. With a readout ``w`` ``(K, n_out)`` (a contrast, :func:`spikeflux.explain.readout_weights`)
    the explained quantity is :math:`\sum_j w_j U^L_j[t^*]` and node :math:`j` starts with
    :math:`w_j U^L_j[t^*]` (``init="logit"`` only): relevance of either sign enters at every
    output node that the contrast reads, and :math:`R_\text{init}` is their sum.
    """
    if readout is not None:
        if init != "logit":
            raise ValueError(f"init={init!r} explains one class; a contrast readout needs init='logit'")
        if readout.shape != logits.shape:
            raise ValueError(f"readout: expected shape {tuple(logits.shape)} (K, n_out), got {tuple(readout.shape)}")
        return readout.to(logits.dtype) * logits
    onehot = torch.zeros_like(logits)
    if init == "logit":
        return onehot.scatter_(1, target[:, None], logits.gather(1, target[:, None]))
    if init == "probability":
        return onehot.scatter_(1, target[:, None], torch.softmax(logits, -1).gather(1, target[:, None]))
    if init == "one":
        return onehot.scatter_(1, target[:, None], 1.0)
    raise ValueError(f"init must be one of {INITS}, got {init!r}")


def window_columns(values: Tensor, offset: Tensor, window: int) -> Tensor:
    """Per-target window of span-indexed values: ``(Ts, K, ...)`` -> ``(K, w, ...)``, row ``k`` from ``offset[k]``."""
    idx = offset[:, None] + torch.arange(window, device=values.device)  # (K, w)
    v = values.transpose(0, 1)  # (K, Ts, ...)
    idx = idx.view(*idx.shape, *([1] * (v.dim() - 2))).expand(-1, -1, *v.shape[2:])
    return v.gather(1, idx)


#: Memory budget (bytes) of one sweep; :func:`transport` splits larger batches into chunks of targets.
SWEEP_BYTES = 2 ** 30

#: Values a sweep holds per row, step and neuron (peak memory measured on the ADL-sized network,
#: rounded up to the worst case: αβ, ``excess`` policy, subtract reset, recurrent, ALIF): the graph
#: and its coefficients, per neuron of every layer (inputs included; only for one graph per row),
#: and the relevance of the layer being swept, per neuron of the widest layer.
_GRAPH_PER_NEURON_STEP, _RELEVANCE_PER_NEURON_STEP = 12, 8


def rows_per_sweep(net: LIFNetwork, span: int, shared: bool) -> int:
    """Targets per sweep that keep its memory under :data:`SWEEP_BYTES` (``shared``: one graph for all)."""
    per_neuron = _RELEVANCE_PER_NEURON_STEP * max(net.sizes)
    if not shared:
        per_neuron += _GRAPH_PER_NEURON_STEP * sum(net.sizes)
    return rows_within(SWEEP_BYTES, span * per_neuron, net.dtype)


def record_rows(record: Record, rows: slice) -> Record:
    """The rows ``rows`` of a recorded batch (every recorded quantity of every layer)."""
    return Record(*([v[rows] for v in vs] for vs in (record.spikes, record.syn, record.mem, record.theta)))


def in_sweeps(sweep_rows, K: int, span: int, net: LIFNetwork, shared: bool):
    """``sweep_rows(rows) -> (attribution, ledger)`` over chunks of the ``K`` targets that fit :data:`SWEEP_BYTES`
    (:func:`rows_per_sweep`), joined into one map and one ledger (one chunk: its result as it is)."""

    def join(parts):
        if len(parts) == 1:
            return parts[0]
        return torch.cat([a for a, _ in parts]), _ledger.concat([led for _, led in parts])

    return map_chunks(sweep_rows, K, rows_per_sweep(net, span, shared), join)


def sweep_layers(net: LIFNetwork, graphs: list, flux_of, inject: dict, cut: dict, K: int, book: "Book",
                 node_residuals: bool, node_relevance: bool) -> tuple[tuple[Tensor, Tensor], dict, dict]:
    """The backward sweep of every layer, last to first, booked in ``book``: relevance enters the output
    layer by ``inject``, goes down the synapses (:func:`push`) and is absorbed by the inputs (:func:`_absorb`).

    ``flux_of(l, graph)`` gives the :class:`LayerFlux` of layer ``l`` (a transport rule's, or DeepLIFT's).
    Returns the input channels ``(pos, neg)`` (``(Ts, K, n_in)`` each), the node residuals and the node
    relevance (``{"U1": ..., ...}``, empty unless asked for).
    """
    up, residuals, relevance = None, {}, {}
    for l in range(net.n_layers - 1, -1, -1):
        graph = graphs[l]
        flux = flux_of(l, graph)
        R = sweep(graph, flux, up, inject if l == net.n_layers - 1 else {}, cut, K)
        book.layer(R, flux)
        if node_residuals:
            residuals.update({f"{k}{l + 1}": v for k, v in local_residuals(R, flux, graph).items()})
        if node_relevance:
            relevance.update({f"{k}{l + 1}": v for k, v in (("U", R.U), ("I", R.I), ("S", R.S), ("B", R.B))
                              if v is not None})
        if l > 0:
            up = push(R.I, flux.I, graph.source, graph.weight)
        else:
            channels = _absorb(R.I, flux.I, graph.source, graph.weight)
        del R
    return channels, residuals, relevance


@torch.no_grad()
def transport(
    net: LIFNetwork,
    record: Record,
    t,
    target,
    window: int,
    rule: str | Rule = "epsilon",
    threshold_policy: str = "pass",
    init: str = "logit",
    node_residuals: bool = False,
    node_relevance: bool = False,
    readout: Tensor | None = None,
    threshold_path: bool = False,
    **rule_params,
) -> tuple[Tensor, _ledger.Ledger]:
    r"""Explain ``K`` targets, of one recorded sequence or of ``K`` recorded sequences, in one sweep.

    Parameters
    ----------
    net : LIFNetwork
    record : Record
        ``net(x, record=True).record`` with :math:`T > \max t^*`: batch 1 (``x[None]``, one sequence
        whose ``K`` targets share the sweep) or batch ``K`` (one sequence per target: target ``k``
        explains row ``k``).
    t, target : sequence of int or Tensor
        The explained steps :math:`t^*_k` and classes :math:`c_k`, ``(K,)``.
    window : int
        Steps per window, ending at :math:`t^*_k`: :math:`t_0 = t^* - w + 1 \ge 0`.
    rule : str or Rule
        A name in :data:`.rules.RULES` (``"epsilon"`` with ``epsilon=``, ``"0"``, ``"zplus"``, ``"alphabeta"``
        with ``alpha=``, ``beta=``, ``empty_side=``; ``rule_params`` are its options) or a :class:`.rules.Rule`.
    threshold_policy : {"pass", "excess"}
    init : {"logit", "probability", "one"}
        :math:`R_\text{init}` at :math:`U^L_c[t^*]`.
    readout : Tensor or None
        ``(K, n_out)`` weights :math:`w` of a contrast: the explained quantity is
        :math:`\sum_j w_j U^L_j[t^*]`, injected as :math:`w_j U^L_j[t^*]` at each output node
        (``init="logit"``; see :func:`initial_injection`). ``None``: the target's logit alone.
    threshold_path : bool
        ALIF only: the adaptive threshold :math:`b^l[t] = \rho b^l[t-1] + \gamma S^l[t]` is a node and
        the spike node splits :math:`R(S[t])` over :math:`U[t-1]` and :math:`-b[t-1]`
        (:func:`.rules.threshold_path`); ``False`` (default): :math:`\theta[t-1]` is a gate.
    node_residuals : bool
        Also return every node's local residual (memory: ``3 K w n`` per layer).
    node_relevance : bool
        Also return every node's relevance :math:`R_n` (keys ``"U1"``, ``"I1"``, ``"S1"``, ...,
        ``(K, w, n_l)`` each): edge fluxes follow as :math:`F(n \to m) = c_m R_n`.

    Notes
    -----
    Memory is a few ``(Ts, K, n)`` relevance tensors per layer at a time (``Ts`` the span of the
    windows), plus the graph: ``(Ts, n)`` tensors of every layer for one sequence, ``(Ts, K, n)`` for
    ``K`` sequences; at most about 8 values per step, target and neuron of the widest layer for the
    relevance and 12 per step, sequence and neuron of every layer for the graph (measured, see
    :func:`rows_per_sweep`). Batches that would exceed :data:`SWEEP_BYTES` are split into chunks of
    targets, each swept on its own (a target's numbers do not depend on the others'): e.g. 48
    sequences of 1200 steps of the ADL-sized float64 network a chunk (2000 such sequences: 2 GiB
    peak in ``explain``, record included), or 93 targets of one 3600-step float32 sequence.

    Returns
    -------
    attribution : Tensor
        :math:`A_i[t]`, ``(K, n_in, w)``, column ``w-1`` is :math:`t^*`.
    ledger : Ledger

    Raises
    ------
    ValueError
        Unknown rule, policy or init, bad rule parameters, windows outside the record, a record
        batch that is neither 1 nor ``K``.
    FloatingPointError
        When relevance overflows (αβ with ``alpha`` > 1 over long windows, see :class:`.rules.AlphaBeta`);
        zero and subnormal denominators never produce NaN, they are booked.
    """
    rule, policy = get_rule(rule, **rule_params), get_policy(threshold_policy)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    B, T = record.spikes[0].shape[:2]
    steps = [int(s) for s in torch.as_tensor(t).reshape(-1).tolist()]
    target = torch.as_tensor(target, device=record.spikes[0].device).reshape(-1).long()
    window, K = int(window), len(steps)
    starts = [s - window + 1 for s in steps]
    if K == 0 or target.numel() != K:
        raise ValueError(f"target: need one class per step, got {target.numel()} for {K} steps")
    if window < 1 or min(starts) < 0 or max(steps) >= T:
        raise ValueError(f"window={window}: every window [t-w+1, t] must lie in 0..{T - 1}")
    if B not in (1, K):
        raise ValueError(f"record: batch {B} must be 1 (the {K} targets share one sequence) "
                         f"or {K} (target k explains row k)")
    if readout is not None:
        readout = torch.as_tensor(readout, device=target.device)
        if readout.shape != (K, net.sizes[-1]):
            raise ValueError(f"readout: expected shape ({K}, {net.sizes[-1]}) (targets, outputs), got {tuple(readout.shape)}")
        if init != "logit":
            raise ValueError(f"init={init!r} explains one class; a contrast readout needs init='logit'")
    if not isinstance(threshold_path, bool):
        raise ValueError(f"threshold_path must be True or False, got {threshold_path!r}")
    options = dict(rule=rule, policy=policy, init=init, node_residuals=node_residuals, node_relevance=node_relevance,
                   threshold_path=threshold_path)

    def sweep_rows(rows: slice):
        part = record if B == 1 else record_rows(record, rows)
        return _transport(net, part, steps[rows], target[rows], window,
                          readout=None if readout is None else readout[rows], **options)

    return in_sweeps(sweep_rows, K, max(steps) + 1 - min(starts), net, shared=B == 1)


def _transport(net, record, steps, target, window, rule, policy, init, node_residuals, node_relevance, readout=None,
               threshold_path=False):
    """:func:`transport` of validated arguments in one sweep."""
    x = record.spikes[0]
    K, batched = len(steps), x.shape[0] > 1
    starts = [s - window + 1 for s in steps]
    start, stop = min(starts), max(steps) + 1
    graphs = decompose(net, record, start, stop, batched=True, threshold_path=threshold_path)  # (Ts, Bk, n), Bk = 1 or K
    rows = torch.arange(K, device=x.device) if batched else torch.zeros(K, dtype=torch.long, device=x.device)
    start_nodes = initial_injection(record.mem[-1][rows, torch.tensor(steps, device=x.device)], target, init, readout)
    r_init = start_nodes.sum(-1)
    inject, cut = _injections(steps, starts, start, start_nodes)

    book = Book(stop - start, K, x)
    channels, residuals, relevance = sweep_layers(net, graphs, lambda l, graph: layer_flux(graph, rule, policy), inject,
                                                  cut, K, book, node_residuals, node_relevance)
    attribution, ledger = _finish(book, channels, residuals, rule, policy, init, r_init, steps, starts, start,
                                  window, target, relevance, start_nodes)
    if not bool(torch.isfinite(ledger.relevance_mass).all()):  # Σ|R_n| is finite iff every R_n is
        raise FloatingPointError(
            f"relevance overflowed to inf/NaN in {x.dtype} with rule {rule.name} {rule.params} over a "
            f"{window}-step window; αβ with alpha > 1 multiplies relevance by alpha at every node without negative "
            f"contributions (e.g. synaptic decay through input silence): use a shorter window, "
            f"empty_side='fallback', z⁺ or ε")
    return attribution, ledger


def _injections(steps, starts, start, start_nodes):
    """``inject``: span step -> ``(K, n_out)`` start relevance of the output nodes (:func:`initial_injection`);
    ``cut``: span step -> ``(K, 1)`` keep-mask (0 for targets whose window starts there)."""
    device, dtype = start_nodes.device, start_nodes.dtype
    t_star, t0 = torch.tensor(steps, device=device), torch.tensor(starts, device=device)
    inject = {s - start: start_nodes * (t_star == s)[:, None].to(dtype) for s in set(steps)}
    cut = {s - start: (t0 != s)[:, None].to(dtype) for s in set(starts) if s > start}
    return inject, cut


def _absorb(R: Tensor, node: NodeFlux, x: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    r"""Input absorption :math:`A_i[t] = R(x_i[t])` by channel: flux through :math:`z^+`, :math:`z^-`; ``(Ts, K, n_in)`` each."""
    rp = R * node.kpos
    rn = R * node.kneg if (node.kneg is not None and not node.shared) else None
    return spread(rp, rn, x, weight, node.shared)


def _finish(book, channels, residuals, rule, policy, init, r_init, steps, starts, start, window, target,
            relevance=None, start_nodes=None):
    """Gather every target's window out of the span and build the ledger (``start_nodes``: the ``(K, n_out)``
    injection, whose signs start the signed channels)."""
    device = r_init.device
    offset = torch.tensor(starts, device=device) - start
    cols = lambda v: window_columns(v, offset, window)  # noqa: E731
    pos, neg = cols(channels[0]), cols(channels[1])  # (K, w, n_in)
    attribution = (pos + neg).transpose(1, 2)  # (K, n_in, w)
    node_res = {k: cols(v) for k, v in residuals.items()} if residuals else None
    node_rel = {k: cols(v) for k, v in relevance.items()} if relevance else None
    if start_nodes is None:
        start_nodes = r_init[:, None]
    return attribution, _ledger.build(
        rule=rule, policy=policy, init=init, r_init=r_init,
        absorption=attribution.sum(1), flux=cols(book.flux),
        sinks_by_cause={c: cols(v) for c, v in book.sinks.items()},
        channels=(pos.sum((1, 2)), neg.sum((1, 2))), attribution=attribution,
        zero_count=cols(book.zero).sum(1).round().long(),
        t=torch.tensor(steps, device=device), t0=torch.tensor(starts, device=device), target=target,
        node_residuals=node_res, node_relevance=node_rel,
        mass=cols(book.mass) + attribution.abs().sum(1),  # Σ_{n in t} |R_n|, inputs included
        flux_signed=(cols(book.flux_pos), cols(book.flux_neg)),
        sinks_signed=({c: cols(v) for c, v in book.sinks_pos.items()}, {c: cols(v) for c, v in book.sinks_neg.items()}),
        init_signed=(start_nodes.clamp(min=0).sum(-1), start_nodes.clamp(max=0).sum(-1)),
    )
