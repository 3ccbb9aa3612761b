"""One registry of explanation methods, and the :func:`explain` dispatcher.

Every method is a function registered by name with :func:`register_method`::

    @register_method("tsa-s", family="tsa", description="...")
    def tsa_s(net, x, request, **options) -> Attribution: ...

It receives the network, the input ``x`` (already in the network's dtype and device) and
a :class:`Request` that :func:`explain` has validated: the explained steps ``t`` (``(K,)``
long tensor), the classes ``target`` (``(K,)``), the common ``window`` length,
``all_classes`` and the recorded forward pass, which methods may reuse. There are two
kinds of batch, told apart by the recorded pass (:attr:`Request.batched`):

- one sequence, ``K`` explained steps: ``x`` is ``(T, n_in)``, the pass records
  ``x[None, :max(t)+1]`` (batch 1) and every target reads its row 0;
- ``K`` sequences, one explained step each: ``x`` is ``(K, T, n_in)``, the pass records
  ``x[:, :max(t)+1]`` (batch ``K``) and target ``k`` reads row ``k`` (:attr:`Request.rows`).

It returns an :class:`Attribution` with the map of shape ``(K, n_in, window)`` (or
``(K, n_out, n_in, window)`` when ``all_classes``), column ``window-1`` being ``t``, row ``k``
the same as for a call on sequence ``k`` alone. :func:`explain` splits large batches of
sequences into chunks of rows (:data:`RECORD_BYTES`), so a method sees at most a chunk,
and joins the chunks' results with :func:`concat_rows`: tensors a method returns (map,
ledger fields, ``info`` entries) carry the leading ``K`` axis. Methods split further where
their own memory needs it. Adding a method touches one place: its own module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ..snn import LIFNetwork, SNNOutput


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function and metadata (family, description, options)."""

    name: str
    fn: Callable[..., "Attribution"]
    family: str
    description: str
    supports_all_classes: bool = False


METHODS: dict[str, MethodInfo] = {}

#: Memory budget (bytes) of one recorded forward pass over a batch of sequences; larger
#: batches are explained in chunks of rows (see :func:`rows_per_record`).
RECORD_BYTES = 2 ** 30


def register_method(name: str, *, family: str, description: str, all_classes: bool = False):
    """Decorator: register ``fn`` under ``name`` in :data:`METHODS`."""

    def wrap(fn):
        if name in METHODS:
            raise ValueError(f"explanation method {name!r} is registered twice")
        METHODS[name] = MethodInfo(name, fn, family, description, all_classes)
        return fn

    return wrap


@dataclass
class Request:
    """The validated arguments every method receives (see module docstring)."""

    t: Tensor  # (K,) long, explained steps
    target: Tensor  # (K,) long, explained classes
    window: int  # common window length, ending at each t
    all_classes: bool
    forward: SNNOutput  # recorded forward pass up to max(t): batch 1 (one sequence) or K (one per target)
    single: bool = False  # t was one int: results lose the K axis
    readout: Tensor | None = None  # (K, n_out) contrast weights w: the explained quantity is sum_j w_j U^L_j[t]
    contrast: Any = None  # what the caller asked for (None, "mean", "runner-up" or weights)

    @property
    def weights(self) -> Tensor:
        """``(K, n_out)`` weights :math:`w` of the explained quantity :math:`\\sum_j w_j U^L_j[t^*]`
        (one-hot of the target when no contrast was asked for)."""
        if self.readout is not None:
            return self.readout
        return torch.zeros_like(self.logits).scatter_(1, self.target[:, None], 1.0)

    @property
    def explained(self) -> Tensor:
        """``(K,)``: the explained quantity :math:`\\sum_j w_j U^L_j[t^*]` of every target."""
        return (self.weights * self.logits).sum(-1)

    @property
    def explained_name(self) -> str:
        """A readable name of the explained quantity (``Explanation.info["explained"]``)."""
        return contrast_name(self.contrast)

    @property
    def batched(self) -> bool:
        """Whether target ``k`` explains sequence ``k`` of a batch (else all explain one sequence)."""
        return self.forward.output.shape[0] > 1

    @property
    def rows(self) -> Tensor:
        """``(K,)``: the row of the recorded pass that each target reads (all 0 for one sequence)."""
        return torch.arange(len(self.t), device=self.t.device) if self.batched else torch.zeros_like(self.t)

    @property
    def t0(self) -> Tensor:
        """First step of each window, ``t - window + 1``."""
        return self.t - self.window + 1

    @property
    def logits(self) -> Tensor:
        """``(K, n_out)``: the readout :math:`U^L[t]` at each explained step."""
        return self.forward.output[self.rows, self.t]


