r"""Gradient baselines through Captum: integrated gradients, saliency, input x gradient.

Every method explains the per-step logit

.. math::

    f(x_{[t_0, t^*]}) = U^L_c[t^*]

as a function of the input window :math:`x_{[t_0, t^*]}` alone: the input before the
window is held at its true values, i.e. the network starts the window from the true
carried state :math:`I^l[t_0-1], U^l[t_0-1], b^l[t_0-1]`, read from the recorded forward
pass (:func:`carried_state`). Gradients flow through the network's fast-sigmoid
surrogate (``spec/transport.md`` §1), not through the true derivative of the Heaviside
step (zero almost everywhere), so none of these maps is exact for the spiking network.

:class:`WindowLogits` is the ``nn.Module`` Captum sees: ``forward(window, *state)``
returns :math:`U^L[t^*]` of shape ``(batch, n_out)``. The ``K`` explained steps share the
window length, so one Captum call takes a batch of ``K`` windows (split into passes of
``batch_size`` windows to bound the autograd graph, see :func:`rows_per_pass`), whether they
are ``K`` steps of one sequence or one step of each of ``K`` sequences (a batch of
sequences: window ``k`` and its carried state are read from row ``k``).

Every method's ``info`` holds the completeness gap per explained step

.. math::

    \delta = \sum_{i,t} A_i[t] - \bigl(f(x) - f(\bar x)\bigr),

with the baseline :math:`\bar x` = no spikes in the window (prefix unchanged), and
``f_input`` = :math:`f(x)`, ``f_baseline`` = :math:`f(\bar x)`. For integrated gradients
:math:`\delta` is Captum's convergence delta; it would vanish as ``n_steps`` grows only for
a differentiable :math:`f`, which the spiking network is not (the surrogate gradient is
not the derivative of the step function), so it need not close.

Why Captum's DeepLIFT is not here. Captum's :class:`~captum.attr.DeepLift` replaces gradients by
"rescale" multipliers only at ``nn.Module`` non-linearities it knows (``nn.ReLU``,
``nn.Sigmoid``, ...) by hooking them. :class:`~spikeflux.snn.LIFNetwork` has none (its spike
is a custom autograd function, its reset gate an element-wise product), so Captum's
DeepLift returns :math:`(x - \bar x) \odot \nabla f(x)`, exactly ``input-x-gradient``. The
method ``deeplift`` is DeepLIFT as difference transport on the unrolled graph instead
(:mod:`spikeflux.explain.deeplift`).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from tqdm import TqdmWarning

from ..chunking import map_chunks, rows_within
from .registry import register_method
from .request import Attribution, Request, check_positive_int
from ..snn import LIFNetwork, SNNOutput, SNNState


def _captum():
    """``captum.attr``, imported on first use: ``import spikeflux.explain`` does not load Captum (nor matplotlib)."""
    with warnings.catch_warnings():  # Captum imports tqdm.auto, which warns in a kernel without ipywidgets
        warnings.simplefilter("ignore", TqdmWarning)
        import captum.attr
    return captum.attr


#: Captum's integration rules for integrated gradients.
IG_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")

#: Autograd-graph budget (bytes) for one forward/backward pass (see :func:`rows_per_pass`).
GRAPH_BYTES = 2 ** 31

#: Bytes the autograd graph keeps per (row, step, neuron), in units of the dtype's size
#: (measured on LIFNetwork: about 9 saved tensors per neuron and step).
_SAVED_PER_NEURON_STEP = 9


class WindowLogits(nn.Module):
    r"""Captum's view of the network: :math:`U^L[t^*]` of a window started from a carried state.

    Inputs / Outputs
    ----------------
    ``window``: ``(batch, window, n_in)``; ``state``: ``I^1..I^L, U^1..U^L, b^1..b^L`` each
    ``(batch, n_l)`` (the carried state at :math:`t_0 - 1`)  ->  ``(batch, n_out)``, the
    readout at the window's last step.
    """

    def __init__(self, net: LIFNetwork):
        super().__init__()
        self.net = net

    def forward(self, window: Tensor, *state: Tensor) -> Tensor:  # noqa: D102
        L = self.net.n_layers
        carried = SNNState(list(state[:L]), list(state[L:2 * L]), list(state[2 * L:]))
        return self.net(window, state=carried).output[:, -1]


class WindowExplained(nn.Module):
    r"""The explained quantity of a window, :math:`\sum_j w_j U^L_j[t^*]`, as ``(batch, 1)``.

    ``forward(window, w, *state)``: ``w`` ``(batch, n_out)`` are the contrast weights of
    :attr:`spikeflux.explain.request.Request.weights` (one-hot of the class without a
    contrast, so the output is then :math:`U^L_c[t^*]`); Captum explains its target 0.
    """

    def __init__(self, net: LIFNetwork):
        super().__init__()
        self.logits = WindowLogits(net)

    def forward(self, window: Tensor, w: Tensor, *state: Tensor) -> Tensor:  # noqa: D102
        return (self.logits(window, *state) * w).sum(-1, keepdim=True)


def _rows(batch: int, t0: Tensor) -> Tensor:
    """The row each window reads: all 0 for one sequence (batch 1), row ``k`` for a batch of ``K``."""
    if batch not in (1, len(t0)):
        raise ValueError(f"batch of {batch} sequences for {len(t0)} windows: give one sequence or one per window")
    return torch.arange(len(t0), device=t0.device) if batch > 1 else torch.zeros_like(t0)


def carried_state(net: LIFNetwork, forward: SNNOutput, t0: Tensor) -> SNNState:
    r"""The true state :math:`I^l[t_0-1], U^l[t_0-1], b^l[t_0-1]` of every layer, batch ``(K,)``.

    Read from a recorded forward pass: of one sequence (batch 1) for ``K`` windows of it, or
    of ``K`` sequences (batch ``K``), window ``k`` from row ``k``. ``b = theta - threshold``
    from the recorded threshold (ALIF, exact to round-off; zero otherwise). Zero for windows
    that start at step 0. Starting :class:`WindowLogits` from it reproduces the recorded readout.
    """
    rec = forward.record
    if rec is None:
        raise ValueError("carried_state needs a recorded forward pass (record=True)")
    rows, prev = _rows(rec.syn[0].shape[0], t0), (t0 - 1).clamp(min=0)
    keep = (t0 > 0).to(net.dtype)[:, None]  # no carried state before step 0
    I = [rec.syn[l][rows, prev] * keep for l in range(net.n_layers)]
    U = [rec.mem[l][rows, prev] * keep for l in range(net.n_layers)]
    b = [(rec.theta[l][rows, prev] - net.threshold) * keep for l in range(net.n_layers)]
    return SNNState(I, U, b)


def windows(x: Tensor, t0: Tensor, window: int) -> Tensor:
    """``(K, window, n_in)``: the input windows ``x[t0_k : t0_k + window]`` of one sequence ``x``
    ``(T, n_in)``, or of ``K`` sequences ``(K, T, n_in)`` (window ``k`` from row ``k``)."""
    if x.dim() == 2:
        return x.unfold(0, window, 1)[t0].transpose(1, 2).contiguous()
    steps = t0[:, None] + torch.arange(window, device=t0.device)  # (K, window)
    return x[_rows(x.shape[0], t0)[:, None], steps]


def rows_per_pass(net: LIFNetwork, window: int) -> int:
    """Windows per forward/backward pass that keep the autograd graph under :data:`GRAPH_BYTES`."""
    return rows_within(GRAPH_BYTES, _SAVED_PER_NEURON_STEP * window * sum(net.sizes[1:]), net.dtype)


def _flat(state: SNNState, rows) -> tuple[Tensor, ...]:
    return tuple(s[rows] for s in (*state.I, *state.U, *state.b))


def _explain(net: LIFNetwork, x: Tensor, request: Request, attribute, batch_size: int | None,
             rows_factor: int = 1, baseline=None) -> Attribution:
    """Run ``attribute(model, inputs, target, args)`` over chunks of explained steps; add the gap.

    ``model`` is :class:`WindowExplained`, ``target`` all 0 and ``args`` the contrast weights
    and the carried state (Captum's ``additional_forward_args``). ``rows_factor``: rows one
    window costs in a pass (2 for methods that run input and baseline together).
    ``baseline(inputs)`` gives :math:`\\bar x` for the gap (default: no spikes in the window).
    """
    check_positive_int("batch_size", batch_size, allow_none=True)
    model = WindowExplained(net)
    K, W = request.t.numel(), request.window
    inputs = windows(x, request.t0, W)
    state = carried_state(net, request.forward, request.t0)
    weights = request.weights
    if batch_size is None:
        batch_size = max(1, rows_per_pass(net, W) // rows_factor)

    def args(rows):
        return (weights[rows], *_flat(state, rows))

    def maps(rows: slice) -> Tensor:
        inp = inputs[rows].clone().requires_grad_()  # Captum warns unless inputs require grad
        with torch.enable_grad():
            A = attribute(model, inp, torch.zeros(inp.shape[0], dtype=torch.long, device=inp.device), args(rows))
        return A.detach()

    A = map_chunks(maps, K, batch_size).transpose(1, 2).contiguous()  # (K, n_in, window)
    x_bar = torch.zeros_like(inputs) if baseline is None else baseline(inputs)
    with torch.no_grad():  # f(x) is the recorded readout (WindowLogits reproduces it to round-off)
        f_0 = map_chunks(lambda rows: model(x_bar[rows], *args(rows))[:, 0], K, batch_size)
    f_in = request.explained
    gap = A.sum((1, 2)) - (f_in - f_0)
    info = {"completeness_gap": gap, "f_input": f_in, "f_baseline": f_0,
            "baseline": "no spikes in the window, input before it unchanged" if baseline is None else
            getattr(baseline, "description", "given baseline"), "batch_size": batch_size}
    return Attribution(A, info=info)


def keep_channel_baseline(channel: int | None):
    """:math:`\\bar x`: no spikes in the window except channel ``channel`` (e.g. the bias), kept as in ``x``."""

    def baseline(inputs: Tensor) -> Tensor:
        out = torch.zeros_like(inputs)
        if channel is not None:
            if not 0 <= channel < inputs.shape[-1]:
                raise ValueError(f"bias_channel={channel} is out of range for {inputs.shape[-1]} input channels")
            out[..., channel] = inputs[..., channel]
        return out

    baseline.description = ("no spikes in the window, input before it unchanged" if channel is None else
                            f"no spikes in the window except channel {channel} (kept), input before it unchanged")
    return baseline


@register_method("integrated-gradients", family="gradient",
                 description="Integrated gradients (Captum) from the zero-spike window, surrogate gradient",
                 options={"n_steps": 50, "rule": "gausslegendre", "internal_batch_size": None, "batch_size": None,
                          "bias_channel": None})
def integrated_gradients(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    r"""Integrated gradients :math:`(x - \bar x) \odot \int_0^1 \nabla f(\bar x + a (x - \bar x))\, da`.

    Options
    -------
    n_steps : int
        Integration points (Captum's ``n_steps``, default 50).
    rule : str
        Captum's integration rule (its ``method``), one of :data:`IG_RULES`.
    internal_batch_size : int or None
        Rows per pass inside Captum; default as many as :data:`GRAPH_BYTES` allows (at
        least one integration point of every window in the chunk).
    batch_size : int or None
        Explained steps per Captum call; default as many as fit one pass.
    bias_channel : int or None
        A constant input channel the baseline keeps on (the book's models read a bias on
        channel 0): :math:`\\bar x` = no spikes in the window except that channel. Default
        ``None``: the all-zero window.

    ``info["completeness_gap"]`` is :math:`\\sum A - (f(x) - f(\\bar x))` of the explained
    quantity (module docstring).
    """
    opts = options
    n_steps, rule, internal_batch_size = opts["n_steps"], opts["rule"], opts["internal_batch_size"]
    check_positive_int("n_steps", n_steps)
    check_positive_int("internal_batch_size", internal_batch_size, allow_none=True)
    if rule not in IG_RULES:
        raise ValueError(f"rule must be one of {IG_RULES}, got {rule!r}")
    rows = rows_per_pass(net, request.window)
    baseline = keep_channel_baseline(opts["bias_channel"])

    def attribute(model, inp, target, state):
        k = inp.shape[0]
        ibs = internal_batch_size or max(1, rows // k) * k
        ibs = max(ibs, k)  # Captum's minimum: one integration point of every window
        return _captum().IntegratedGradients(model).attribute(
            inp, baselines=baseline(inp.detach()), target=target, additional_forward_args=state, n_steps=n_steps,
            method=rule, internal_batch_size=ibs)

    out = _explain(net, x, request, attribute, opts["batch_size"], baseline=baseline)
    out.info.update(n_steps=n_steps, rule=rule, bias_channel=opts["bias_channel"])
    return out


@register_method("saliency", family="gradient",
                 description="Saliency |grad f| (Captum), surrogate gradient", options={"abs": True, "batch_size": None})
def saliency(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    r"""Saliency :math:`|\nabla f(x)|`; options ``abs`` (default True; False: the signed gradient), ``batch_size``.

    The completeness gap :math:`\sum |\nabla f| - (f(x) - f(\bar x))` is reported for
    uniformity only: a gradient is not a decomposition of :math:`f(x) - f(\bar x)`, so the
    gap says nothing about the method's quality.
    """
    opts = options
    if not isinstance(opts["abs"], bool):
        raise ValueError(f"abs must be True or False, got {opts['abs']!r}")

    def attribute(model, inp, target, state):
        return _captum().Saliency(model).attribute(inp, target=target, abs=opts["abs"], additional_forward_args=state)

    out = _explain(net, x, request, attribute, opts["batch_size"])
    out.info.update(abs=opts["abs"])
    return out


@register_method("input-x-gradient", family="gradient",
                 description="Input x gradient (Captum), surrogate gradient", options={"batch_size": None})
def input_x_gradient(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    r"""Input times gradient :math:`x \odot \nabla f(x)` (first-order Taylor term from the zero window).

    Option ``batch_size`` (explained steps per pass).
    """
    def attribute(model, inp, target, state):
        return _captum().InputXGradient(model).attribute(inp, target=target, additional_forward_args=state)

    return _explain(net, x, request, attribute, options["batch_size"])
