r"""Temporal Spike Attribution (TSA-S, TSA-NS) and the SAM baseline, ``spec/tsa.md``.

Nguyen, Nauta, Englebienne & Seifert, "Feature Attribution Explanations for Spiking
Neural Networks", IEEE CogMI 2023 (arXiv 2311.02110), as read from its public code.

Let :math:`t^*` be the explained step and :math:`t_c = t^* + 1`. For every step
:math:`t \le t^*` of the window and every layer :math:`l = 0..L-1` (0 = the input, up to
the last hidden layer) the *spike contribution* is

.. math::

    N^l_i(t) = \begin{cases}
        \beta^{\,t_c - t}                     & S^l_i[t] = 1 \\
        0                                     & S^l_i[t] = 0, \ \text{TSA-S} \\
        -\tfrac{1}{n_l}\, \beta^{\,t_c - t}   & S^l_i[t] = 0, \ \text{TSA-NS}
    \end{cases}

and the attribution at step :math:`t` is the :math:`n_0 \times n_L` matrix

.. math::

    A(t) = \operatorname{diag}(N^0(t))\, W_1^\top \operatorname{diag}(N^1(t))\, W_2^\top
           \cdots \operatorname{diag}(N^{L-1}(t))\, W_L^\top \operatorname{diag}(P(t^*)),
    \qquad P(t^*) = \operatorname{softmax}(U^L[t^*]).

Stacked over :math:`t` this is the map ``(n_out, n_in, window)``; the explanation of
class :math:`c` is its row ``c``. SAM (the baseline TSA compares with) is TSA-S with every
:math:`W_l` replaced by a matrix of ones, hence never negative.

This is the published definition, implemented as it is, including what it ignores
about the model: the one-step delay per layer (hidden spikes at :math:`t` are
multiplied with input spikes at the same :math:`t`), the synaptic decay :math:`\alpha`,
recurrent weights, threshold adaptation and resets; and :math:`\beta^{t_c-t}` is applied
once per layer, so the effective decay is :math:`\beta^{L (t_c - t)}`.

Computation. Every :math:`N^l(t) = \beta^{t_c-t} s^l(t)` with a sign pattern
:math:`s^l_i(t) \in \{1, 0\}` (TSA-S) or :math:`\{1, -1/n_l\}` (TSA-NS) that depends on
the absolute step only, so

.. math::

    A(t) = \beta^{L (t_c - t)}\; C(t)\, \operatorname{diag}(P(t^*)), \qquad
    C(t) = \operatorname{diag}(s^0(t)) W_1^\top \cdots \operatorname{diag}(s^{L-1}(t)) W_L^\top .

:func:`spike_chain` computes :math:`C(t)` once for every step covered by the explained
windows (a right-to-left chain of batched products, one loop over layers, none over
steps); :func:`tsa_map` then gathers each explained step's window, applies the decay
and :math:`P(t^*)`. Overlapping windows (e.g. 180 steps, 3600-step windows) share
:math:`C(t)`.

A batch of sequences (spikes ``(B, T, n_l)``, one explained step per row, as
``explain(net, X, t)`` with ``X`` of shape ``(B, T, n_in)`` gives them) shares nothing across
rows: :func:`row_maps` builds each row's window of :math:`C(t)` (only the explained class's
column when the class is given), in chunks of steps.

Methods: ``tsa-s``, ``tsa-ns``, ``sam`` (all with ``all_classes`` support, no options) and
``tsa-delay``, a variant of ours that is *not* the published method: it follows the
model's timing (one step per layer, the synaptic and membrane filter applied once), see
:func:`tsa_delay_map`; option ``variant`` in ``{"s", "ns"}``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..chunking import map_chunks, rows_within
from .registry import register_method
from .request import Attribution, Request
from ..snn import LIFNetwork

VARIANTS = ("s", "ns")

#: What the published definition leaves out (reported in every TSA ``info`` dict).
IGNORES = ("per-layer one-step delay", "synaptic decay alpha", "beta applied once per layer "
           "(effective decay beta**(L*(t_c-t)))", "recurrent weights", "threshold adaptation", "resets")


def spike_sign(spikes: Tensor, variant: str) -> Tensor:
    r""":math:`s^l(t)`: 1 where the neuron spiked, else 0 (TSA-S) or :math:`-1/n_l` (TSA-NS).

    ``spikes``: ``(..., n_l)``; any non-zero entry counts as a spike. Same shape out.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    spiked = spikes != 0
    silent = 0.0 if variant == "s" else -1.0 / spikes.shape[-1]
    return torch.where(spiked, torch.ones((), dtype=spikes.dtype, device=spikes.device),
                       torch.full((), silent, dtype=spikes.dtype, device=spikes.device))


