"""What every explanation method receives and returns: :class:`Request`, :class:`Attribution`, and
the validation of :func:`~spikeflux.explain.explain`'s arguments (steps, window, classes, contrast).

A method function (registered with :func:`~spikeflux.explain.registry.register_method`) gets the
network, the input ``x`` (already in the network's dtype and device) and a :class:`Request` that
:func:`~spikeflux.explain.explain` has validated: the explained steps ``t`` (``(K,)`` long tensor),
the classes ``target`` (``(K,)``), the common ``window`` length, ``all_classes`` and the recorded
forward pass, which methods may reuse. There are two kinds of batch, told apart by the recorded
pass (:attr:`Request.batched`):

- one sequence, ``K`` explained steps: ``x`` is ``(T, n_in)``, the pass records
  ``x[None, :max(t)+1]`` (batch 1) and every target reads its row 0;
- ``K`` sequences, one explained step each: ``x`` is ``(K, T, n_in)``, the pass records
  ``x[:, :max(t)+1]`` (batch ``K``) and target ``k`` reads row ``k`` (:attr:`Request.rows`).

It returns an :class:`Attribution` with the map of shape ``(K, n_in, window)`` (or
``(K, n_out, n_in, window)`` when ``all_classes``), column ``window-1`` being ``t``, row ``k``
the same as for a call on sequence ``k`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..snn import LIFNetwork, SNNOutput


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


def _check_input(x: Tensor, info) -> None:
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


def check_positive_int(name: str, value, allow_none: bool = False) -> None:
    """``ValueError`` naming option ``name`` unless ``value`` is a positive int (or ``None`` where allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''}, got {value!r}")
