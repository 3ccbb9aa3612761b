r"""Redistribution rules (the flux), ``spec/transport.md`` §3.

At a node :math:`n` with in-edge contributions :math:`z_m` and value :math:`z_n = \sum_m z_m`,
a rule gives the flux :math:`F(n \to m)` to every predecessor and the sink :math:`n` keeps.
Every rule is linear in :math:`R_n`, so it is written as per-step *coefficients* that do not
depend on the relevance: :math:`F(n \to m) = c_m \, R_n` and :math:`\text{sink}_n = s \, R_n`.
The engine (:mod:`.engine`) multiplies them by relevance; the coefficients of a whole
span of steps are computed at once, before the backward sweep.

- :class:`Epsilon` (LRP-0 for :math:`\varepsilon = 0`, LRP-ε):
  :math:`F = z_m / (z_n + \varepsilon\,\mathrm{sign}(z_n)) \cdot R_n`, :math:`\mathrm{sign}(0) = +1`;
- :class:`AlphaBeta` (z⁺ is :math:`a=1, b=0`; the rule's parameters are written :math:`a, b`
  in formulas, ``alpha``, ``beta`` in code, so as not to clash with the synaptic decay
  :math:`\alpha` and the membrane leak :math:`\beta` of the model):
  :math:`F = (a\, z_m^+/\sum z^+ - b\, z_m^-/\sum z^-) \cdot R_n`; an empty side is skipped
  and its share booked as the ``empty_side`` sink (``empty_side="skip"``, the literature's
  convention), or all of :math:`R_n` goes through the other side (``empty_side="fallback"``);
- threshold policies :class:`Pass` and :class:`Excess` for the spike nodes
  :math:`S[t] \leftarrow U[t-1]`, and :func:`threshold_path` for the ALIF threshold as a path.

Bach et al. (2015), PLoS ONE 10(7): e0130140; Montavon et al. (2019), in *Explainable AI*, LNCS 11700.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from ..registry import Registry
from .graph import MatrixEdges, LayerGraph

SINK_CAUSES = ("stabilizer", "zero_denominator", "threshold", "boundary", "empty_side")
EMPTY_SIDES = ("skip", "fallback")
POLICIES = ("pass", "excess")


@dataclass
class NodeFlux:
    r"""Coefficients of one node type over a span, each shaped like the graph: ``(Ts, n)`` or ``(Ts, Bk, n)``.

    Attributes
    ----------
    edges : list of Tensor
        :math:`c_m` for each element-wise in-edge, in the order given: :math:`F = c_m R_n`.
    kpos, kneg : Tensor or None
        For the matrix in-edges :math:`z_{ni} = M_{ni} s_i`:
        :math:`F(n \to i) = R_n\,(k^+_n z_{ni}^+ + k^-_n z_{ni}^-)`. ``kneg`` is ``None`` when
        the negative side carries nothing (z⁺); ``shared`` when ``kneg is kpos`` (LRP-0/ε).
    sinks : dict
        ``cause -> s``: :math:`\text{sink}_n = s\,R_n` (only the causes the rule can produce).
    zero : Tensor or None
        Boolean mask of zero denominators (``None`` when there is none).
    """

    edges: list[Tensor]
    kpos: Tensor | None = None
    kneg: Tensor | None = None
    sinks: dict[str, Tensor] = field(default_factory=dict)
    zero: Tensor | None = None

    @property
    def shared(self) -> bool:
        """LRP-0/ε: one ratio :math:`R_n/(z_n + \\varepsilon\\,\\mathrm{sign}\\,z_n)` for both signs."""
        return self.kneg is self.kpos

    def matrix_share(self, matrix: MatrixEdges) -> Tensor:
        r""":math:`\sum_i F(n \to i) / R_n` over the matrix edges, shaped like ``kpos`` (for node residuals)."""
        if self.shared:
            return self.kpos * matrix.total
        pos, neg = matrix.parts
        return self.kpos * pos + (self.kneg * neg if self.kneg is not None else 0)


@dataclass(frozen=True)
class RuleInfo:
    """A registered rule: ``make(**options)`` builds it; ``options`` are its parameters with their defaults."""

    name: str
    make: Callable[..., "Rule"]
    description: str
    options: dict


#: The LRP rules by name, filled by :func:`register_rule`; explanation method ``lrp-<name>`` follows each.
RULES: Registry = Registry("LRP rule")


def register_rule(name: str, *, description: str):
    """Decorator: register a :class:`Rule` class (or a function returning a rule) under ``name`` in :data:`RULES`.

    Its keyword parameters with their defaults are the rule's options (those of ``lrp-<name>``);
    ``description`` is the one line the methods listing shows.
    """

    def wrap(make):
        params = inspect.signature(make).parameters.values()
        options = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        RULES.add(name, RuleInfo(name, make, description, options))
        return make

    return wrap


class Rule:
    """A redistribution rule: :meth:`node` turns in-edge contributions into :class:`NodeFlux`."""

    name: str = ""

    @property
    def params(self) -> dict:
        """The rule's parameters (recorded in the ledger)."""
        return {}

    def node(self, edges: list[Tensor], matrix: MatrixEdges | None = None) -> NodeFlux:
        raise NotImplementedError