def spike_chain(spikes: Sequence[Tensor], weights: Sequence[Tensor], variant: str,
                chunk: int = 8192) -> Tensor:
    r""":math:`C(t) = \operatorname{diag}(s^0(t)) W_1^\top \cdots \operatorname{diag}(s^{L-1}(t)) W_L^\top`.

    Parameters
    ----------
    spikes : list of L tensors ``(T, n_l)``
        :math:`S^0 = x, S^1, \dots, S^{L-1}` over the same ``T`` steps.
    weights : list of L tensors ``(n_{l+1}, n_l)``
        :math:`W_1, \dots, W_L`.
    variant : {"s", "ns"}
    chunk : int
        Steps per batched product (bounds the ``(chunk, n_l, n_out)`` intermediates).

    Returns
    -------
    Tensor ``(T, n_0, n_L)``.
    """
    if len(spikes) != len(weights):
        raise ValueError(f"need one spike tensor per weight matrix (layers 0..L-1): "
                         f"got {len(spikes)} spike tensors for {len(weights)} weight matrices")

    def chain(rows: slice) -> Tensor:
        signs = [spike_sign(s[rows], variant) for s in spikes]
        M = weights[-1].T  # W_L^T, (n_{L-1}, n_out): the chain is built right to left
        for l in range(len(weights) - 1, 0, -1):
            M = weights[l - 1].T @ (signs[l][..., :, None] * M)  # W_l^T diag(s^l(t)) ..., (t, n_{l-1}, n_out)
        return signs[0][..., :, None] * M  # diag(s^0(t)) W_1^T ...

    return map_chunks(chain, spikes[0].shape[0], chunk)


def decay(beta: float, window: int, n_layers: int, dtype=None, device=None) -> Tensor:
    r""":math:`\beta^{L (t_c - t)}` for the ``window`` steps ending at :math:`t^*` (``t_c - t = window..1``).

    :math:`\beta^{t_c - t}` once per layer (``spec/tsa.md``), hence the power :math:`L`; computed in
    float64, then cast. In float32 it underflows to 0 once :math:`L (t_c - t) \ln(1/\beta) > 103`
    (e.g. the ADL 2L model, :math:`\beta = e^{-1}`: only the last 51 steps of a window are non-zero).
    """
    exponent = torch.arange(window, 0, -1, dtype=torch.float64, device=device)
    return (torch.tensor(float(beta), dtype=torch.float64, device=device) ** (n_layers * exponent)).to(dtype)


