r"""The relevance ledger and the discrete continuity equation, ``spec/transport.md`` §4.

Nodes are grouped by time slice :math:`t` of the window :math:`[t_0, t^*]`:

- :math:`\Phi[t]`: the flux on the edges crossing from slice :math:`t` to :math:`t-1`
  (leak :math:`U[t] \to U[t-1]`, synaptic decay :math:`I[t] \to I[t-1]`, spike edges
  :math:`S[t] \to U[t-1]`, every layer);
- :math:`A[t] = \sum_i A_i[t]`: the relevance absorbed by the inputs;
- :math:`\sigma[t]`: the sinks booked at nodes of slice :math:`t`, by cause
  (``stabilizer``, ``zero_denominator``, ``threshold``, ``empty_side``).

.. math::

    \Phi[t+1] - \Phi[t] = A[t] + \sigma[t], \quad \Phi[t^*+1] := R_\text{init}, \qquad
    R_\text{init} = \sum_t A[t] + \sum_t \sigma[t] + \Phi[t_0]

:math:`\Phi[t_0]`, the relevance reaching :math:`I[t_0-1]`, :math:`U[t_0-1]`, is the
``boundary`` sink; it is not part of :math:`\sigma`.

**Signed channels** (``spec/transport.md`` §6). Only net relevance is conserved: a node can
receive large amounts of both signs that cancel. Every flux, absorption and sink is therefore
also booked by the sign of the relevance it carries, edge by edge (:math:`\Phi^\pm[t]`),
input node by input node (:math:`A^\pm[t] = \sum_i A_i[t]^\pm`) and node by node and cause
(:math:`\sigma^\pm[t]`), with the mass :math:`M[t] = \sum_{n \in t} |R_n|` of every slice. The
net quantities are the sums of the two channels; each channel balances on its own only where
no node mixes signs, and what it does not balance is the sign exchange
:math:`\chi[t] = \Phi^+[t+1] - \Phi^+[t] - A^+[t] - \sigma^+[t]` (with
:math:`\Phi^+[t^*+1] := R^+_\text{init}`, the positive part of the injection): positive relevance
turned negative inside slice :math:`t`, net of the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
from torch import Tensor

from .rules import SINK_CAUSES


@dataclass
class Ledger:
    r"""Where the initial relevance went, for ``K`` explained targets (window ``w``).

    The targets are ``K`` steps of one sequence or one step of each of ``K`` sequences; the
    ledger of a batch split into chunks is one ledger again (:func:`concat`).

    Per-target fields have a leading ``K`` axis (``(K,)`` scalars, ``(K, w)`` slices, column
    ``w-1`` being :math:`t^*`); :meth:`squeeze` drops it for a single target (0-d tensors).

    Attributes
    ----------
    rule, params, threshold_policy, init : str, dict, str, str
        The rule and its parameters, the threshold policy, and what :math:`R_\text{init}` is
        (``"logit"`` :math:`U^L_c[t^*]`, ``"probability"`` :math:`\mathrm{softmax}(U^L[t^*])_c`, ``"one"``).
    relevance_init : Tensor
        :math:`R_\text{init}`, ``(K,)``.
    sinks : dict of str to Tensor
        Total sink by cause (all of :data:`~.rules.SINK_CAUSES`, ``boundary`` :math:`= \Phi[t_0]`), ``(K,)``.
    absorbed : Tensor
        :math:`\sum_t A[t]`, ``(K,)``.
    flux, absorption, sink_slices : Tensor
        :math:`\Phi[t]`, :math:`A[t]`, :math:`\sigma[t]` for :math:`t = t_0..t^*`, ``(K, w)``.
    sink_slices_by_cause : dict of str to Tensor
        :math:`\sigma[t]` by cause (``boundary`` excluded), ``(K, w)``.
    continuity_residual : Tensor
        :math:`\Phi[t+1] - \Phi[t] - A[t] - \sigma[t]`, ``(K, w)``.
    global_residual, global_residual_relative : Tensor
        :math:`R_\text{init} - \sum A - \sum \sigma - \Phi[t_0]` and its ratio to
        :math:`|R_\text{init}|` (guarded: 0 when both are 0), ``(K,)``.
    attribution_positive, attribution_negative : Tensor
        :math:`\sum_{i,t} A_i[t]^+` and :math:`\sum_{i,t} A_i[t]^-`, ``(K,)``.
    channel_positive, channel_negative : Tensor
        The absorbed relevance that reached the inputs through their positive, resp. negative,
        contributions :math:`z = W_{ji} x_i[t]` (the α and β channels of αβ), ``(K,)``.
    zero_denominators : Tensor
        Number of nodes with a zero denominator that carried relevance (booked, never NaN), ``(K,)``.
    relevance_mass : Tensor
        :math:`\sum_n |R_n|` over every node of the window (inputs included), ``(K,)``: the scale
        of round-off in the balances (αβ, or LRP-0 near zero denominators, can move far more than
        :math:`|R_\text{init}|` in cancelling positive and negative parts).
    t, t0, target : Tensor
        The explained steps :math:`t^*`, window starts :math:`t_0`, classes, ``(K,)``.
    node_residuals : dict or None
        On request: per layer ``l`` (1-based) and node type, the local residual
        :math:`r_n = R_n - \sum_m F(n \to m) - \text{sink}_n`, keys ``"U1"``, ``"I1"``, ``"S1"``, ...,
        each ``(K, w, n_l)``.
    node_relevance : dict or None
        On request: every node's relevance :math:`R_n`, same keys and shapes as ``node_residuals``
        (``"B1"``, ... for the ALIF threshold nodes under ``threshold_path=True``).
    flux_pos, flux_neg : Tensor
        :math:`\Phi^+[t]`, :math:`\Phi^-[t]`: the crossing flux carried by edges of positive, resp.
        negative, flux (``flux_pos + flux_neg = flux``), ``(K, w)``.
    absorbed_pos, absorbed_neg : Tensor
        :math:`A^+[t] = \sum_i A_i[t]^+`, :math:`A^-[t] = \sum_i A_i[t]^-` (``absorbed_pos + absorbed_neg = absorption``), ``(K, w)``.
    sink_slices_pos, sink_slices_neg : Tensor
        :math:`\sigma^\pm[t]`: node sinks of either sign, all causes but ``boundary``, ``(K, w)``.
    sinks_pos, sinks_neg : dict of str to Tensor
        Total sink by cause and sign (``boundary`` :math:`= \Phi^\pm[t_0]`), ``(K,)``.
    init_pos, init_neg : Tensor
        :math:`R^\pm_\text{init}`, the injection's positive and negative parts (a contrast starts
        with both), ``(K,)``.
    mass : Tensor
        :math:`M[t] = \sum_{n \in t} |R_n|`, every node of slice :math:`t`, inputs included, ``(K, w)``;
        ``relevance_mass`` is its sum.
    sign_exchange : Tensor
        :math:`\chi[t] = \Phi^+[t+1] - \Phi^+[t] - A^+[t] - \sigma^+[t]`, ``(K, w)``; the negative
        channel's mismatch is :math:`-\chi[t]` plus the net continuity residual.
    """

    rule: str
    params: dict
    threshold_policy: str
    init: str
    relevance_init: Tensor
    sinks: dict[str, Tensor]
    absorbed: Tensor
    flux: Tensor
    absorption: Tensor
    sink_slices: Tensor
    sink_slices_by_cause: dict[str, Tensor]
    continuity_residual: Tensor
    global_residual: Tensor
    global_residual_relative: Tensor
    attribution_positive: Tensor
    attribution_negative: Tensor
    channel_positive: Tensor
    channel_negative: Tensor
    zero_denominators: Tensor
    relevance_mass: Tensor
    t: Tensor
    t0: Tensor
    target: Tensor
    node_residuals: dict | None = field(default=None)
    node_relevance: dict | None = field(default=None)
    flux_pos: Tensor | None = field(default=None)
    flux_neg: Tensor | None = field(default=None)
    absorbed_pos: Tensor | None = field(default=None)
    absorbed_neg: Tensor | None = field(default=None)
    sink_slices_pos: Tensor | None = field(default=None)
    sink_slices_neg: Tensor | None = field(default=None)
    sinks_pos: dict | None = field(default=None)
    sinks_neg: dict | None = field(default=None)
    init_pos: Tensor | None = field(default=None)
    init_neg: Tensor | None = field(default=None)
    mass: Tensor | None = field(default=None)
    sign_exchange: Tensor | None = field(default=None)

    @property
    def amplification(self) -> Tensor:
        r""":math:`M / |R_\text{init}|` with :math:`M = \sum_t M[t]` (``relevance_mass``), ``(K,)`` (``inf`` where
        :math:`R_\text{init} = 0`): how many times the explained quantity the transport moves, every node
        of every slice counted (a window of ``w`` slices moves about ``w`` times what crosses each)."""
        return self.relevance_mass / self.relevance_init.abs()

    @property
    def cancelled(self) -> Tensor:
        r"""Share of the crossing flux that cancels, :math:`1 - \sum_t |\Phi[t]| / \sum_t (\Phi^+[t] - \Phi^-[t])`,
        ``(K,)``: 0 when every edge of a slice carries one sign, near 1 when both channels are large and opposite
        (0 where nothing crosses)."""
        gross = (self.flux_pos - self.flux_neg).sum(-1)
        return torch.where(gross > 0, 1.0 - self.flux.abs().sum(-1) / gross.clamp(min=torch.finfo(gross.dtype).tiny),
                           0.0)

    def reach_profile(self, quantity: Tensor | None = None):
        r"""How far back relevance reaches: :math:`|\Phi[t]| / |R_\text{init}|` (or ``quantity``, a per-slice
        ``(K, w)`` tensor such as ``mass``, over :math:`|R_\text{init}|`), mean over the targets with a non-zero
        :math:`R_\text{init}`, by lag :math:`t^* - t`: a numpy array ``(w,)``, lag 1 (:math:`t = t^*`) first."""
        r = self.relevance_init.reshape(-1)
        v = (self.flux.abs() if quantity is None else quantity).reshape(r.shape[0], -1)
        live = r != 0
        return (v[live] / r[live].abs()[:, None]).mean(0).numpy()[::-1]

    @property
    def sink_total(self) -> Tensor:
        """All sinks, boundary included, ``(K,)``: :math:`R_\\text{init} = \\sum A + ` this (+ residual)."""
        return sum(self.sinks.values())

    def squeeze(self) -> "Ledger":
        """The ledger of a single target (``K = 1``) without the leading axis."""
        def drop(v):
            if isinstance(v, Tensor):
                return v[0]
            if isinstance(v, dict) and v and all(isinstance(u, Tensor) for u in v.values()):
                return {k: u[0] for k, u in v.items()}
            return v

        return Ledger(**{f.name: drop(getattr(self, f.name)) for f in fields(self)})


def concat(ledgers: list[Ledger]) -> Ledger:
    """One :class:`Ledger` of the targets of several (chunks of targets swept apart), in order.

    Per-target tensors (and dicts of them) are concatenated along the target axis; the rule,
    its parameters, the policy and ``init`` are the same in every part and kept once.
    """
    def cat(values):
        first = values[0]
        if isinstance(first, Tensor):
            return torch.cat(values)
        if isinstance(first, dict) and first and all(isinstance(v, Tensor) for v in first.values()):
            return {k: torch.cat([v[k] for v in values]) for k in first}
        return first

    return Ledger(**{f.name: cat([getattr(led, f.name) for led in ledgers]) for f in fields(Ledger)})


def build(
    *, rule, policy, init, r_init, absorption, flux, sinks_by_cause, channels, attribution,
    zero_count, t, t0, target, mass, node_residuals=None, node_relevance=None,
    flux_signed=None, sinks_signed=None, init_signed=None,
) -> Ledger:
    r"""Assemble a :class:`Ledger` from the window slices (``(K, w)`` each) and per-target totals.

    ``sinks_by_cause`` maps each non-boundary cause to :math:`\sigma[t]`; ``channels`` is
    ``(positive, negative)`` absorbed totals; ``attribution`` is ``(K, n_in, w)``; ``mass`` is
    :math:`M[t]` ``(K, w)``. ``flux_signed`` ``(Φ⁺, Φ⁻)``, ``sinks_signed`` (two dicts cause ->
    :math:`\sigma^\pm[t]`) and ``init_signed`` ``(R⁺_init, R⁻_init)`` give the signed channels;
    without them the flux and sinks are booked as one-signed (exact only when nothing mixes).
    """
    zeros = torch.zeros_like(flux)
    by_cause = {c: sinks_by_cause.get(c, zeros) for c in SINK_CAUSES if c != "boundary"}
    sigma = sum(by_cause.values())  # σ[t]
    boundary = flux[:, 0]  # Φ[t0]: what reached I[t0-1], U[t0-1]
    sinks = {c: (by_cause[c].sum(1) if c != "boundary" else boundary) for c in SINK_CAUSES}
    absorbed = absorption.sum(1)
    residual = r_init - absorbed - sigma.sum(1) - boundary  # R_init = Σ A + Σ σ + Φ[t0]
    phi_next = torch.cat([flux[:, 1:], r_init[:, None]], 1)  # Φ[t+1], Φ[t*+1] := R_init
    continuity = phi_next - flux - absorption - sigma
    scale = r_init.abs().clamp(min=torch.finfo(r_init.dtype).tiny)
    if flux_signed is None:
        flux_signed = (flux.clamp(min=0), flux.clamp(max=0))
    if sinks_signed is None:
        sinks_signed = ({c: v.clamp(min=0) for c, v in by_cause.items()}, {c: v.clamp(max=0) for c, v in by_cause.items()})
    if init_signed is None:
        init_signed = (r_init.clamp(min=0), r_init.clamp(max=0))
    signed = []
    for k, (phi, sk) in enumerate(zip(flux_signed, sinks_signed)):
        per_cause = {c: sk.get(c, zeros) for c in by_cause}
        totals = {c: (per_cause[c].sum(1) if c != "boundary" else phi[:, 0]) for c in SINK_CAUSES}
        signed.append((phi, sum(per_cause.values()), totals))
    (phi_p, sig_p, tot_p), (phi_n, sig_n, tot_n) = signed
    absorbed_pos, absorbed_neg = attribution.clamp(min=0).sum(1), attribution.clamp(max=0).sum(1)  # A±[t]
    exchange = torch.cat([phi_p[:, 1:], init_signed[0][:, None]], 1) - phi_p - absorbed_pos - sig_p  # χ[t]
    return Ledger(
        rule=rule.name, params=rule.params, threshold_policy=policy.name, init=init,
        relevance_init=r_init, sinks=sinks, absorbed=absorbed, flux=flux, absorption=absorption,
        sink_slices=sigma, sink_slices_by_cause=by_cause, continuity_residual=continuity,
        global_residual=residual, global_residual_relative=residual.abs() / scale,
        attribution_positive=attribution.clamp(min=0).sum((1, 2)),
        attribution_negative=attribution.clamp(max=0).sum((1, 2)),
        channel_positive=channels[0], channel_negative=channels[1],
        zero_denominators=zero_count, relevance_mass=mass.sum(1), t=t, t0=t0, target=target,
        node_residuals=node_residuals, node_relevance=node_relevance,
        flux_pos=phi_p, flux_neg=phi_n, absorbed_pos=absorbed_pos, absorbed_neg=absorbed_neg,
        sink_slices_pos=sig_p, sink_slices_neg=sig_n, sinks_pos=tot_p, sinks_neg=tot_n,
        init_pos=init_signed[0], init_neg=init_signed[1], mass=mass, sign_exchange=exchange,
    )