@register_rule("epsilon", description="LRP-ε transport: F = z_m / (z_n + ε sign z_n) · R_n, stabiliser booked as a sink")
class Epsilon(Rule):
    r"""LRP-ε (LRP-0 for ``epsilon=0``).

    .. math::

        F(n \to m) = \frac{z_m}{z_n + \varepsilon\,\mathrm{sign}(z_n)} R_n, \qquad
        \text{stabilizer}_n = \frac{\varepsilon\,\mathrm{sign}(z_n)}{z_n + \varepsilon\,\mathrm{sign}(z_n)} R_n

    with :math:`\mathrm{sign}(0) = +1`. A zero denominator (only for :math:`\varepsilon = 0`,
    :math:`z_n = 0`) passes nothing: all of :math:`R_n` is the ``zero_denominator`` sink. So is a
    subnormal one whose reciprocal overflows (a membrane decayed to ~1e-40 in float32), so
    that no ``0 · inf`` ever makes a NaN.
    """

    name = "epsilon"

    def __init__(self, epsilon: float = 1e-6):
        epsilon = float(epsilon)
        if not (epsilon >= 0 and math.isfinite(epsilon)):
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
        self.epsilon = epsilon

    @property
    def params(self) -> dict:
        return {"epsilon": self.epsilon}

    def node(self, edges, matrix=None):
        z = sum(edges) + (matrix.total if matrix is not None else 0)  # z_n = Σ_m z_m
        positive = z >= 0  # sign(0) = +1
        inv = torch.where(positive, z + self.epsilon, z - self.epsilon).reciprocal_()  # 1/(z_n + ε sign z_n)
        zero = ~torch.isfinite(inv)  # zero denominator (or subnormal: 1/den overflows)
        inv = inv.masked_fill_(zero, 0.0)  # 0 where booked
        sinks = {}
        if self.epsilon > 0:
            sinks["stabilizer"] = torch.where(positive, inv, -inv).mul_(self.epsilon)  # ε sign(z_n) / den
        has_zero = bool(zero.any())
        if has_zero:
            sinks["zero_denominator"] = zero.to(z.dtype)
        k = inv if matrix is not None else None
        return NodeFlux([zm * inv for zm in edges], k, k, sinks, zero if has_zero else None)


@register_rule("alphabeta", description="LRP-αβ transport (alpha - beta = 1): positive and negative contributions "
                                        "normalised apart")