def tsa_map(spikes: Sequence[Tensor], weights: Sequence[Tensor], beta: float, P: Tensor,
            variant: str = "s", *, t=None, window: int | None = None, target=None) -> Tensor:
    r"""The TSA map :math:`A(t) = D_0(t) W_1^\top D_1(t) \cdots D_{L-1}(t) W_L^\top \operatorname{diag}(P(t^*))`.

    :math:`D_l(t) = \operatorname{diag}(N^l(t))` with :math:`N^l_i(t) = \beta^{t_c-t}` where
    neuron :math:`i` of layer :math:`l` spiked at :math:`t`, else 0 (``variant="s"``) or
    :math:`-\beta^{t_c-t}/n_l` (``"ns"``); :math:`t_c = t^* + 1` (see the module docstring).

    Parameters
    ----------
    spikes : list of L tensors ``(T, n_l)`` or ``(B, T, n_l)``
        One sequence's spikes :math:`S^0 = x, \dots, S^{L-1}` (input and hidden layers), or a
        batch of ``B`` sequences, one explained step each (then ``P`` is ``(B, n_out)``, ``t``
        an int or ``B`` steps, ``target`` ``B`` classes, and the result has a leading ``B`` axis).
    weights : list of L tensors ``(n_{l+1}, n_l)``
        :math:`W_1, \dots, W_L` (ones for SAM).
    beta : float
        Membrane decay :math:`\beta`.
    P : Tensor ``(n_out,)`` or ``(K, n_out)``
        :math:`P(t^*)`, one row per explained step.
    variant : {"s", "ns"}
    t : int, sequence of int or None
        Explained steps :math:`t^*` (``(K,)``); default ``T - 1``.
    window : int or None
        Steps per map, ending at each :math:`t^*`; default ``min(t) + 1``.
    target : sequence of int or None
        If given, only the row of each step's class: ``(K, n_in, window)``.

    Returns
    -------
    Tensor
        ``(K, n_out, n_in, window)`` (or ``(K, n_in, window)`` with ``target``); the leading
        ``K`` axis is dropped when ``t`` is ``None`` or an int and ``P`` is 1-D. Column
        ``window - 1`` is :math:`t^*`.
    """
    if spikes[0].dim() == 3:
        steps, window = _row_steps(spikes[0].shape[:2], P, t, window)
        d = decay(beta, window, len(weights), dtype=P.dtype, device=P.device)
        return row_maps(spikes, weights, variant, steps, window, [0] * len(spikes), d, P, target)
    steps, window, single = _steps(spikes[0].shape[0], P, t, window)
    lo, hi = int(steps.min()) - window + 1, int(steps.max())
    C = spike_chain([s[lo:hi + 1] for s in spikes], weights, variant)  # (hi-lo+1, n_in, n_out)
    d = decay(beta, window, len(weights), dtype=C.dtype, device=C.device)  # beta^{L(t_c-t)}, (window,)
    A = _windowed(C, lo, steps, window, d, P, target)
    return A[0] if single else A


def _steps(T: int, P: Tensor, t, window) -> tuple[Tensor, int, bool]:
    """Explained steps ``(K,)``, the window length, and whether the call was for one step."""
    single = (t is None or isinstance(t, int)) and P.dim() == 1
    steps = torch.as_tensor([T - 1] if t is None else ([t] if isinstance(t, int) else t),
                            dtype=torch.long, device=P.device).reshape(-1)
    if P.reshape(-1, P.shape[-1]).shape[0] != steps.numel():
        raise ValueError(f"P has {P.reshape(-1, P.shape[-1]).shape[0]} rows for {steps.numel()} explained steps")
    window = int(steps.min()) + 1 if window is None else int(window)
    if window < 1 or window > int(steps.min()) + 1 or int(steps.max()) >= T:
        raise ValueError(f"window={window} and steps {steps.tolist()} do not fit a sequence of T={T} steps")
    return steps, window, single


def _row_steps(shape, P: Tensor, t, window) -> tuple[Tensor, int]:
    """Per-row steps ``(B,)`` and the window length for a batch of ``B`` sequences of ``T`` steps."""
    B, T = shape
    if P.dim() != 2 or P.shape[0] != B:
        raise ValueError(f"P must have one row per sequence, shape (B={B}, n_out), got {tuple(P.shape)}")
    if t is None or isinstance(t, int) or (isinstance(t, Tensor) and t.dim() == 0):
        steps = torch.full((B,), T - 1 if t is None else int(t), dtype=torch.long, device=P.device)
    else:
        steps = torch.as_tensor(t, dtype=torch.long, device=P.device).reshape(-1)
        if steps.numel() != B:
            raise ValueError(f"t: {steps.numel()} steps for {B} sequences")
    window = int(steps.min()) + 1 if window is None else int(window)
    if window < 1 or window > int(steps.min()) + 1 or int(steps.max()) >= T:
        raise ValueError(f"window={window} and steps {steps.tolist()} do not fit sequences of T={T} steps")
    return steps, window