@dataclass
class Attribution:
    """What a method function returns: the batched map and optional extras."""

    attribution: Tensor  # (K, n_in, window) or (K, n_out, n_in, window)
    ledger: Any = None
    info: dict = field(default_factory=dict)


@dataclass
class Explanation:
    """The result of :func:`explain`.

    Attributes
    ----------
    attribution : Tensor
        ``(n_in, window)`` for an int ``t``; ``(len(t), n_in, window)`` for a list;
        ``(B, n_in, window)`` for a batch of sequences;
        with ``all_classes=True`` a class axis ``n_out`` comes before ``n_in``.
        The last column is the explained step ``t``.
    target : int or Tensor
        The explained class(es) (``(K,)`` or ``(B,)``).
    t : int or Tensor
        The explained step(s) (``(K,)`` or ``(B,)``).
    window : int
    method : str
    logit : float or Tensor
        The explained readout :math:`U^L_c[t]` (``(K,)`` or ``(B,)``).
    ledger : object or None
        The relevance ledger (LRP methods; per-target fields with a leading ``K`` or ``B`` axis).
    info : dict
        Method-specific extras (e.g. a completeness gap, the IG baseline output).
    """

    attribution: Tensor
    target: Any
    t: Any
    window: int
    method: str
    logit: Any
    ledger: Any = None
    info: dict = field(default_factory=dict)


#: the contrasts :func:`explain` knows by name (besides ``None`` and explicit weights)
CONTRASTS = ("mean", "runner-up")


def contrast_name(contrast) -> str:
    """What :func:`explain` explains under ``contrast`` (:data:`CONTRASTS`, ``None`` or weights)."""
    if contrast is None:
        return "logit U_c[t*]"
    if isinstance(contrast, str):
        return {"mean": "U_c[t*] - mean_{k!=c} U_k[t*]", "runner-up": "U_c[t*] - U_k2[t*] (k2: runner-up)"}[contrast]
    return "sum_j w_j U_j[t*] (given weights)"


def readout_weights(logits: Tensor, target: Tensor, contrast) -> Tensor | None:
    r"""``(K, n_out)`` weights :math:`w` of the explained quantity :math:`\sum_j w_j U^L_j[t^*]`.

    ``logits`` ``(K, n_out)`` is :math:`U^L[t^*]`, ``target`` ``(K,)`` the classes :math:`c`.

    - ``None``: no contrast (returns ``None``; the methods explain :math:`U^L_c[t^*]`);
    - ``"mean"``: :math:`w_c = 1`, :math:`w_k = -1/(n_\text{out}-1)` for :math:`k \ne c`;
    - ``"runner-up"``: :math:`w_c = 1`, :math:`w_{k_2} = -1` with :math:`k_2 = \arg\max_{k \ne c} U^L_k[t^*]`;
    - a tensor ``(n_out,)`` or ``(K, n_out)``: those weights (e.g. ``[-1, 1]`` for a two-class detector).
    """
    if contrast is None:
        return None
    K, n_out = logits.shape
    if isinstance(contrast, str):
        if contrast not in CONTRASTS:
            raise ValueError(f"contrast must be None, one of {CONTRASTS} or a weight tensor, got {contrast!r}")
        if n_out < 2:
            raise ValueError(f"contrast={contrast!r} needs at least two output classes, the network has {n_out}")
        rows = torch.arange(K, device=logits.device)
        w = torch.zeros_like(logits)
        if contrast == "mean":
            w[:] = -1.0 / (n_out - 1)
        else:
            others = logits.clone()
            others[rows, target] = -torch.inf
            w[rows, others.argmax(-1)] = -1.0
        w[rows, target] = 1.0
        return w
    w = torch.as_tensor(contrast, dtype=logits.dtype, device=logits.device)
    if w.dim() == 1:
        w = w.expand(K, -1)
    if w.shape != (K, n_out):
        raise ValueError(f"contrast: weights must have shape ({n_out},) or ({K}, {n_out}), got {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError("contrast: weights must be finite")
    return w.clone()


def _is_scalar(v) -> bool:
    """An int-like scalar: int, numpy integer (what ``np.argmax`` returns), 0-d tensor or array."""
    return isinstance(v, (int, float, np.number)) or (isinstance(v, (Tensor, np.ndarray)) and v.ndim == 0)


def _integer(name: str, v) -> int:
    """``v`` as an int if it is an integer (int, numpy integer, 0-d integer tensor/array), else ``ValueError``."""
    if isinstance(v, (Tensor, np.ndarray)) and v.ndim == 0:
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name}: steps are integers (int, numpy integer or an integer tensor), got {v!r} "
                         f"({type(v).__name__})" + ("; round it explicitly" if isinstance(v, (float, np.floating))
                                                   else ""))
    return int(v)