class AlphaBeta(Rule):
    r"""LRP-αβ with parameters :math:`a - b = 1` (``alpha``, ``beta``); z⁺ is :math:`a = 1, b = 0`.

    .. math::

        F(n \to m) = \Big(a \frac{z_m^+}{\sum_k z_k^+} - b \frac{z_m^-}{\sum_k z_k^-}\Big) R_n

    ``empty_side="skip"`` (default, the literature's convention): an empty side (no positive,
    or no negative contribution; or a subnormal sum whose reciprocal overflows) is skipped and
    its share is the ``empty_side`` sink,
    :math:`\text{empty\_side}_n = (a [\sum z^+ = 0] - b [\sum z^- = 0]) R_n`. A node without
    negative contributions then passes :math:`a R_n`: along a chain of such nodes (synaptic
    decay through input silence) relevance grows like :math:`a^k`, cancelled by the booked
    :math:`-b R_n` sinks; with :math:`a > 1` long windows overflow (the engine then raises).

    ``empty_side="fallback"`` (conservative): a node whose negative side is empty passes
    :math:`F = z_m^+/\sum z^+ \cdot R_n`, one whose positive side is empty
    :math:`F = z_m^-/\sum z^- \cdot R_n`; only a node with neither side books all of
    :math:`R_n` as ``empty_side``. One-signed chains no longer grow: a one-sided node moves
    :math:`\sum_m |F(n \to m)| = |R_n|`. A two-sided node still moves :math:`(a + b) |R_n|`, and
    passes about :math:`a R_n` to a contribution that dominates its side (the decay
    :math:`\alpha I[t-1]` beside a weak synaptic input), so chains of two-sided nodes still
    grow like :math:`a^k`.
    """

    name = "alphabeta"

    def __init__(self, alpha: float = 2.0, beta: float = 1.0, empty_side: str = "skip"):
        alpha, beta = float(alpha), float(beta)
        if not (math.isfinite(alpha) and math.isfinite(beta)) or beta < 0:
            raise ValueError(f"alpha, beta must be finite with beta >= 0, got alpha={alpha}, beta={beta}")
        if abs(alpha - beta - 1.0) > 1e-12:
            raise ValueError(f"alpha - beta must be 1 (conservation), got alpha={alpha}, beta={beta}")
        if empty_side not in EMPTY_SIDES:
            raise ValueError(f"empty_side must be one of {EMPTY_SIDES}, got {empty_side!r}")
        self.alpha, self.beta, self.empty_side = alpha, beta, empty_side

    @property
    def params(self) -> dict:
        out = {"alpha": self.alpha, "beta": self.beta}
        return out if self.empty_side == "skip" else {**out, "empty_side": self.empty_side}

    def node(self, edges, matrix=None):
        zero = edges[0].new_zeros(())
        P = sum(e.clamp(min=0) for e in edges) + (matrix.parts[0] if matrix is not None else zero)  # Σ z⁺
        N = sum(e.clamp(max=0) for e in edges) + (matrix.parts[1] if matrix is not None else zero)  # Σ z⁻
        inv_p, inv_n = P.reciprocal(), N.reciprocal()  # 1/Σz⁺, 1/Σz⁻
        big_p, big_n = self.alpha * inv_p, max(self.beta, 1.0) * inv_n  # the largest coefficient of each side (a >= 1)
        has_p, has_n = (P > 0) & torch.isfinite(big_p), (N < 0) & torch.isfinite(big_n)  # subnormal sums: empty
        if self.empty_side == "skip":
            kpos = torch.where(has_p, self.alpha * inv_p, 0.0)  # a / Σz⁺
            kneg = torch.where(has_n, -self.beta * inv_n, 0.0) if self.beta else None  # -b / Σz⁻
            empty = self.alpha * (~has_p).to(P.dtype) - self.beta * (~has_n).to(P.dtype)
        else:  # fallback: a one-sided node sends all of R_n through its non-empty side
            both = has_p & has_n
            kpos = torch.where(both, self.alpha * inv_p, torch.where(has_p, inv_p, 0.0))
            kneg = torch.where(both, -self.beta * inv_n, torch.where(has_n, inv_n, 0.0))
            empty = (~(has_p | has_n)).to(P.dtype)  # neither side: all of R_n
        coefs = [e.clamp(min=0) * kpos + (e.clamp(max=0) * kneg if kneg is not None else 0) for e in edges]
        return NodeFlux(coefs, kpos if matrix is not None else None,
                        kneg if matrix is not None else None, {"empty_side": empty})


@register_rule("zplus", description="LRP-z⁺ transport: only positive contributions carry relevance")
class ZPlus(AlphaBeta):
    r"""LRP-z⁺: :math:`F = z_m^+ / \sum_k z_k^+ \cdot R_n` (αβ with :math:`\alpha=1, \beta=0`)."""

    name = "zplus"

    def __init__(self):
        super().__init__(1.0, 0.0)

    @property
    def params(self) -> dict:
        return {}


@register_rule("0", description="LRP-0 transport: F = z_m / z_n · R_n (ε = 0; zero denominators booked as sinks)")
def epsilon_zero(epsilon: float = 0.0) -> Epsilon:
    """LRP-0: :class:`Epsilon` with :math:`\\varepsilon = 0` (``epsilon`` is accepted only as 0)."""
    if float(epsilon) != 0.0:
        raise ValueError(f"epsilon: lrp-0 is ε = 0, got epsilon={epsilon} (use lrp-epsilon)")
    return Epsilon(0.0)


# ---------------------------------------------------------------------- threshold nodes
class Pass:
    r"""Policy ``pass``: all of :math:`R(S[t])` goes to :math:`U[t-1]` (LRP's ReLU pass-through)."""

    name = "pass"

    def node(self, graph: LayerGraph) -> tuple[Tensor | None, Tensor | None]:
        """``(g, s)``: flux :math:`g\\,R(S)` to :math:`U[t-1]`, sink :math:`s\\,R(S)`; ``None`` = 1 and 0."""
        return None, None