def row_maps(spikes: Sequence[Tensor], weights: Sequence[Tensor], variant: str, steps: Tensor, window: int,
             shifts: Sequence[int], d: Tensor, P: Tensor, target=None, chunk: int = 8192) -> Tensor:
    r"""One map per sequence: row ``k`` is the window :math:`[t_0, t^*_k]` of sequence ``k``.

    .. math::

        A_k(t) = d(t)\, \operatorname{diag}(s^0(t + \delta_0))\, W_1^\top \cdots
                 \operatorname{diag}(s^{L-1}(t + \delta_{L-1}))\, W_L^\top \operatorname{diag}(P_k)

    with layer :math:`l` read at :math:`t + \delta_l` (``shifts``; steps past :math:`t^*_k` read
    as silent, as a sequence recorded up to :math:`t^*_k` would) and the per-column factor ``d``.
    The chain is built right to left as row vectors, :math:`v \leftarrow (s^l \odot v) W_l`, one
    matrix product per layer for ``chunk`` steps at a time; with ``target`` it starts from the
    class's row of :math:`W_L` only.

    Parameters
    ----------
    spikes : list of L tensors ``(B, T, n_l)``
    weights : list of L tensors ``(n_{l+1}, n_l)``
    variant : {"s", "ns"}
    steps : Tensor ``(B,)``
        :math:`t^*_k`.
    window : int
    shifts : list of L int
    d : Tensor ``(window,)``
    P : Tensor ``(B, n_out)``
    target : sequence of B int or None

    Returns
    -------
    Tensor ``(B, n_in, window)`` with ``target``, else ``(B, n_out, n_in, window)``.
    """
    if len(spikes) != len(weights) or len(shifts) != len(weights):
        raise ValueError(f"need one spike tensor and one shift per weight matrix (layers 0..L-1): got "
                         f"{len(spikes)} spike tensors, {len(shifts)} shifts for {len(weights)} weight matrices")
    B, T = spikes[0].shape[:2]
    cols = torch.arange(window, device=steps.device)
    c = None if target is None else torch.as_tensor(target, dtype=torch.long, device=steps.device).reshape(-1)

    def maps(rows: slice) -> Tensor:
        t_star = steps[rows]
        b = torch.arange(rows.start, rows.start + len(t_star), device=steps.device)[:, None]  # (b, 1) rows
        signs = []
        for S, shift in zip(spikes, shifts):
            idx = t_star[:, None] - window + 1 + shift + cols  # (b, w) steps read
            read = S[b, idx.clamp(max=T - 1)] * (idx <= t_star[:, None])[..., None].to(S.dtype)
            signs.append(spike_sign(read, variant)[:, :, None, :])  # (b, w, 1, n_l)
        V = weights[-1][c[b[:, 0]]][:, None, None, :] if c is not None else weights[-1]  # rows of W_L
        for l in range(len(weights) - 1, 0, -1):
            V = (signs[l] * V) @ weights[l - 1]  # (b, w, k, n_{l-1}), k = 1 or n_out
        A = (signs[0] * V).permute(0, 2, 3, 1)  # (b, k, n_in, w)
        p = P[b[:, 0]] if c is None else P[b[:, 0]].gather(1, c[b[:, 0], None])  # (b, k)
        A = A * (p[:, :, None] * d)[:, :, None, :]  # d(t) P(t*)
        return A[:, 0] if c is not None else A

    return map_chunks(maps, B, rows_within(chunk, window))  # chunk // window sequences at a time


def _windowed(C: Tensor, lo: int, steps: Tensor, window: int, d: Tensor, P: Tensor, target) -> Tensor:
    """Each step's window of ``C`` (rows ``lo..``), times the per-column factor ``d`` and ``P(t*)``.

    ``C`` is laid out time-last so that every window is a view; one gather writes the maps
    in their final layout and one in-place product scales them.
    """
    P = P.reshape(-1, P.shape[-1]).to(C.dtype)
    views = C.permute(2, 1, 0).contiguous().unfold(2, window, 1)  # (n_out, n_in, starts, window)
    start = steps - window + 1 - lo  # (K,) first row of each window in C
    if target is not None:
        c = torch.as_tensor(target, dtype=torch.long, device=steps.device).reshape(-1)
        A = views[c, :, start]  # (K, n_in, window)
        return A.mul_((P.gather(1, c[:, None]) * d[None, :])[:, None, :])  # d(t) P_c(t*)
    A = views.permute(2, 0, 1, 3)[start]  # (K, n_out, n_in, window)
    return A.mul_(P[:, :, None, None] * d)


