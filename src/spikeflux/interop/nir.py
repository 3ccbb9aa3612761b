r"""NIR graphs (the Neuromorphic Intermediate Representation, Pedersen et al. 2024) to and from :class:`LIFNetwork`.

:func:`from_nir` maps a chain ``Input → (Linear | Affine) → (LIF | CubaLIF) → ... → Output``
(optionally ending in an ``LI`` or ``CubaLI`` node, a non-spiking readout) onto a spikeflux network;
:func:`to_nir` writes a spikeflux network as such a chain. Neither imports ``nir`` at
module level: it is an optional dependency (``pip install "spikeflux[nir]"``).

NIR nodes are continuous-time ODEs (``nir.LIF``: :math:`\tau \dot v = (v_{leak} - v) + R I`,
spike :math:`z = [v > v_{thr}]`, then :math:`v \leftarrow v_{reset}`; ``nir.CubaLIF`` adds
:math:`\tau_{syn} \dot I = -I + w_{in} S`). A graph does not say how it was discretised, and
the libraries that export it step it differently, so :func:`from_nir` takes the step
``dt`` *and* the ``convention`` of the library whose simulation it must reproduce. Every
convention below maps to the spikeflux update (:mod:`spikeflux.snn`)

.. math::

    S^l[t] = H(U^l[t-1] - \theta), \quad I^l[t] = \alpha I^l[t-1] + W^l S^{l-1}[t], \quad
    U^l[t] = \beta U^l[t-1] + I^l[t] - \theta S^l[t] \;\; (\text{or the zero reset})

with one :math:`\alpha`, one :math:`\beta`, one :math:`\theta` per network, and the
per-step input gain :math:`g` of a neuron folded into the weights that feed it
(:math:`W^l \leftarrow g\,W^l`, computed in float64 and rounded once to the network's dtype).

``convention="snntorch"`` (snnTorch 1.0's ``export_to_nir`` / ``import_from_nir``)
    Forward Euler, as snnTorch's importer computes it, in the parameters' own precision:
    :math:`\beta = 1 - \Delta t/\tau` (``LIF``) or :math:`\beta = 1 - \Delta t/\tau_{mem}`,
    :math:`\alpha = 1 - \Delta t/\tau_{syn}` (``CubaLIF``; ``LIF`` has :math:`\alpha = 0`);
    gain :math:`g = R\,\Delta t/\tau` (``LIF``), :math:`g = (w_{in}\Delta t/\tau_{syn})(R\,\Delta t/\tau_{mem})`
    (``CubaLIF``), taken as exactly 1 when ``np.allclose(g, 1)`` as snnTorch's importer does
    (its exporter writes :math:`R = \tau/\Delta t`, :math:`w_{in} = \tau_{syn}/\Delta t`, with
    :math:`\Delta t = 10^{-4}` hard-coded: pass ``dt=1e-4``; :math:`\beta = 1` is exported as
    :math:`\tau = R = \infty` and read back as :math:`\beta = 1`, :math:`g = 1`). The reset is snnTorch's default
    ``Leaky``/``Synaptic`` one, ``reset_mechanism="subtract"`` with ``reset_delay=True``,
    which the exporter does not record (it writes :math:`v_{reset} = 0`): the threshold is
    subtracted at the step after the crossing, *after* the leak. The spike is read from
    the current membrane, so layer :math:`l` of spikeflux runs :math:`l-1` steps late and the
    readout :math:`d = L-1` steps late, exactly as :func:`spikeflux.interop.from_snntorch`
    (see its module): :func:`spikeflux.interop.run_as_snntorch` returns snnTorch's
    ``(spk, mem)`` of the last layer in snnTorch's time. Not reproduced: snnTorch's own
    *importer* builds ``reset_mechanism="zero", reset_delay=False`` neurons from the same
    graph, a different model from the one that was exported (spikeflux cannot express the
    zero reset that keeps the input of the reset step; see :mod:`spikeflux.interop.snntorch`).
    snnTorch 1.0 with ``nir`` 1.0.8 exports only per-neuron ``beta`` and ``threshold``
    tensors (a scalar fails nir's type inference), all entries equal for spikeflux.

``convention="rockpool"`` (Rockpool 3.1's ``LIFTorch`` and its ``to_nir``)
    Exponential decays computed as Rockpool does, ``torch.exp(-dt / tau)`` in the
    parameters' precision: synaptic :math:`\alpha = e^{-\Delta t/\tau_{syn}}`, membrane
    :math:`\beta = e^{-\Delta t/\tau_{mem}}`. Rockpool updates ``isyn = α (isyn + input)``, so
    :math:`g = \alpha` (folded into the weights); :math:`R` is not used by its simulation,
    only checked against its exporter's :math:`R = \tau_{mem} e^{-\Delta t/\tau_{mem}}/\Delta t`
    (a mismatch means a wrong ``dt``). Rockpool subtracts the threshold *before* the leak
    (``v ← β v + isyn; z = [v ≥ θ]; v ← v - θ z``), spikeflux after it; the two agree only
    for a non-leaky membrane, :math:`\beta = 1` exactly (integrate-and-fire, e.g.
    ``tau_mem=1e6`` at ``dt=1e-3`` in float32), and a leaky ``CubaLIF`` is refused. Also
    assumed, not recorded in the graph: binary spikes (``max_spikes_per_dt=1``; Rockpool's
    default emits up to :math:`2^{16}` per step) and no bias (its exporter writes
    :math:`v_{leak} = 0` whatever the bias). Rockpool spikes at :math:`v \ge \theta`,
    spikeflux at :math:`v > \theta`: equality, a measure-zero event for real-valued
    weights, is the one case that can differ. Layers lag as in the snnTorch convention.

``convention="spikeflux"`` (what :func:`to_nir` writes)
    spikeflux's own discretisation: :math:`\alpha = e^{-\Delta t/\tau_{syn}}`,
    :math:`\beta = e^{-\Delta t/\tau_{mem}}` in float64, gain 1 (:math:`R = w_{in} = 1`),
    spike from the previous membrane (no lag). The zero/subtract reset and the exact
    :math:`\alpha, \beta` are kept in the graph's metadata (``spikeflux_*`` keys), so
    ``from_nir(to_nir(net), dt)`` is the same network bit for bit.

Refused, with a ``ValueError`` naming the node and the reason: any other node type
(``Conv*``, ``Flatten``, ``IF``, ``Delay``, sub-graphs such as snnTorch's ``RLeaky``, ...),
branching or recurrent edges, a bias (``Affine``) after the first layer (the first one's
becomes spikeflux's constant input channel 0, :func:`spikeflux.interop.snntorch_inputs`
prepends it), :math:`v_{leak} \ne 0`, a reset potential :math:`v_{reset} \ne 0`, per-neuron
parameters that differ, different :math:`\alpha`, :math:`\beta` or :math:`\theta` across layers,
time constants shorter than ``dt`` (snnTorch: :math:`\beta < 0`), and the leaky Rockpool case.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..snn import LIFNetwork
from .snntorch import TAU_SYN, _time_constant

#: The discretisations :func:`from_nir` reproduces (module docstring).
CONVENTIONS = ("snntorch", "rockpool", "spikeflux")

_SYNAPSES = ("Linear", "Affine")
_NEURONS = ("LIF", "CubaLIF", "LI", "CubaLI")


def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("spikeflux.interop.from_nir / to_nir need the 'nir' package: "
                          "pip install 'spikeflux[nir]'") from err
    return nir


def _describe(name: str, node) -> str:
    return f"NIR node {name!r} ({type(node).__name__})"


def _chain(graph) -> list[tuple[str, Any]]:
    """The nodes between ``Input`` and ``Output`` in order; anything but a simple chain is a ``ValueError``."""
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph (e.g. nir.read(path)), got {type(graph).__name__}")
    nodes = graph.nodes
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    outputs = [k for k, n in nodes.items() if isinstance(n, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"graph: expected one Input and one Output node, got inputs {inputs} and outputs {outputs}")
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in nodes:
                raise ValueError(f"graph: edge ({src!r}, {dst!r}) names {end!r}, which is not a node")
        succ[src].append(dst)
    order, seen, k = [], {inputs[0]}, inputs[0]
    while k != outputs[0]:
        if len(succ[k]) != 1:
            raise ValueError(f"{_describe(k, nodes[k])} has {len(succ[k])} outgoing edges {succ[k]}: only a chain "
                             f"Input → Linear/Affine → LIF/CubaLIF → ... → Output can be mapped (no branches)")
        k = succ[k][0]
        if k in seen:
            raise ValueError(f"{_describe(k, nodes[k])} is reached twice: recurrent edges are not supported")
        seen.add(k)
        if k != outputs[0]:
            order.append((k, nodes[k]))
    unused = sorted(set(nodes) - seen)
    if unused:
        raise ValueError(f"graph: nodes {unused} are not on the path from Input to Output")
    return order


def _uniform(name: str, node, field: str, value, dtype=None) -> Any:
    """The one value of a per-neuron parameter (a numpy scalar of the parameter's dtype)."""
    arr = np.asarray(value if dtype is None else np.asarray(value, dtype=dtype)).reshape(-1)
    if arr.size == 0 or not np.all(arr == arr[0]):
        raise ValueError(f"{_describe(name, node)}: per-neuron {field} {arr.tolist()} differ; spikeflux has one "
                         f"{field} per network")
    return arr[0]


def _float_dtype(*values) -> np.dtype:
    dt = np.result_type(*[np.asarray(v) for v in values])
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def _neuron(name: str, node, dt: float, convention: str) -> dict:
    """``alpha``, ``beta``, ``gain``, ``threshold``, ``spiking`` of one neuron node under ``convention``."""
    kind = type(node).__name__
    if kind in ("LI", "LIF"):
        tau_mem, tau_syn, r, w_in = node.tau, None, node.r, 1.0
    else:
        tau_mem, tau_syn, r, w_in = node.tau_mem, node.tau_syn, node.r, node.w_in
    v_leak = np.asarray(node.v_leak, dtype=np.float64)
    if np.any(v_leak != 0):
        raise ValueError(f"{_describe(name, node)}: v_leak={v_leak.tolist()} is not supported: a leak potential "
                         f"would need a bias on every neuron, which LIFNetwork does not have")
    spiking = kind not in ("LI", "CubaLI")
    theta = None
    if spiking:
        theta = float(_uniform(name, node, "v_threshold", node.v_threshold))
        v_reset = getattr(node, "v_reset", None)
        if v_reset is not None and np.any(np.asarray(v_reset, dtype=np.float64) != 0):
            raise ValueError(f"{_describe(name, node)}: v_reset={np.asarray(v_reset).tolist()} is not supported "
                             f"(spikeflux resets to 0 or subtracts the threshold)")
    prec = _float_dtype(tau_mem, *(() if tau_syn is None else (tau_syn,)))
    tm = _uniform(name, node, "tau_mem" if kind.startswith("Cuba") else "tau", tau_mem, prec)
    ts = None if tau_syn is None else _uniform(name, node, "tau_syn", tau_syn, prec)
    r64 = float(_uniform(name, node, "r", r, np.float64))
    w64 = float(_uniform(name, node, "w_in", w_in, np.float64))
    if float(tm) <= 0 or (ts is not None and float(ts) <= 0):
        raise ValueError(f"{_describe(name, node)}: time constants must be positive, got tau={float(tm)}"
                         + ("" if ts is None else f", tau_syn={float(ts)}"))

    if convention == "snntorch":
        step = prec.type(dt)
        beta = float(prec.type(1) - step / tm)  # snnTorch's importer: beta = 1 - dt / tau, in the parameter dtype
        alpha = 0.0 if ts is None else float(prec.type(1) - step / ts)
        for what, v in (("beta", beta), ("alpha", alpha)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{_describe(name, node)}: {what} = 1 - dt/tau = {v} is outside [0, 1] for dt={dt}: "
                                 f"a time constant shorter than dt (snnTorch exports with dt=1e-4)")
        def factor(k: float, tau: float) -> float:  # k dt / tau; snnTorch exports beta = 1 as tau = k dt = inf
            return 1.0 if math.isinf(k) and math.isinf(tau) else k * dt / tau

        gain = factor(r64, float(tm)) * (1.0 if ts is None else factor(w64, float(ts)))
        if not math.isfinite(gain):
            raise ValueError(f"{_describe(name, node)}: input gain r dt / tau = {gain} is not finite "
                             f"(r={r64}, tau={float(tm)})")
        if np.allclose(gain, 1.0):
            gain = 1.0
    elif convention == "rockpool":
        if kind != "CubaLIF":
            raise ValueError(f"{_describe(name, node)}: the rockpool convention maps Rockpool's LIFTorch, exported as "
                             f"CubaLIF; {kind} is not checked against Rockpool's simulation")
        if w64 != 1.0:
            raise ValueError(f"{_describe(name, node)}: w_in={w64} is not 1; Rockpool's LIFTorch has no input weight")
        t_dtype = torch.float64 if prec == np.float64 else torch.float32
        def decay(tau) -> float:  # Rockpool's tau_to_decay: torch.exp(-dt / tau) in the parameter dtype
            return float(torch.exp(-torch.tensor(dt, dtype=t_dtype) / torch.tensor(float(tau), dtype=t_dtype)))

        beta, alpha = decay(tm), decay(ts)
        r_export = float(tm) * math.exp(-dt / float(tm)) / dt
        if not math.isclose(r64, r_export, rel_tol=1e-5):
            raise ValueError(f"{_describe(name, node)}: r={r64} does not match Rockpool's export at dt={dt} "
                             f"(tau_mem e^(-dt/tau_mem) / dt = {r_export}); give the dt of the Rockpool module")
        if beta != 1.0:
            raise ValueError(f"{_describe(name, node)}: a leaky membrane (tau_mem={float(tm)}, beta={beta}) cannot be "
                             f"mapped: Rockpool subtracts the threshold before the leak (v <- beta (v - theta z)), "
                             f"spikeflux after it (U <- beta U + I - theta S); they agree only for beta = 1 "
                             f"(integrate-and-fire)")
        gain = alpha
    else:  # spikeflux
        if r64 != 1.0 or w64 != 1.0:
            raise ValueError(f"{_describe(name, node)}: the spikeflux convention has unit gains (r = w_in = 1), got "
                             f"r={r64}, w_in={w64}")
        beta = math.exp(-dt / float(tm))
        alpha = 0.0 if ts is None else math.exp(-dt / float(ts))
        gain = 1.0
    return dict(kind=kind, alpha=alpha, beta=beta, gain=gain, threshold=theta, spiking=spiking,
                tau_mem=float(tm), tau_syn=None if ts is None else float(ts))


def _shared(field: str, layers: list[tuple[str, Any, dict]]) -> float:
    values = {p[field] for _, _, p in layers}
    if len(values) > 1:
        listing = ", ".join(f"{name!r}: {p[field]!r}" for name, _, p in layers)
        raise ValueError(f"different {field} across layers ({listing}) is not supported: spikeflux has one {field} "
                         f"per network")
    return values.pop()


def from_nir(graph, dt: float, *, convention: str = "snntorch", dtype: torch.dtype | None = None) -> LIFNetwork:
    r"""The spikeflux network of a NIR graph, discretised with step ``dt`` as ``convention`` does (module docstring).

    Parameters
    ----------
    graph : nir.NIRGraph or str or path
        A chain ``Input → (Linear | Affine) → (LIF | CubaLIF) → ... [→ LI] → Output``, or the
        path of a file written by ``nir.write``.
    dt : float
        The time step :math:`\Delta t` of the simulation to reproduce (snnTorch's exporter: ``1e-4``).
    convention : {"snntorch", "rockpool", "spikeflux"}
        Whose discretisation to reproduce.
    dtype : torch.dtype or None
        The network's dtype (default: that of the first weight matrix).

    Returns
    -------
    LIFNetwork
        ``sizes = [n_in (+1 with a first-layer Affine), n_1, ..., n_L]``; ``net.alpha``,
        ``net.beta`` exactly as the convention computes them (kept by ``save``/``load``);
        ``net.metadata`` records ``converted_from="nir"``, ``convention``, ``dt``,
        ``output_delay`` (:math:`L-1` for snntorch/rockpool, 0 for spikeflux),
        ``bias_channel``, ``threshold``, ``output_threshold`` and the node names.

    Raises
    ------
    ValueError
        For a node, edge or parameter that cannot be mapped; the message names the node.
    """
    nir = _nir()
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive time step in seconds, got {dt!r}")
    dt = float(dt)
    if isinstance(graph, (str, bytes)) or hasattr(graph, "__fspath__"):
        graph = nir.read(graph)
    chain = _chain(graph)
    if not chain or len(chain) % 2:
        raise ValueError(f"graph: expected alternating Linear/Affine and LIF/CubaLIF nodes, got "
                         f"{[(k, type(n).__name__) for k, n in chain]}")
    layers, weights, bias = [], [], None
    for i in range(0, len(chain), 2):
        (sk, syn), (nk, neu) = chain[i], chain[i + 1]
        if type(syn).__name__ not in _SYNAPSES:
            raise ValueError(f"{_describe(sk, syn)} is not supported: expected Linear or Affine before each neuron "
                             f"layer (only feed-forward chains of Linear/Affine and LIF/CubaLIF map to LIFNetwork)")
        if type(neu).__name__ not in _NEURONS:
            why = " (a sub-graph: recurrent layers such as snnTorch's RLeaky are not supported)" \
                if isinstance(neu, nir.NIRGraph) else ""
            raise ValueError(f"{_describe(nk, neu)} is not supported: expected LIF or CubaLIF after each Linear/Affine"
                             f"{why}")
        last = i + 2 == len(chain)
        if type(neu).__name__ in ("LI", "CubaLI") and not last:
            raise ValueError(f"{_describe(nk, neu)}: a non-spiking {type(neu).__name__} layer can only be the last "
                             f"one (the readout)")
        w = np.asarray(syn.weight, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"{_describe(sk, syn)}: weight of shape {w.shape} is not a matrix")
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise ValueError(f"{_describe(sk, syn)}: weight of shape {w.shape} takes {w.shape[1]} inputs, the layer "
                             f"before has {weights[-1].shape[0]} neurons")
        if type(syn).__name__ == "Affine":
            b = np.asarray(syn.bias, dtype=np.float64).reshape(-1)
            if i > 0:
                raise ValueError(f"{_describe(sk, syn)} has a bias: only the first layer's bias can be mapped (onto "
                                 f"the constant input channel 0); a later one would need a neuron spiking at every "
                                 f"step")
            bias = b
        params = _neuron(nk, neu, dt, convention)
        layers.append((nk, neu, params))
        weights.append(w)
    alpha, beta = _shared("alpha", layers), _shared("beta", layers)
    spiking = [x for x in layers if x[2]["spiking"]]
    theta = _shared("threshold", spiking) if spiking else 1.0
    last = layers[-1][2]
    meta = dict(getattr(graph, "metadata", None) or {})
    reset = "subtract"
    if convention == "spikeflux":
        reset = str(meta.get("spikeflux_reset", "zero"))
        if "spikeflux_alpha" in meta:  # the exact decays to_nir wrote (a converted network's may not be exp(-dt/tau))
            alpha, beta = float(meta["spikeflux_alpha"]), float(meta["spikeflux_beta"])
    gains = [p["gain"] for _, _, p in layers]
    mats = []
    for l, (w, g) in enumerate(zip(weights, gains)):
        if l == 0 and bias is not None:
            w = np.concatenate([bias[:, None], w], 1)
        mats.append(w if g == 1.0 else w * g)
    first_dtype = torch.from_numpy(np.asarray(chain[0][1].weight)).dtype
    dtype = dtype or (first_dtype if first_dtype.is_floating_point else torch.get_default_dtype())
    L = len(layers)
    readout = "spiking" if last["spiking"] else "leaky"
    if convention == "spikeflux":
        tau_syn = layers[0][2]["tau_syn"] or float(meta.get("spikeflux_tau_syn", dt * 1e-3))
        net = LIFNetwork([mats[0].shape[1]] + [m.shape[0] for m in mats], dt=dt, tau_syn=tau_syn,
                         tau_mem=layers[0][2]["tau_mem"], threshold=theta, reset=reset, readout=readout, seed=0,
                         dtype=dtype)
    else:
        tau_mem, _ = _time_constant(beta)
        tau_syn = TAU_SYN if alpha == 0.0 else _time_constant(alpha)[0]
        net = LIFNetwork([mats[0].shape[1]] + [m.shape[0] for m in mats], dt=1.0, tau_syn=tau_syn, tau_mem=tau_mem,
                         threshold=theta, reset=reset, readout=readout, seed=0, dtype=dtype)
    net.alpha, net.beta = alpha, beta  # exactly as the convention computes them
    with torch.no_grad():
        for p, m in zip(net.weights, mats):
            p.copy_(torch.from_numpy(np.ascontiguousarray(m)).to(dtype))
    net.metadata = dict(converted_from="nir", convention=convention, dt=dt,
                        output_delay=0 if convention == "spikeflux" else L - 1,
                        bias_channel=0 if bias is not None else None, alpha=alpha, beta=beta, threshold=theta,
                        output_threshold=last["threshold"] if last["spiking"] else theta,
                        nodes=[k for k, _ in chain], nir_version=getattr(nir, "__version__", None))
    return net


def to_nir(net: LIFNetwork, *, bias_channel: int | None = None):
    r"""``net`` as a NIR chain ``Input → Linear|Affine → LIF|CubaLIF → ... → Output`` (spikeflux convention).

    Each layer becomes ``Linear`` (or ``Affine`` for the first one when ``bias_channel=0``: column
    0 of :math:`W^1` becomes the bias and the input loses that channel) and a neuron node:
    ``CubaLIF(tau_syn, tau_mem, r=1, w_in=1)`` when :math:`\alpha > 0`, ``LIF(tau_mem, r=1)``
    when :math:`\alpha = 0`, ``CubaLI`` (``LI`` when :math:`\alpha = 0`) for a ``readout="leaky"``
    output layer; time constants
    from ``net.config`` (:math:`\tau = -\Delta t / \ln \beta` where the network's decays were
    set directly, e.g. by :func:`from_nir`), :math:`v_{leak} = v_{reset} = 0`. The graph's
    metadata keeps ``spikeflux_dt``, ``spikeflux_reset``, ``spikeflux_alpha``,
    ``spikeflux_beta`` (exact), so ``from_nir(to_nir(net), dt, convention="spikeflux")``
    reproduces ``net`` bit for bit; other tools read the ODE parameters.

    Parameters
    ----------
    net : LIFNetwork
        Feed-forward (``recurrent=False``), without threshold adaptation.
    bias_channel : 0 or None
        Write input channel 0 as the first layer's bias (default: ``net.metadata["bias_channel"]``
        when the network was converted, else ``None``: every input channel stays an input).

    Raises
    ------
    ValueError
        For a recurrent or adaptive network, or a ``bias_channel`` other than 0 or ``None``.
    """
    nir = _nir()
    if not isinstance(net, LIFNetwork):
        raise TypeError(f"net: expected a spikeflux LIFNetwork, got {type(net).__name__}")
    if net.recurrent_weights:
        raise ValueError("net: recurrent weights are not exported (NIR sub-graphs are not supported here)")
    if net.adaptation is not None:
        raise ValueError("net: threshold adaptation (ALIF) has no NIR node; it is not exported")
    meta = getattr(net, "metadata", None) or {}
    if bias_channel is None:
        bias_channel = meta.get("bias_channel")
    if bias_channel not in (None, 0):
        raise ValueError(f"bias_channel must be 0 or None, got {bias_channel!r}")
    cfg = net.config
    dt = float(cfg["dt"])
    exact = math.exp(-dt / cfg["tau_mem"]) == net.beta and math.exp(-dt / cfg["tau_syn"]) == net.alpha
    tau_mem = cfg["tau_mem"] if exact else (-dt / math.log(net.beta) if 0 < net.beta < 1 else
                                            (dt * 1e20 if net.beta >= 1 else dt * 1e-3))
    tau_syn = cfg["tau_syn"] if exact else (-dt / math.log(net.alpha) if 0 < net.alpha < 1 else dt * 1e-3)
    nodes: dict[str, Any] = {}
    edges = []
    ws = [w.detach().cpu().numpy() for w in net.weights]  # in the network's dtype: from_nir reads it back
    n_in = ws[0].shape[1] - (1 if bias_channel == 0 else 0)
    nodes["input"] = nir.Input(input_type={"input": np.array([n_in])})
    prev = "input"
    for l, w in enumerate(ws):
        n = w.shape[0]
        full = lambda v: np.full(n, v, dtype=np.float64)  # noqa: E731
        if l == 0 and bias_channel == 0:
            syn = nir.Affine(weight=w[:, 1:].copy(), bias=w[:, 0].copy())
        else:
            syn = nir.Linear(weight=w.copy())
        if not net.spiking(l) and net.alpha > 0:
            neu = nir.CubaLI(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(1.0), v_leak=full(0.0),
                             w_in=full(1.0))
        elif not net.spiking(l):
            neu = nir.LI(tau=full(tau_mem), r=full(1.0), v_leak=full(0.0))
        elif net.alpha > 0:
            neu = nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(1.0), v_leak=full(0.0),
                              v_threshold=full(net.threshold), v_reset=full(0.0), w_in=full(1.0))
        else:
            neu = nir.LIF(tau=full(tau_mem), r=full(1.0), v_leak=full(0.0), v_threshold=full(net.threshold),
                          v_reset=full(0.0))
        nodes[f"linear{l + 1}"], nodes[f"lif{l + 1}"] = syn, neu
        edges += [(prev, f"linear{l + 1}"), (f"linear{l + 1}", f"lif{l + 1}")]
        prev = f"lif{l + 1}"
    nodes["output"] = nir.Output(output_type={"output": np.array([ws[-1].shape[0]])})
    edges.append((prev, "output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={})
    graph.metadata = dict(spikeflux_dt=dt, spikeflux_reset=net.reset, spikeflux_alpha=float(net.alpha),
                          spikeflux_beta=float(net.beta), spikeflux_tau_syn=float(tau_syn),
                          spikeflux_bias_channel=-1 if bias_channel is None else int(bias_channel))
    return graph