class Excess:
    r"""Policy ``excess``: only the supra-threshold share passes.

    .. math::

        F(S[t] \to U[t-1]) = \frac{U[t-1] - \theta[t-1]}{U[t-1]} R(S[t]), \qquad
        \text{threshold} = \frac{\theta[t-1]}{U[t-1]} R(S[t])

    with the (adaptive, under ALIF) threshold :math:`\theta[t-1]` that the spike was read
    against. Silent nodes (:math:`S[t]=0`) receive no relevance; their coefficients are 1, 0.
    """

    name = "excess"

    def node(self, graph):
        U, theta, fired = graph.membrane_prev, graph.threshold_prev, graph.spikes > 0
        ok = fired & (U != 0)
        share = torch.where(ok, theta / torch.where(ok, U, 1.0), 0.0)  # θ/U on firing nodes
        g = torch.where(fired, torch.where(ok, 1.0 - share, 0.0), 1.0)  # (U - θ)/U
        sink = torch.where(fired, torch.where(ok, share, 1.0), 0.0)
        return g, sink


def threshold_path(rule: Rule, policy, graph: LayerGraph) -> NodeFlux:
    r"""The ALIF spike node :math:`S[t] \leftarrow U[t-1], b[t-1]` as a rule node (``threshold_path=True``).

    The node reads :math:`v = U[t-1] - \theta - b[t-1]` as the contributions :math:`U[t-1]`,
    :math:`-b[t-1]` and the constant :math:`-\theta`, and ``rule`` splits :math:`R(S[t])` over
    them as over any node (:math:`F = c\,R`). The policy says what the constant is:

    - ``pass``: :math:`\theta` is held as a gate (as the default holds all of :math:`\theta[t-1]`),
      the rule splits :math:`R(S)` over :math:`U[t-1]` and :math:`-b[t-1]` alone (denominator
      :math:`U[t-1] - b[t-1] > \theta` on a firing node); with :math:`b[t-1] = 0` this is
      exactly the default ``pass``;
    - ``excess``: :math:`-\theta` is a third contribution and its flux is the ``threshold`` sink
      (denominator :math:`v > 0`, small just above threshold: the shares :math:`U/v` and
      :math:`-\theta/v` are large and cancel).

    Returns ``NodeFlux(edges=[c_U, c_b], sinks)``: :math:`F(S[t] \to U[t-1]) = c_U R(S[t])`,
    :math:`F(S[t] \to b[t-1]) = c_b R(S[t])`. Silent nodes (:math:`S[t] = 0`, which never hold
    relevance) get :math:`c_U = 1, c_b = 0` and no sink.
    """
    fired = graph.spikes > 0
    adapt = graph.adaptation
    edges = [graph.membrane_prev, -adapt.prev]
    if policy.name == "excess":
        edges.append(torch.full_like(adapt.prev, -adapt.threshold))
    flux = rule.node(edges)
    coefs = [torch.where(fired, c, float(k == 0)) for k, c in enumerate(flux.edges)]
    sinks = {cause: torch.where(fired, v, 0.0) for cause, v in flux.sinks.items()}
    if policy.name == "excess":
        sinks["threshold"] = torch.where(fired, coefs.pop(), 0.0)
    zero = None if flux.zero is None else flux.zero & fired
    return NodeFlux(coefs, sinks=sinks, zero=zero if zero is not None and bool(zero.any()) else None)


def get_rule(rule: str | Rule, **params) -> Rule:
    """A :class:`Rule` by its name in :data:`RULES` (``"epsilon"``, ``"0"``, ``"zplus"``, ``"alphabeta"``) or as given.

    ``params``: the rule's options (:attr:`RuleInfo.options`); those it does not take are ignored.
    """
    if isinstance(rule, Rule):
        return rule
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"rule must be one of {tuple(RULES)} or a Rule, got {rule!r}")
    info = RULES[rule]
    return info.make(**{k: params[k] for k in info.options if k in params})


def get_policy(policy) -> Pass | Excess:
    """The threshold policy ``"pass"`` or ``"excess"``."""
    if isinstance(policy, (Pass, Excess)):
        return policy
    if policy == "pass":
        return Pass()
    if policy == "excess":
        return Excess()
    raise ValueError(f"threshold_policy must be one of {POLICIES}, got {policy!r}")
