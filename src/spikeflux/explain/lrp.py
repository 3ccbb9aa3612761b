r"""Transport LRP behind :func:`~spikeflux.explain.explain`: ``lrp-0``, ``lrp-epsilon``, ``lrp-zplus``, ``lrp-alphabeta``.

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

from ..transport import AlphaBeta, Epsilon, ZPlus, transport
from .registry import Attribution, register_method

COMMON = {"threshold_policy": "pass", "init": "logit", "node_residuals": False, "node_relevance": False,
          "threshold_path": False}


def _options(method: str, options: dict, own: dict) -> dict:
    """``own`` and :data:`COMMON` defaults updated by ``options``; unknown names are a ``ValueError``."""
    allowed = {**COMMON, **own}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{method}: unknown option(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(allowed))}")
    return {**allowed, **options}


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


@register_method("lrp-0", family="lrp",
                 description="LRP-0 transport: F = z_m / z_n · R_n (ε = 0; zero denominators booked as sinks)")
def lrp_0(net, x, request, **options) -> Attribution:
    """LRP-0 transport, :math:`F = z_m / z_n \\cdot R_n`; zero denominators are booked as sinks.

    Own option: ``epsilon`` (must be 0; use ``lrp-epsilon`` otherwise).
    Common options (every LRP method; module docstring, ``help(spikeflux.explain.lrp)``):
    ``threshold_policy`` ("pass" | "excess", default "pass"), ``init`` ("logit" | "probability" |
    "one", default "logit"), ``node_residuals`` (bool, default False), ``node_relevance``
    (bool, default False), ``threshold_path`` (bool, default False; ALIF only).
    """
    opts = _options("lrp-0", options, {"epsilon": 0.0})
    if float(opts["epsilon"]) != 0.0:
        raise ValueError(f"epsilon: lrp-0 is ε = 0, got epsilon={opts['epsilon']} (use lrp-epsilon)")
    return _run(net, x, request, Epsilon(0.0), opts)


@register_method("lrp-epsilon", family="lrp",
                 description="LRP-ε transport: F = z_m / (z_n + ε sign z_n) · R_n, stabiliser booked as a sink")
def lrp_epsilon(net, x, request, **options) -> Attribution:
    """LRP-ε transport, :math:`F = z_m / (z_n + \\varepsilon\\, \\mathrm{sign}\\, z_n) \\cdot R_n`.

    The stabiliser is booked as a sink.

    Own option: ``epsilon`` (float, default 1e-6).
    Common options (every LRP method; module docstring, ``help(spikeflux.explain.lrp)``):
    ``threshold_policy`` ("pass" | "excess", default "pass"), ``init`` ("logit" | "probability" |
    "one", default "logit"), ``node_residuals`` (bool, default False), ``node_relevance``
    (bool, default False), ``threshold_path`` (bool, default False; ALIF only).
    """
    opts = _options("lrp-epsilon", options, {"epsilon": 1e-6})
    return _run(net, x, request, Epsilon(opts["epsilon"]), opts)


@register_method("lrp-zplus", family="lrp",
                 description="LRP-z⁺ transport: only positive contributions carry relevance")
def lrp_zplus(net, x, request, **options) -> Attribution:
    """LRP-z⁺ transport: only positive contributions :math:`z_m > 0` carry relevance.

    No own options.
    Common options (every LRP method; module docstring, ``help(spikeflux.explain.lrp)``):
    ``threshold_policy`` ("pass" | "excess", default "pass"), ``init`` ("logit" | "probability" |
    "one", default "logit"), ``node_residuals`` (bool, default False), ``node_relevance``
    (bool, default False), ``threshold_path`` (bool, default False; ALIF only).
    """
    return _run(net, x, request, ZPlus(), _options("lrp-zplus", options, {}))


@register_method("lrp-alphabeta", family="lrp",
                 description="LRP-αβ transport (alpha - beta = 1): positive and negative contributions normalised apart")
def lrp_alphabeta(net, x, request, **options) -> Attribution:
    """LRP-αβ transport: positive and negative contributions normalised apart, :math:`a - b = 1`.

    Own options: ``alpha`` (default 2), ``beta`` (default 1), ``empty_side`` (default "skip";
    see :class:`~spikeflux.transport.AlphaBeta`).
    Common options (every LRP method; module docstring, ``help(spikeflux.explain.lrp)``):
    ``threshold_policy`` ("pass" | "excess", default "pass"), ``init`` ("logit" | "probability" |
    "one", default "logit"), ``node_residuals`` (bool, default False), ``node_relevance``
    (bool, default False), ``threshold_path`` (bool, default False; ALIF only).
    """
    opts = _options("lrp-alphabeta", options, {"alpha": 2.0, "beta": 1.0, "empty_side": "skip"})
    return _run(net, x, request, AlphaBeta(opts["alpha"], opts["beta"], opts["empty_side"]), opts)