def sam_map(spikes: Sequence[Tensor], weights: Sequence[Tensor], beta: float, P: Tensor, **kwargs) -> Tensor:
    """SAM as TSA uses it: :func:`tsa_map` of TSA-S with every weight matrix replaced by ones (``>= 0``)."""
    ones = [torch.ones_like(W) for W in weights]
    return tsa_map(spikes, ones, beta, P, "s", **kwargs)


def psp_kernel(alpha: float, beta: float, lags: Tensor) -> Tensor:
    r""":math:`\kappa(d) = \sum_{j=0}^{d} \alpha^j \beta^{d-j}`: :math:`U[t+d]` after a unit synaptic input at :math:`t`.

    The model's response without reset (``spec/transport.md`` §5). Computed in float64 as
    :math:`a^d (1 - q^{d+1}) / (1 - q)` with :math:`a = \max(\alpha, \beta)`, :math:`q = \min/\max`
    (stable for :math:`\alpha \approx \beta`; :math:`(d+1) a^d` when they are equal).
    ``lags``: integer tensor ``d >= 0``; float64 out, same shape.
    """
    a, b = max(alpha, beta), min(alpha, beta)
    d = lags.to(torch.float64)
    if a == 0.0:
        return (d == 0).to(torch.float64)
    if b == a:
        return (d + 1) * a ** d
    log_q = torch.tensor(b / a, dtype=torch.float64).log()
    return a ** d * torch.expm1((d + 1) * log_q) / torch.expm1(log_q)


def tsa_delay_map(spikes: Sequence[Tensor], weights: Sequence[Tensor], alpha: float, beta: float, P: Tensor,
                  variant: str = "s", *, t=None, window: int | None = None, target=None) -> Tensor:
    r"""Delay-aware TSA (not the published method): spikes on the model's fastest path.

    .. math::

        A(t) = \kappa(t^* - t - (L-1))\;
               \operatorname{diag}(s^0(t)) W_1^\top \operatorname{diag}(s^1(t+1)) W_2^\top \cdots
               \operatorname{diag}(s^{L-1}(t+L-1)) W_L^\top \operatorname{diag}(P(t^*)),

    zero when :math:`t + L - 1 > t^*`. It follows the model's timing where TSA does not:
    an input spike at :math:`t` reaches layer :math:`l` at the earliest at :math:`t + l` (a
    spike is read from the previous membrane: one step per layer), and the last hidden
    spike reaches :math:`U^L[t^*]` through the synaptic and membrane filter
    :math:`\kappa` of :func:`psp_kernel` (:math:`\alpha` and :math:`\beta` applied once, not
    :math:`\beta^{t_c-t}` per layer). It keeps TSA's sign patterns :math:`s^l` (``variant``)
    and :math:`P(t^*)`. Slower paths (a hidden neuron integrating for several steps before
    it fires) and resets are ignored. With one layer and no output spikes it is the exact
    linear decomposition of :math:`U^L_c[t^*]` times :math:`P_c(t^*)`.

    Arguments and shapes as :func:`tsa_map`, plus the synaptic decay ``alpha``.
    """
    L = len(weights)
    if spikes[0].dim() == 3:
        steps, window = _row_steps(spikes[0].shape[:2], P, t, window)
        return row_maps(spikes, weights, variant, steps, window, list(range(L)),
                        _delay_kernel(alpha, beta, window, L, P.dtype, P.device), P, target)
    steps, window, single = _steps(spikes[0].shape[0], P, t, window)
    lo, hi = int(steps.min()) - window + 1, int(steps.max())
    span = hi + 1 - lo
    shifted = []  # layer l read at t + l; rows past the sequence only feed masked (zero) entries
    for l, S in enumerate(spikes):
        part = S[lo + l:hi + 1 + l]
        shifted.append(torch.cat([part, part.new_zeros(span - part.shape[0], part.shape[1])]))
    C = spike_chain(shifted, weights, variant)
    d = _delay_kernel(alpha, beta, window, L, C.dtype, C.device)
    A = _windowed(C, lo, steps, window, d, P, target)
    return A[0] if single else A


