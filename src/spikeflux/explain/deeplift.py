r"""DeepLIFT as difference transport behind :func:`~spikeflux.explain.explain`: method ``deeplift``.

DeepLIFT (Shrikumar, Greenside & Kundaje, ICML 2017) explains the difference of the
explained quantity between the input and a reference input,

.. math::

    \Delta f = \sum_j w_j \bigl(U^L_j[t^*] - \bar U^L_j[t^*]\bigr),

with the contrast weights :math:`w` of the request (:attr:`~.request.Request.weights`:
one-hot of the class without a contrast). It runs the reference through the network and
moves Δ-relevance over the unrolled graph (:func:`spikeflux.transport.difference.difference_transport`):
linear nodes by their Δ-contributions, threshold nodes by the rescale multiplier, the
hard-reset product by the Shapley split. The :class:`~spikeflux.transport.Ledger` books every
sink and its ``relevance_init`` is :math:`\Delta f` (summation-to-delta:
:math:`\sum A + \sum \text{sinks} = \Delta f`).

The reference :math:`\bar x` replaces the explained window :math:`[t_0, t^*]` only; the input
before it is the true input, so the reference starts the window from the same carried state
(the ``boundary`` sink is zero). Options:

``baseline`` : None or Tensor
    ``None`` (default): no spikes in the window except the bias channel (``bias_channel``),
    kept as in ``x``. A tensor ``(window, n_in)`` (the same reference window for every target)
    or ``(K, window, n_in)`` (one per target / per sequence of a batch; :func:`~.explanation.explain`
    splits batches larger than :func:`~.explanation.rows_per_record` into chunks, so give a per-row
    reference only to batches of one chunk: a mismatch raises, naming the expected shape).
``bias_channel`` : int or None
    The channel the default reference keeps (0, the bias of the book's models); ``None``: none.
``node_residuals``, ``node_relevance`` : bool
    As for the LRP methods.

This replaces Captum's ``DeepLift``, which on :class:`~spikeflux.snn.LIFNetwork` finds no
``nn.Module`` non-linearity to hook and equals input × gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..snn import LIFNetwork
from ..transport.difference import difference_transport
from .registry import register_method
from .request import Attribution, Request

DEFAULTS = {"baseline": None, "bias_channel": 0, "node_residuals": False, "node_relevance": False}


def _check(opts: dict) -> dict:
    """The option values (their names were checked where the method registered, :data:`DEFAULTS`)."""
    for name in ("node_residuals", "node_relevance"):
        if not isinstance(opts[name], bool):
            raise ValueError(f"{name} must be True or False, got {opts[name]!r}")
    c = opts["bias_channel"]
    if c is not None and (isinstance(c, bool) or not isinstance(c, int)):
        raise ValueError(f"bias_channel must be an int or None, got {c!r}")
    return opts


def reference_windows(x_windows: Tensor, baseline, bias_channel: int | None) -> Tensor:
    r""":math:`\bar x` of every window, ``(K, w, n_in)``, from the input windows ``(K, w, n_in)`` and the option."""
    K, w, n_in = x_windows.shape
    if baseline is None:
        ref = torch.zeros_like(x_windows)
        if bias_channel is not None:
            if not 0 <= bias_channel < n_in:
                raise ValueError(f"bias_channel={bias_channel} is out of range for {n_in} input channels")
            ref[..., bias_channel] = x_windows[..., bias_channel]
        return ref
    ref = torch.as_tensor(baseline).to(dtype=x_windows.dtype, device=x_windows.device)
    if ref.shape == (w, n_in):
        ref = ref.expand(K, w, n_in)
    if ref.shape != (K, w, n_in):
        raise ValueError(f"baseline: expected a reference window of shape ({w}, {n_in}) (window, n_in) "
                         f"or ({K}, {w}, {n_in}) (one per target), got {tuple(ref.shape)}")
    if not bool(torch.isfinite(ref).all()):
        raise ValueError("baseline: values must be finite")
    return ref.clone()


def reference_inputs(x: Tensor, request: Request, ref_windows: Tensor) -> Tensor:
    """``(K, max(t)+1, n_in)``: each target's input with its window replaced by its reference window."""
    T = int(request.t.max()) + 1
    base = x[None, :T] if x.dim() == 2 else x[:, :T]
    X = base.expand(len(request.t), -1, -1).clone()
    steps = request.t0[:, None] + torch.arange(request.window, device=request.t.device)  # (K, w)
    X[torch.arange(len(request.t), device=X.device)[:, None], steps] = ref_windows
    return X


@register_method("deeplift", family="deeplift",
                 description="DeepLIFT as difference transport (rescale at spikes, Shapley split of the reset "
                             "product) from the no-spike reference; ledger sums to f(x) - f(x_ref)",
                 options=DEFAULTS)
def deeplift(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    r"""DeepLIFT of :math:`\sum_j w_j (U^L_j[t^*] - \bar U^L_j[t^*])` (module docstring)."""
    from .gradients import windows  # the (K, w, n_in) input windows of one sequence or a batch

    opts = _check(options)
    if request.all_classes:
        raise ValueError("deeplift does not support all_classes=True")
    ref_win = reference_windows(windows(x, request.t0, request.window), opts["baseline"], opts["bias_channel"])
    with torch.no_grad():
        ref = net(reference_inputs(x, request, ref_win), record=True)
    weights = request.weights
    attribution, ledger = difference_transport(
        net, request.forward.record, ref.record, request.t, request.window, weights, target=request.target,
        node_residuals=opts["node_residuals"], node_relevance=opts["node_relevance"])
    rows = torch.arange(len(request.t), device=request.t.device)
    f_ref = (weights * ref.output[rows, request.t]).sum(-1)
    f_in = request.explained
    described = ("no spikes in the window" + (f" except channel {opts['bias_channel']} (kept)"
                                              if opts["bias_channel"] is not None else "")
                 if opts["baseline"] is None else "given reference window") + ", input before it unchanged"
    info = {"explained": f"difference of {request.explained_name} from the reference",
            "f_input": f_in, "f_baseline": f_ref, "baseline": described,
            "explained_value": (f_in - f_ref)[0] if request.single else f_in - f_ref,
            "product_rule": "shapley", "threshold_rule": "rescale"}
    return Attribution(attribution, ledger.squeeze() if request.single else ledger, info)
