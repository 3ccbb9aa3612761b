"""The :func:`explain` dispatcher and its result, :class:`Explanation`.

:func:`explain` validates the arguments (:mod:`.request`), records the forward pass, builds the
:class:`~.request.Request` and calls the method registered under the name (:data:`~.registry.METHODS`;
the method's options are checked against those it declared, in :meth:`~.registry.MethodInfo.resolve`).
It splits large batches of sequences into chunks of rows (:data:`RECORD_BYTES`,
:func:`spikeflux.chunking.map_chunks`), so a method sees at most a chunk, and joins the chunks'
results with :func:`concat_rows`: tensors a method returns (map, ledger fields, ``info`` entries)
carry the leading ``K`` axis. Methods split further where their own memory needs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..chunking import map_chunks, rows_within
from ..snn import LIFNetwork
from .registry import METHODS, MethodInfo
from .request import (Request, _as_steps, _check_input, _check_net, _check_targets, _check_window, _row_steps,
                      readout_weights)

#: Memory budget (bytes) of one recorded forward pass over a batch of sequences; larger
#: batches are explained in chunks of rows (see :func:`rows_per_record`).
RECORD_BYTES = 2 ** 30


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


def rows_per_record(net: LIFNetwork, T: int) -> int:
    """Sequences of ``T`` steps whose recorded forward pass stays under :data:`RECORD_BYTES`.

    A record keeps the input and, per layer, spikes, currents, membranes and thresholds
    (``n_in + 4 n_l`` values a step), and the pass holds about as much again in transients.
    """
    return rows_within(RECORD_BYTES, 2 * T * (net.sizes[0] + 4 * sum(net.sizes[1:])), net.dtype)


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
        Method options (``epsilon``, ``n_steps``, ...): those the method declared where it registered
        (listed below with their defaults); an unknown one is a ``ValueError`` naming the method, the
        option and the accepted ones (:meth:`~.registry.MethodInfo.resolve`).

    Notes
    -----
    A batch of sequences is recorded in one forward pass (with ``record=True``) per chunk of
    rows, chunks bounded by :data:`RECORD_BYTES` (122 float64 or 244 float32 rows of
    1200 steps of the ADL-sized network); each chunk is explained by one method call, which
    bounds its own memory (transport: :data:`spikeflux.transport.engine.SWEEP_BYTES`; gradients:
    :data:`spikeflux.explain.gradients.GRAPH_BYTES`; TSA: chunks of steps).
    """
    if method not in METHODS:
        raise ValueError(f"unknown explanation method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    options = info.resolve(options)
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

    def chunk(rows: slice):
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
        return part, c, out_t.gather(1, c[:, None])[:, 0]

    def join(chunks):
        parts, classes, logits = zip(*chunks)
        return parts[0] if len(parts) == 1 else concat_rows(list(parts)), torch.cat(classes), torch.cat(logits)

    out, classes, logits = map_chunks(chunk, B, rows_per_record(net, int(steps.max()) + 1), join)
    return Explanation(attribution=out.attribution, target=classes, t=steps, window=window,
                       method=info.name, logit=logits, ledger=out.ledger, info=out.info)


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