def _delay_kernel(alpha: float, beta: float, window: int, L: int, dtype, device) -> Tensor:
    r""":math:`\kappa(t^* - t - (L-1))` per window column, 0 where the lag is negative."""
    lag = torch.arange(window - 1, -1, -1, device=device) - (L - 1)  # t* - t - (L-1) per column
    return torch.where(lag >= 0, psp_kernel(alpha, beta, lag.clamp(min=0)), 0.0).to(dtype)


# ---------------------------------------------------------------------------- methods
def _inputs(net: LIFNetwork, request: Request):
    """Spikes of layers 0..L-1 and :math:`P(t^*)` from the recorded forward pass."""
    rec = request.forward.record
    spikes = [(rec.spikes[l] if request.batched else rec.spikes[l][0]).detach() for l in range(net.n_layers)]
    P = request.logits.detach().softmax(-1)
    weights = [W.detach() for W in net.weights]
    return spikes, weights, P


def _attribution(A: Tensor, P: Tensor, variant: str) -> Attribution:
    explained = "published TSA definition: the softmax probability P_c(t*) scales the map (a contrast is not used)"
    return Attribution(A, info={"variant": variant, "probabilities": P, "ignores": IGNORES, "explained": explained})


def _tsa(net: LIFNetwork, request: Request, variant: str, sam: bool = False) -> Attribution:
    spikes, weights, P = _inputs(net, request)
    kwargs = dict(t=request.t, window=request.window, target=None if request.all_classes else request.target)
    with torch.no_grad():
        A = sam_map(spikes, weights, net.beta, P, **kwargs) if sam else \
            tsa_map(spikes, weights, net.beta, P, variant, **kwargs)
    return _attribution(A, P, "sam" if sam else variant)


@register_method("tsa-s", family="tsa", all_classes=True,
                 description="Temporal Spike Attribution, spikes only (Nguyen et al. 2023)")
def tsa_s(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """TSA-S: only spikes contribute (:func:`tsa_map` with ``variant="s"``). No options."""
    return _tsa(net, request, "s")


@register_method("tsa-ns", family="tsa", all_classes=True,
                 description="Temporal Spike Attribution with non-spikes as -beta^(t_c-t)/n_l (Nguyen et al. 2023)")
def tsa_ns(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """TSA-NS: silent neurons contribute :math:`-\\beta^{t_c-t}/n_l` (:func:`tsa_map`, ``variant="ns"``). No options."""
    return _tsa(net, request, "ns")


@register_method("sam", family="tsa", all_classes=True,
                 description="SAM baseline as used by TSA: TSA-S with all weights set to one")
def sam(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """SAM as TSA's baseline (:func:`sam_map`); not Kim & Panda's hidden-layer map. No options."""
    return _tsa(net, request, "s", sam=True)


@register_method("tsa-delay", family="tsa", all_classes=True,
                 description="Delay-aware TSA variant (not the published method): fastest spike path, "
                             "one step per layer, PSP kernel (alpha, beta) once", options={"variant": "s"})
def tsa_delay(net: LIFNetwork, x: Tensor, request: Request, **options) -> Attribution:
    """:func:`tsa_delay_map`. Option ``variant``: ``"s"`` (default) or ``"ns"``, as in TSA."""
    variant = options["variant"]
    spikes, weights, P = _inputs(net, request)
    with torch.no_grad():
        A = tsa_delay_map(spikes, weights, net.alpha, net.beta, P, variant, t=request.t, window=request.window,
                          target=None if request.all_classes else request.target)
    out = _attribution(A, P, variant)
    out.info["ignores"] = ("slower spike paths", "recurrent weights", "threshold adaptation", "resets")
    return out
