r"""The unrolled LIF graph, ``spec/transport.md`` §2: every node value as a sum of in-edge contributions.

For one layer :math:`l` and every step :math:`t` of a span, :func:`decompose` reads the
recorded forward pass and writes down the contribution :math:`z` of each in-edge:

======================================  ============================================  =====================
edge (forward)                          contribution :math:`z`                        kind
======================================  ============================================  =====================
:math:`U[t-1] \to U[t]`                 :math:`(1-S[t])\,\beta U[t-1]`                temporal (leak)
:math:`I[t] \to U[t]`                   :math:`(1-S[t])\,I[t]`                        integration
:math:`S[t] \to U[t]` (subtract reset)  :math:`-\theta[t-1]\,S[t]`                   reset, negative
:math:`I[t-1] \to I[t]`                 :math:`\alpha I[t-1]`                         temporal (decay)
:math:`S^{l-1}_i[t] \to I^l_j[t]`       :math:`W_{ji} S^{l-1}_i[t]`                   spatial (synapse)
:math:`S^l_i[t] \to I^l_j[t]`           :math:`V_{ji} S^l_i[t]`                       spatial (recurrent)
:math:`U[t-1] \to S[t]`                 threshold node (see :mod:`.rules`)            threshold
======================================  ============================================  =====================

The gate :math:`(1-S[t])` of the hard reset is 1 under ``reset="subtract"`` and for a
``readout="leaky"`` output layer (which never spikes). It is held constant, as LSTM-LRP
holds its gates: a node that was reset has value 0 and passes no relevance. A spiking
output layer has spike nodes :math:`S^L[t]` too: under the zero reset they only gate
(no out-edge carries relevance), under the subtract reset the reset edge
:math:`S^L[t] \to U^L[t]` sends (negative) relevance back through the threshold node to
:math:`U^L[t-1]`, as in hidden layers.

**Adaptive threshold (ALIF).** By default :math:`\theta[t-1] = \theta + b[t-1]` is held as a
*gate*, like the reset gate: the spike :math:`S[t] = H(U[t-1] - \theta[t-1])` is a threshold
node with the single in-edge from the membrane (spec §2), and :math:`\theta[t-1]` only sets
*which* neurons spike, how much the subtract reset removes (:math:`-\theta[t-1] S[t]`) and,
for the ``excess`` policy, the threshold share :math:`\theta[t-1]/U[t-1]`. This deletes a
path, it does not merely re-route one: :math:`b[t] = \rho\, b[t-1] + \gamma S[t]` integrates
the neuron's own spikes over :math:`\tau_a/\Delta t` steps (:math:`\rho = e^{-\Delta t/\tau_a}`),
while relevance on the membrane path loses a factor :math:`\beta` per step and stops at every
hard reset; and :math:`b` enters the spike with a negative sign (an inhibitory memory of
past firing), which the membrane path cannot carry.

With ``threshold_path=True`` (:func:`decompose`) :math:`b` is a node: in-edges
:math:`\rho\, b[t-1]` (temporal, :math:`b[t-1] \to b[t]`) and :math:`\gamma S[t]` (the
neuron's own spike, :math:`S[t] \to b[t]`, inside the step), and the threshold node reads
:math:`v = U[t-1] - \theta - b[t-1]` as a sum of contributions :math:`U[t-1]`,
:math:`-b[t-1]` and the constant :math:`-\theta` (:func:`.rules.threshold_path`). The subtract
reset's edge keeps :math:`\theta[t-1]` as a gate.

Shapes: ``Ts`` steps of the span, ``n`` neurons of the layer, ``m`` of the layer below.
:func:`decompose` of a batch-1 record gives ``(Ts, n)`` tensors; with ``batched=True`` every
tensor is time-major ``(Ts, B, n)``, one column per recorded sequence (``B = 1`` for the
``K`` targets of one sequence, ``B = K`` for one target per sequence): the rules and the
engine broadcast these coefficients against relevance ``(Ts, K, n)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from ..snn import LIFNetwork, Record


@dataclass
class MatrixEdges:
    r"""The spatial in-edges of the synaptic nodes :math:`I^l_j[t]`: :math:`z_{ji} = M_{ji}\, s_i[t]`.

    Parameters
    ----------
    pairs : list of (Tensor, Tensor)
        ``(source, weight)``: source values :math:`s[t]` ``(Ts, m)`` or ``(Ts, B, m)`` and matrix ``(n, m)``
        (the synapse :math:`W^l` from :math:`S^{l-1}`, the recurrent :math:`V^l` from :math:`S^l`).
    """

    pairs: list[tuple[Tensor, Tensor]]

    @cached_property
    def total(self) -> Tensor:
        r""":math:`\sum_i z_{ji}[t]`, shape ``(Ts, n)`` (``(Ts, B, n)`` for batched sources)."""
        return sum(s @ w.T for s, w in self.pairs)

    @cached_property
    def parts(self) -> tuple[Tensor, Tensor]:
        r"""``(Z⁺, Z⁻)``: :math:`\sum_i z_{ji}^+` and :math:`\sum_i z_{ji}^-`, each ``(Ts, n)``.

        :math:`(w s)^+ = w^+ s^+ + w^- s^-` and :math:`(w s)^- = w^- s^+ + w^+ s^-`.
        """
        pos, neg = 0, 0
        for s, w in self.pairs:
            (sp, sn), wp, wn = split(s), w.clamp(min=0), w.clamp(max=0)
            pos = pos + sp @ wp.T + (sn @ wn.T if sn is not None else 0)
            neg = neg + sp @ wn.T + (sn @ wp.T if sn is not None else 0)
        return pos, neg


def split(v: Tensor) -> tuple[Tensor, Tensor | None]:
    """``(v⁺, v⁻)``; ``v⁻`` is ``None`` when ``v`` has no negative entry (spikes, binary inputs)."""
    neg = v.clamp(max=0)
    return v.clamp(min=0), (neg if bool((v < 0).any()) else None)


@dataclass
class Adaptation:
    r"""The ALIF threshold as a path: nodes :math:`b[t] = \rho\, b[t-1] + \gamma S[t]`, ``(Ts, n)`` or ``(Ts, B, n)``.

    Attributes
    ----------
    decay : :math:`\rho\, b[t-1]`, edge :math:`b[t-1] \to b[t]` (temporal).
    spike : :math:`\gamma S[t]`, edge :math:`S[t] \to b[t]` (inside the step).
    prev : :math:`b[t-1]`, read by the threshold node :math:`S[t]` as the contribution :math:`-b[t-1]`.
    threshold : the constant :math:`\theta`, the contribution :math:`-\theta` of the threshold node.
    """

    decay: Tensor
    spike: Tensor
    prev: Tensor
    threshold: float


@dataclass
class LayerGraph:
    r"""One layer's nodes :math:`S^l[t], I^l[t], U^l[t]` for the steps of a span, as in-edge contributions.

    Attributes (all ``(Ts, n)``, or ``(Ts, B, n)`` when batched, unless said)
    ----------------------------------------
    leak : :math:`(1-S[t])\,\beta U[t-1]`, edge :math:`U[t-1] \to U[t]`.
    integration : :math:`(1-S[t])\,I[t]`, edge :math:`I[t] \to U[t]`.
    reset : :math:`-\theta[t-1] S[t]`, edge :math:`S[t] \to U[t]`; ``None`` under the zero reset.
    decay : :math:`\alpha I[t-1]`, edge :math:`I[t-1] \to I[t]`.
    matrix : :class:`MatrixEdges` of :math:`I[t]`: synapse :math:`W^l` (source ``(Ts, m)``) and recurrent :math:`V^l`.
    spikes : :math:`S^l[t]`.
    membrane_prev : :math:`U[t-1]`, the value read by the threshold node :math:`S[t]`.
    threshold_prev : :math:`\theta[t-1]` (adaptive under ALIF, a gate).
    spiking : whether the layer emits spikes (``False`` for a leaky readout).
    adaptation : :class:`Adaptation` when the ALIF threshold is a path (``threshold_path=True``), else ``None``.
    """

    leak: Tensor
    integration: Tensor
    reset: Tensor | None
    decay: Tensor
    matrix: MatrixEdges
    spikes: Tensor
    membrane_prev: Tensor
    threshold_prev: Tensor
    spiking: bool
    adaptation: "Adaptation | None" = None

    @property
    def source(self) -> Tensor:
        """:math:`S^{l-1}[t]` ``(Ts, m)`` (the input :math:`x[t]` for the first layer)."""
        return self.matrix.pairs[0][0]

    @property
    def weight(self) -> Tensor:
        """:math:`W^l` ``(n, m)``."""
        return self.matrix.pairs[0][1]

    @property
    def recurrent(self) -> Tensor | None:
        """:math:`V^l` ``(n, n)`` or ``None``."""
        return self.matrix.pairs[1][1] if len(self.matrix.pairs) > 1 else None


def previous(v: Tensor, start: int, stop: int, initial: float) -> Tensor:
    """``v[t-1]`` for ``t = start..stop-1`` from time-major ``v`` (``(T, n)`` or ``(T, B, n)``); ``v[-1] = initial``."""
    if start > 0:
        return v[start - 1 : stop - 1]
    first = torch.full_like(v[:1], initial)
    return torch.cat([first, v[: stop - 1]])


def decompose(net: LIFNetwork, record: Record, start: int, stop: int, batched: bool = False,
              threshold_path: bool = False) -> list[LayerGraph]:
    """The :class:`LayerGraph` of every layer for the steps ``start..stop-1`` of a recorded pass.

    ``record`` is ``net(x, record=True).record`` (zero initial state). By default ``x`` is one
    sequence (``x[None]``, batch 1) and the graph tensors are ``(Ts, n)``; with ``batched=True``
    every recorded row is kept and the tensors are time-major ``(Ts, B, n)``. ``threshold_path``:
    the ALIF threshold :math:`b` of every spiking layer is a node (:class:`Adaptation`); without
    adaptation it changes nothing.
    """
    return [_layer(net, record, l, start, stop, batched, threshold_path) for l in range(net.n_layers)]


def time_major(v: Tensor, start: int, stop: int, batched: bool) -> Tensor:
    """Steps ``start..stop-1`` of a recorded ``(B, T, n)`` tensor: row 0 ``(Ts, n)``, or all rows ``(Ts, B, n)``."""
    return v[:, start:stop].transpose(0, 1).contiguous() if batched else v[0, start:stop]


def _layer(net: LIFNetwork, record: Record, l: int, start: int, stop: int, batched: bool = False,
           threshold_path: bool = False) -> LayerGraph:
    """Layer ``l`` (0-based over weight layers): the table of the module docstring as code lines."""
    alpha, beta = net.alpha, net.beta
    lo = max(start - 1, 0)  # steps lo..stop-1: the span and the step before it
    S, I, U, theta = (time_major(v, lo, stop, batched)  # S^l[t], I^l[t], U^l[t], θ^l[t]
                      for v in (record.spikes[l + 1], record.syn[l], record.mem[l], record.theta[l]))
    first, n_steps = start - lo, stop - lo  # the span is rows first..n_steps-1 of these
    S_t, I_t = S[first:], I[first:]
    U_prev = previous(U, first, n_steps, 0.0)  # U[t-1], U[-1] = 0
    I_prev = previous(I, first, n_steps, 0.0)  # I[t-1], I[-1] = 0
    theta_prev = previous(theta, first, n_steps, net.threshold)  # θ[t-1], θ[-1] = θ (b[-1] = 0)
    spiking = net.spiking(l)
    subtract = net.reset == "subtract" and spiking
    gate = 1.0 - S_t if (spiking and not subtract) else torch.ones_like(S_t)  # (1 - S[t]) held constant
    source = time_major(record.spikes[l], start, stop, batched)  # S^{l-1}[t] or x[t]
    pairs = [(source, net.weights[l].detach())]
    if net.recurrent_weights and l < net.n_layers - 1:
        pairs.append((S_t, net.recurrent_weights[l].detach()))
    adaptation = None
    if threshold_path and net.adaptation is not None and spiking:
        rho, gamma = net.adaptation
        b_prev = theta_prev - net.threshold  # b[t-1] = θ[t-1] - θ, b[-1] = 0
        adaptation = Adaptation(decay=rho * b_prev, spike=gamma * S_t, prev=b_prev, threshold=float(net.threshold))
    return LayerGraph(
        leak=gate * (beta * U_prev),
        integration=gate * I_t,
        reset=-theta_prev * S_t if subtract else None,
        decay=alpha * I_prev,
        matrix=MatrixEdges(pairs),
        spikes=S_t,
        membrane_prev=U_prev,
        threshold_prev=theta_prev,
        spiking=spiking,
        adaptation=adaptation,
    )
