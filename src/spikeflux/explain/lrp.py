r"""Transport LRP behind :func:`~spikeflux.explain.explain`: ``lrp-<rule>`` for every rule of
:data:`spikeflux.transport.rules.RULES` (``lrp-0``, ``lrp-epsilon``, ``lrp-zplus``, ``lrp-alphabeta``).

A rule registered with :func:`spikeflux.transport.rules.register_rule` is the method
``lrp-<name>`` at once, its parameters its own options besides the common ones (:data:`COMMON`).

Each method runs :func:`spikeflux.transport.transport` on the recorded forward pass of the
request (``spec/transport.md``): relevance :math:`R_\text{init}` starts at :math:`U^L_c[t^*]`
and is moved backwards through the unrolled graph with the method's rule; the inputs keep
:math:`A_i[t]`, the map of shape ``(K, n_in, window)``, and the :class:`~spikeflux.transport.Ledger`
books every sink. Options (all methods):

``threshold_policy`` : {"pass", "excess"}
    spike nodes send all of :math:`R(S[t])` to :math:`U[t-1]`, or only :math:`(U-\theta)/U` of it;
``init`` : {"logit", "probability", "one"}
    what :math:`R_\text{init}` is (recorded in the ledger);
``node_residuals`` : bool
    also put every node's local residual in ``ledger.node_residuals``;
``node_relevance`` : bool
    also put every node's relevance :math:`R_n` in ``ledger.node_relevance``;
``threshold_path`` : bool
    ALIF models: ``True`` makes the adaptive threshold :math:`b^l[t] = \rho b^l[t-1] + \gamma S^l[t]`
    a node of the graph, so that relevance reaches the neuron's own past spikes through it
    (:func:`spikeflux.transport.rules.threshold_path`); ``False`` (default) holds it as a gate.

For a batch of sequences (``explain(net, X, t)`` with ``X`` of shape ``(B, T, n_in)``) the
recorded pass has one row per sequence and the transport reads one graph column per row:
the map is ``(B, n_in, window)``, every ledger field has a leading ``B`` axis, and row ``k``
is the single-sequence result of ``X[k]`` (same arithmetic). Large batches are swept in
chunks of rows under :data:`spikeflux.transport.engine.SWEEP_BYTES` (1 GiB; with the
recorded pass of :func:`explain`, about 2 GiB peak for 2000 float64 sequences of 1200 steps
of the ADL-sized network).

``lrp-epsilon`` takes ``epsilon`` (default 1e-6; ``lrp-0`` is ε = 0), ``lrp-alphabeta``
takes ``alpha``, ``beta`` (default 2, 1; written :math:`a - b = 1` in formulas, not to clash with the
decays :math:`\alpha, \beta` of the model) and ``empty_side`` (``"skip"``, default, the literature's
convention: a one-signed node passes :math:`a R`, resp. :math:`-b R`, and books the rest; ``"fallback"``:
it passes all of :math:`R` through its non-empty side, see :class:`~spikeflux.transport.AlphaBeta`). An unknown option or a
bad value raises ``ValueError`` naming it. For a single explained step (an int ``t``) the ledger
fields are 0-d tensors (no target axis). Zero denominators are booked, never NaN; relevance
that overflows (``lrp-alphabeta`` with ``alpha`` :math:`a > 1` over long windows, see
:class:`~spikeflux.transport.AlphaBeta`) raises ``FloatingPointError``.
"""

from __future__ import annotations

from ..transport import transport
from ..transport.rules import RULES, RuleInfo
from .registry import METHODS, register_method
from .request import Attribution

#: The options of every LRP method, with their defaults (module docstring).
COMMON = {"threshold_policy": "pass", "init": "logit", "node_residuals": False, "node_relevance": False,
          "threshold_path": False}

_COMMON_DOC = """
    Common options (every LRP method; module docstring, ``help(spikeflux.explain.lrp)``):
    ``threshold_policy`` ("pass" | "excess", default "pass"), ``init`` ("logit" | "probability" |
    "one", default "logit"), ``node_residuals`` (bool, default False), ``node_relevance``
    (bool, default False), ``threshold_path`` (bool, default False; ALIF only).
"""


def _run(net, x, request, rule, opts: dict) -> Attribution:
    """Transport with ``rule`` for every target of ``request``; the ledger squeezed when ``K = 1``."""
    if not isinstance(opts["node_residuals"], bool):
        raise ValueError(f"node_residuals must be True or False, got {opts['node_residuals']!r}")
    attribution, ledger = transport(
        net, request.forward.record, request.t, request.target, request.window, rule,
        threshold_policy=opts["threshold_policy"], init=opts["init"], node_residuals=opts["node_residuals"],
        node_relevance=bool(opts["node_relevance"]), readout=request.readout, threshold_path=opts["threshold_path"],
    )
    info = {"rule": rule.name, **rule.params, "threshold_policy": opts["threshold_policy"], "init": opts["init"]}
    if opts["threshold_path"]:
        info["threshold_path"] = True
    return Attribution(attribution, ledger.squeeze() if request.single else ledger, info)


def method_name(rule: RuleInfo) -> str:
    """``lrp-<rule>``: the explanation method of a rule."""
    return f"lrp-{rule.name}"


def _register(rule: RuleInfo) -> None:
    """Register ``lrp-<rule>``: transport with ``rule.make(**own options)`` (a follower of :data:`RULES`)."""

    def method(net, x, request, **options) -> Attribution:
        made = rule.make(**{k: options[k] for k in rule.options})
        return _run(net, x, request, made, options)

    own = ", ".join(f"``{k}`` (default {v!r})" for k, v in rule.options.items()) or "none"
    method.__name__ = method.__qualname__ = "lrp_" + rule.name.replace("-", "_")
    method.__module__ = __name__
    method.__doc__ = (f"{rule.description} (:data:`spikeflux.transport.rules.RULES` ``[{rule.name!r}]``: "
                      f"``{getattr(rule.make, '__module__', '?')}.{rule.make.__qualname__}``).\n\n"
                      f"    Own options: {own}.\n{_COMMON_DOC}")
    register_method(method_name(rule), family="lrp", description=rule.description,
                    options={**COMMON, **rule.options})(method)


RULES.follow(_register, lambda rule: METHODS.remove(method_name(rule)))

lrp_0, lrp_epsilon, lrp_zplus, lrp_alphabeta = (METHODS[f"lrp-{r}"].fn for r in ("0", "epsilon", "zplus", "alphabeta"))