def _as_steps(t, T: int) -> tuple[Tensor, bool]:
    single = _is_scalar(t)
    if not single and not hasattr(t, "__iter__"):
        raise ValueError(f"t: give one step or a list of steps (ints), got {t!r} ({type(t).__name__})")
    steps = torch.as_tensor([_integer("t", t)] if single else [_integer("t", s) for s in t], dtype=torch.long)
    if steps.numel() == 0:
        raise ValueError("t: give at least one step to explain")
    _check_range(steps, T)
    return steps, single


def _check_range(steps: Tensor, T: int):
    bad = steps[(steps < 0) | (steps >= T)]
    if bad.numel():
        raise ValueError(f"t: step {int(bad[0])} is out of range for a sequence of length T={T} (0..{T - 1})")


def _row_steps(t, B: int, T: int) -> Tensor:
    """``(B,)`` steps for a batch of ``B`` sequences: one int for every row, or one per row."""
    steps = torch.as_tensor(t)
    if steps.dtype == torch.bool or steps.is_floating_point() or steps.is_complex():
        raise ValueError(f"t: steps must be integers, got {steps.dtype}")
    if steps.dim() == 0:
        steps = steps.expand(B)
    if steps.dim() != 1 or steps.numel() != B:
        raise ValueError(f"t: give one int, or one step per sequence: x has B={B} sequences, "
                         f"t has shape {tuple(steps.shape)}")
    steps = steps.to(torch.long).cpu().clone()
    _check_range(steps, T)
    return steps


def _check_window(window, steps: Tensor) -> int:
    window = int(steps.min()) + 1 if window is None else _integer("window", window)
    if window < 1 or window > int(steps.min()) + 1:
        raise ValueError(f"window={window} must be between 1 and t+1={int(steps.min()) + 1} "
                         f"(it ends at t and cannot reach before step 0)")
    return window


def _check_net(net) -> None:
    """``TypeError`` naming ``net`` for anything but a :class:`LIFNetwork`, with the way to convert it."""
    if isinstance(net, LIFNetwork):
        return
    kind = f"{type(net).__module__}.{type(net).__name__}"
    mods = [type(m).__module__ for m in net.modules()] if isinstance(net, torch.nn.Module) else []
    if any(m.startswith("snntorch") for m in mods):
        hint = ("convert it first: spikeflux.interop.from_snntorch(model) takes an nn.Sequential of Linear and "
                "snntorch.Leaky layers (a model with fc1/lif1 attributes: wrap them as "
                "nn.Sequential(model.fc1, model.lif1, model.fc2, model.lif2)), or export it to NIR and use "
                "spikeflux.interop.from_nir")
    elif isinstance(net, torch.nn.Module):
        hint = ("explain() needs the spiking network's equations; build a LIFNetwork, or import a model with "
                "spikeflux.interop.from_snntorch / from_nir")
    else:
        hint = "build one with spikeflux.snn.LIFNetwork or load one with LIFNetwork.load(path)"
    raise TypeError(f"net: expected a spikeflux.snn.LIFNetwork, got {kind}; {hint}")


def _check_input(x: Tensor, info: MethodInfo) -> None:
    """``x`` finite, and spikes (0/1) for the TSA family, which assumes them."""
    if x.is_floating_point() or x.is_complex():
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            where = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(f"x: {int(bad.sum())} non-finite value(s) (NaN or inf), the first at index {where} "
                             f"({float(x[where])}); explanations need finite input")
    if info.family == "tsa":
        off = (x != 0) & (x != 1)
        if bool(off.any()):
            where = tuple(int(i) for i in off.nonzero()[0])
            raise ValueError(f"x: method {info.name!r} (Temporal Spike Attribution) assumes spike input, every value "
                             f"0 or 1; x[{', '.join(map(str, where))}] = {float(x[where])}. Binarise the input, or use "
                             f"an LRP or gradient method for real-valued input")


