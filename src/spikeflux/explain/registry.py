"""One registry of explanation methods, and the :func:`explain` dispatcher.

Every method is a function registered by name with :func:`register_method`::

    @register_method("tsa-s", family="tsa", description="...")
    def tsa_s(net, x, request, **options) -> Attribution: ...

It receives the network, the one input sequence ``x`` of shape ``(T, n_in)`` (already
in the network's dtype and device), and a :class:`Request` that :func:`explain` has
validated: the explained steps ``t`` (``(K,)`` long tensor), the classes ``target``
(``(K,)``), the common ``window`` length, ``all_classes`` and the recorded forward pass
of ``x[:max(t)+1]`` (batch 1), which methods may reuse. It returns an
:class:`Attribution` with the map of shape ``(K, n_in, window)`` (or
``(K, n_out, n_in, window)`` when ``all_classes``), column ``window-1`` being ``t``.
Adding a method touches one place: its own module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

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
    forward: SNNOutput  # recorded forward pass of x[:max(t)+1], batch 1
    single: bool = False  # t was one int: results lose the K axis

    @property
    def t0(self) -> Tensor:
        """First step of each window, ``t - window + 1``."""
        return self.t - self.window + 1

    @property
    def logits(self) -> Tensor:
        """``(K, n_out)``: the readout :math:`U^L[t]` at each explained step."""
        return self.forward.output[0, self.t]


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
        with ``all_classes=True`` a class axis ``n_out`` comes before ``n_in``.
        The last column is the explained step ``t``.
    target : int or Tensor
        The explained class(es).
    t : int or Tensor
        The explained step(s).
    window : int
    method : str
    logit : float or Tensor
        The explained readout :math:`U^L_c[t]`.
    ledger : object or None
        The relevance ledger (LRP methods).
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


def _as_steps(t, T: int) -> tuple[Tensor, bool]:
    single = isinstance(t, int) or (isinstance(t, Tensor) and t.dim() == 0)
    steps = torch.as_tensor([int(t)] if single else [int(s) for s in t], dtype=torch.long)
    if steps.numel() == 0:
        raise ValueError("t: give at least one step to explain")
    bad = steps[(steps < 0) | (steps >= T)]
    if bad.numel():
        raise ValueError(f"t: step {int(bad[0])} is out of range for a sequence of length T={T} (0..{T - 1})")
    return steps, single


def explain(
    net: LIFNetwork,
    x: Tensor,
    t,
    method: str = "lrp-epsilon",
    target=None,
    window: int | None = None,
    all_classes: bool = False,
    **options,
) -> Explanation:
    """Explain the prediction of ``net`` at step(s) ``t`` of the sequence ``x``.

    Parameters
    ----------
    net : LIFNetwork
        The network; it runs in its own dtype and device (``net.double()`` gives float64).
    x : Tensor
        ``(T, n_in)`` one input sequence.
    t : int or list of int
        The explained step(s) :math:`t^*`.
    method : str
        A name in :data:`METHODS` (``lrp-epsilon``, ``tsa-ns``, ``integrated-gradients``, ...).
    target : int, list of int or None
        The explained class(es); default the prediction :math:`\\arg\\max_c U^L_c[t]`.
    window : int or None
        Steps ending at ``t``; default all of ``0..t`` (for several steps: ``min(t) + 1``).
    all_classes : bool
        Return the map of every class (methods that support it, e.g. TSA).
    **options
        Method options (``epsilon``, ``n_steps``, ...).
    """
    from . import METHODS as _loaded  # noqa: F401  (import the method modules once)

    if method not in METHODS:
        raise ValueError(f"unknown explanation method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != net.sizes[0]:
        raise ValueError(f"x must have shape (T, n_in={net.sizes[0]}), got {tuple(x.shape)}")
    x = x.to(dtype=net.dtype, device=net.device)
    steps, single = _as_steps(t, x.shape[0])
    if window is None:
        window = int(steps.min()) + 1
    window = int(window)
    if window < 1 or window > int(steps.min()) + 1:
        raise ValueError(f"window={window} must be between 1 and t+1={int(steps.min()) + 1} "
                         f"(it ends at t and cannot reach before step 0)")
    if all_classes and not info.supports_all_classes:
        raise ValueError(f"method {method!r} does not support all_classes=True")
    with torch.no_grad():
        fwd = net(x[None, : int(steps.max()) + 1], record=True)
    n_out = net.sizes[-1]
    if target is None:
        targets = fwd.output[0, steps].argmax(-1)
    else:
        targets = torch.as_tensor([int(target)] * len(steps) if isinstance(target, int)
                                  else [int(c) for c in target], dtype=torch.long)
        if targets.numel() != steps.numel():
            raise ValueError(f"target: {targets.numel()} classes given for {steps.numel()} steps")
        bad = targets[(targets < 0) | (targets >= n_out)]
        if bad.numel():
            raise ValueError(f"target: class {int(bad[0])} is out of range (0..{n_out - 1})")
    req = Request(t=steps, target=targets.to(steps.device), window=window, all_classes=all_classes, forward=fwd,
                  single=single)
    out = info.fn(net, x, req, **options)
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
