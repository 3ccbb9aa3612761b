r"""Relevance transport: LRP as a discrete conservative scheme on the unrolled LIF graph.

``spec/transport.md`` is the contract. One concept a module:

- :mod:`.graph`   the unrolled graph: every node's value as a sum of in-edge contributions,
  per neuron model (zero/subtract reset, spiking/leaky readout, recurrent :math:`V`, ALIF);
- :mod:`.rules`   the flux rules (LRP-0/ε, z⁺, αβ; registered by name in :data:`RULES` with
  :func:`register_rule`, each the method ``lrp-<name>``) and the threshold policies (pass, excess);
- :mod:`.ledger`  sinks by cause, the per-slice continuity equation, the global balance;
- :mod:`.engine`  the generic, batched backward sweep (:func:`transport`);
- :mod:`.continuum` the continuum limit: one continuous-time LIF model explained as Δt is refined.

Options beyond the spec's first round: signed per-slice channels in every :class:`Ledger`
(``flux_pos``, ``flux_neg``, ``absorbed_pos``, ``absorbed_neg``, ``mass``, signed sinks), the ALIF
threshold as a path (``threshold_path=True``, :func:`threshold_path`), and αβ's
``empty_side="fallback"`` (:data:`EMPTY_SIDES`).
- :mod:`.difference` DeepLIFT as difference transport: Δ-contributions of the input and a
  reference run, swept by the same engine (:func:`.difference.difference_transport`).

The user-facing entry point is ``spikeflux.explain.explain(net, x, t, method="lrp-epsilon")``.
"""

from .engine import INITS, transport
from .graph import LayerGraph, MatrixEdges, decompose
from .ledger import Ledger
from .rules import (EMPTY_SIDES, POLICIES, RULES, SINK_CAUSES, AlphaBeta, Epsilon, Excess, Pass, Rule, RuleInfo, ZPlus,
                    get_policy, get_rule, register_rule, threshold_path)

__all__ = [
    "EMPTY_SIDES", "INITS", "POLICIES", "RULES", "SINK_CAUSES", "AlphaBeta", "Epsilon", "Excess", "LayerGraph", "Ledger",
    "MatrixEdges", "Pass", "Rule", "RuleInfo", "ZPlus", "decompose", "get_policy", "get_rule", "register_rule",
    "threshold_path", "transport",
]