def _check_targets(target, K: int, n_out: int, what: str) -> Tensor | None:
    """``(K,)`` classes from ``None`` (kept ``None``: the predictions), an int or ``K`` classes."""
    if target is None:
        return None
    scalar = isinstance(target, int) or (isinstance(target, Tensor) and target.dim() == 0)
    targets = torch.as_tensor([int(target)] * K if scalar else [int(c) for c in target], dtype=torch.long)
    if targets.numel() != K:
        raise ValueError(f"target: {targets.numel()} classes given for {K} {what}")
    bad = targets[(targets < 0) | (targets >= n_out)]
    if bad.numel():
        raise ValueError(f"target: class {int(bad[0])} is out of range (0..{n_out - 1})")
    return targets


def rows_per_record(net: LIFNetwork, T: int) -> int:
    """Sequences of ``T`` steps whose recorded forward pass stays under :data:`RECORD_BYTES`.

    A record keeps the input and, per layer, spikes, currents, membranes and thresholds
    (``n_in + 4 n_l`` values a step), and the pass holds about as much again in transients.
    """
    itemsize = torch.empty((), dtype=net.dtype).element_size()
    per_row = 2 * itemsize * T * (net.sizes[0] + 4 * sum(net.sizes[1:]))
    return max(1, RECORD_BYTES // per_row)


def explain(
    net: LIFNetwork,
    x: Tensor,
    t,
    method: str = "lrp-epsilon",
    target=None,
    window: int | None = None,
    all_classes: bool = False,
    contrast=None,
    **options,
) -> Explanation:
    """Explain the prediction of ``net`` at step(s) ``t`` of the sequence ``x``, or of a batch of sequences.

    Parameters
    ----------
    net : LIFNetwork
        The network; it runs in its own dtype and device (``net.double()`` gives float64).
    x : Tensor
        ``(T, n_in)`` one input sequence, or ``(B, T, n_in)`` a batch of ``B`` sequences
        (one explained step each; row ``k`` of the result is the explanation of ``x[k]`` alone).
    t : int or list of int
        The explained step(s) :math:`t^*`: for one sequence an int or a list of ``K`` steps;
        for a batch an int (the same step in every row) or ``B`` steps (one per row).
    method : str
        A name in :data:`METHODS` (``lrp-epsilon``, ``tsa-ns``, ``integrated-gradients``, ...).
    target : int, list of int or None
        The explained class(es) (one per step, resp. per row); default the prediction
        :math:`\\arg\\max_c U^L_c[t]`.
    window : int or None
        Steps ending at ``t``; default all of ``0..t`` (for several steps: ``min(t) + 1``).
    all_classes : bool
        Return the map of every class (methods that support it, e.g. TSA).
    contrast : None, "mean", "runner-up" or Tensor
        What is explained (:func:`readout_weights`): ``None`` the logit :math:`U^L_c[t^*]`;
        ``"mean"`` :math:`U^L_c - \\frac{1}{n-1}\\sum_{k \\ne c} U^L_k`; ``"runner-up"``
        :math:`U^L_c - U^L_{k_2}` (:math:`k_2` the highest other class); or weights ``(n_out,)``
        / ``(K, n_out)``. LRP injects the signed start at every output node the contrast reads
        (the ledger's ``relevance_init`` is the explained quantity); gradient methods
        differentiate it; TSA and SAM keep their published definition (the softmax probability)
        and ignore it. ``Explanation.info["explained"]`` names what was explained and
        ``info["explained_value"]`` holds its value(s).
    **options
        Method options (``epsilon``, ``n_steps``, ...).

    Notes
    -----
    A batch of sequences is recorded in one forward pass (with ``record=True``) per chunk of
    rows, chunks bounded by :data:`RECORD_BYTES` (122 float64 or 244 float32 rows of
    1200 steps of the ADL-sized network); each chunk is explained by one method call, which
    bounds its own memory (transport: :data:`spikeflux.transport.engine.SWEEP_BYTES`; gradients:
    :data:`spikeflux.explain.gradients.GRAPH_BYTES`; TSA: chunks of steps).
    """
    from . import METHODS as _loaded  # noqa: F401  (import the method modules once)

    if method not in METHODS:
        raise ValueError(f"unknown explanation method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    _check_net(net)
    x = torch.as_tensor(x)
    n_in = net.sizes[0]
    if x.dim() not in (2, 3) or x.shape[-1] != n_in:
        raise ValueError(f"x must have shape (T, n_in={n_in}) or (B, T, n_in={n_in}), got {tuple(x.shape)}")
    _check_input(x, info)
    if all_classes and not info.supports_all_classes:
        raise ValueError(f"method {method!r} does not support all_classes=True")
    x = x.to(dtype=net.dtype, device=net.device)
    if x.dim() == 3:
        return _explain_batch(net, info, x, t, target, window, all_classes, options, contrast)
    steps, single = _as_steps(t, x.shape[0])
    window = _check_window(window, steps)
    with torch.no_grad():
        fwd = net(x[None, : int(steps.max()) + 1], record=True)
    targets = _check_targets(target, len(steps), net.sizes[-1], "steps")
    if targets is None:
        targets = fwd.output[0, steps].argmax(-1)
    targets = targets.to(steps.device)
    readout = readout_weights(fwd.output[0, steps], targets, contrast)
    req = Request(t=steps, target=targets, window=window, all_classes=all_classes, forward=fwd,
                  single=single, readout=readout, contrast=contrast)
    out = info.fn(net, x, req, **options)
    out.info.setdefault("explained", req.explained_name)
    out.info.setdefault("explained_value", req.explained[0] if single else req.explained)
    logit = fwd.output[0, steps, targets]
    attr = out.attribution[0] if single else out.attribution
    return Explanation(
        attribution=attr,
        target=int(targets[0]) if single else targets,
        t=int(steps[0]) if single else steps,
        window=window,
        method=method,
        logit=float(logit[0]) if single else logit,
        ledger=out.ledger,
        info=out.info,
    )


def _explain_batch(net: LIFNetwork, info: MethodInfo, x: Tensor, t, target, window, all_classes: bool,
                   options: dict, contrast=None) -> Explanation:
    """:func:`explain` of ``B`` sequences ``x`` ``(B, T, n_in)``, one explained step each, in chunks of rows."""
    B, T = x.shape[:2]
    if B == 0 or T == 0:
        raise ValueError(f"x: need at least one sequence of at least one step, got shape {tuple(x.shape)}")
    steps = _row_steps(t, B, T).to(x.device)
    window = _check_window(window, steps)
    targets = _check_targets(target, B, net.sizes[-1], "sequences")
    chunk = rows_per_record(net, int(steps.max()) + 1)
    parts, classes, logits = [], [], []
    for lo in range(0, B, chunk):
        rows = slice(lo, lo + chunk)
        s = steps[rows]
        with torch.no_grad():
            fwd = net(x[rows, : int(s.max()) + 1], record=True)
        out_t = fwd.output[torch.arange(len(s), device=s.device), s]  # (rows, n_out), U^L[t] of each row
        c = out_t.argmax(-1) if targets is None else targets[rows].to(s.device)
        w = contrast
        if isinstance(contrast, Tensor) and contrast.dim() == 2:
            w = contrast[rows]
        req = Request(t=s, target=c, window=window, all_classes=all_classes, forward=fwd,
                      readout=readout_weights(out_t, c, w), contrast=contrast)
        part = info.fn(net, x[rows], req, **options)
        part.info.setdefault("explained", req.explained_name)
        part.info.setdefault("explained_value", req.explained)
        parts.append(part)
        classes.append(c)
        logits.append(out_t.gather(1, c[:, None])[:, 0])
        del fwd
    out = parts[0] if len(parts) == 1 else concat_rows(parts)
    return Explanation(attribution=out.attribution, target=torch.cat(classes), t=steps, window=window,
                       method=info.name, logit=torch.cat(logits), ledger=out.ledger, info=out.info)


def concat_rows(parts: list):
    """Several chunks' results as one: per-row tensors (leading axis) concatenated, recursively
    through dicts and dataclasses (:class:`Attribution`, ledgers); everything else (names,
    parameters, the same in every chunk) kept from the first."""
    first = parts[0]
    if isinstance(first, Tensor) and first.dim() > 0:
        return torch.cat(parts)
    if isinstance(first, dict):
        return {k: concat_rows([p[k] for p in parts]) for k in first}
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        return dataclasses.replace(first, **{f.name: concat_rows([getattr(p, f.name) for p in parts])
                                             for f in dataclasses.fields(first) if f.init})
    return first
