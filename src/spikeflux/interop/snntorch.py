r"""Conversion of snnTorch networks (Eshraghian et al. 2023) into :class:`~spikeflux.snn.LIFNetwork`.

:func:`from_snntorch` takes a feed-forward snnTorch network, an ``nn.Sequential`` of
alternating ``nn.Linear`` and ``snntorch.Leaky`` layers, and returns the spikeflux network
with the same membranes and spikes, step for step, up to a documented shift in time.
Nothing here imports snnTorch at module level: it is an optional dependency.

The two conventions (read from ``snntorch/_neurons/leaky.py``, snnTorch 1.0)
---------------------------------------------------------------------------

snnTorch's ``Leaky`` (``reset_delay=True``, the default) with input current
:math:`c^l[t] = W^l s^{l-1}[t]` (:math:`s^0 = x`):

.. math::

    r^l[t] &= H(m^l[t-1] - \theta)                               && \text{reset, from the previous membrane} \\
    m^l[t] &= \beta\, m^l[t-1] + c^l[t] - \theta\, r^l[t]       && \text{reset\_mechanism="subtract"} \\
    s^l[t] &= H(m^l[t] - \theta)                                 && \text{spike, from the current membrane}

so a spike reaches the next layer at the step it is emitted. spikeflux
(:mod:`spikeflux.snn`) reads the spike from the *previous* membrane,
:math:`S^l[t] = H(U^l[t-1] - \theta)`, and so delays every layer by one step. With the
synaptic decay :math:`\alpha = 0` and ``reset="subtract"`` its update is

.. math::

    U^l[t] = \beta\, U^l[t-1] + W^l S^{l-1}[t] - \theta\, S^l[t], \qquad S^l[t] = H(U^l[t-1] - \theta),

i.e. :math:`S^l[t] = r^l[t]`: spikeflux's spike *is* snnTorch's reset signal. Layer 1 sees
the same input in both, so :math:`U^1[t] = m^1[t]` exactly. Layer :math:`l` of spikeflux
receives :math:`S^{l-1}[t] = s^{l-1}[t-1]`, the snnTorch spikes one step late; by induction
over the layers (zero initial state, time-invariant updates):

.. math::

    U^l[t] = m^l[t - (l-1)], \qquad S^l[t] = s^l[t - l], \qquad
    \text{with } m^l[t] = s^l[t] = 0 \text{ for } t < 0.

In particular the readout of an ``L``-layer network is delayed by :math:`d = L - 1` steps:
**spikeflux's** ``net(x).output[:, t + d]`` **equals snnTorch's output membrane**
``mem[t]`` of the last ``Leaky``, and snnTorch's output spike ``spk[t]`` equals
:math:`H(U^L[t+d] - \theta)` (:math:`= S^L[t+d+1]`). To see the last ``d`` snnTorch steps,
append ``d`` steps (of any value) to the input: :func:`snntorch_inputs` does it and
:func:`run_as_snntorch` returns the aligned ``(spk, mem)``. To *explain* snnTorch's
prediction at step ``t``, explain spikeflux's at ``t + d``; the attribution's time axis is
the input's and needs no shift.

Exactness: :math:`\alpha = e^{-\Delta t/\tau_{syn}}` is made exactly ``0.0`` by float64
underflow (:math:`\Delta t = 1`, :math:`\tau_{syn} = 10^{-3}`, :math:`e^{-1000} = 0`), not "small";
:math:`\beta` is set to snnTorch's value ``beta.clamp(0, 1)`` bit for bit
(``net.beta``), and :math:`\tau_{mem}` is chosen so that :math:`e^{-\Delta t/\tau_{mem}}`
reproduces it where a float :math:`\tau_{mem}` can (``net.metadata["beta_exact_in_config"]``;
:meth:`LIFNetwork.save` / ``load`` keep the exact :math:`\beta` and ``net.metadata`` either way).
The forward pass then performs the same floating-point operations as snnTorch except the
matrix product :math:`W s` (one batched product over all steps instead of one per step),
so outputs agree to round-off (:math:`\sim 10^{-16}` relative in float64) rather than bit
for bit.

Supported snnTorch settings
---------------------------

- ``nn.Linear`` with ``bias=False``. A bias on the **first** ``Linear`` is mapped onto a
  constant input channel, spikeflux's own convention: the converted network has one more
  input, channel 0, which must be 1 at every step (:func:`snntorch_inputs` prepends it),
  with weights ``bias``. A bias on a later ``Linear`` raises ``ValueError``: it would need a
  neuron that spikes at every step, which a one-step-delayed spiking layer cannot provide.
- ``snntorch.Leaky`` with ``reset_mechanism="subtract"`` (snnTorch's default) on every layer;
  the **last** layer may instead use ``reset_mechanism="none"``, which becomes
  ``readout="leaky"`` (:math:`U^L[t] = \beta U^L[t-1] + I^L[t]`, never reset).
- One scalar ``beta`` (or a tensor with all entries equal) shared by all layers; one
  ``threshold`` shared by all subtract-reset layers (the threshold of a ``"none"`` output
  layer only enters its spikes, kept in ``net.metadata["output_threshold"]``).
- ``init_hidden`` True or False and ``output`` True or False: they change how snnTorch
  returns its state, not the dynamics. spikeflux always starts from the zero state, which is
  snnTorch's state on the first call or after ``snntorch.utils.reset(module)``.
- ``spike_grad``, ``surrogate_disable``, ``learn_beta``, ``learn_threshold``: backward-pass or
  training options, irrelevant to the forward pass (every snnTorch surrogate's forward is the
  Heaviside step :math:`H(v) = [v > 0]`, as spikeflux's).

Rejected with ``ValueError`` naming the layer: ``reset_mechanism="zero"`` (below),
``"none"`` on a hidden layer, ``reset_delay=False``, ``inhibition=True``, ``state_quant``,
``graded_spikes_factor != 1``, per-neuron ``beta``/``threshold`` that differ, different
``beta`` or thresholds across layers, and any other module (``Synaptic``, ``RLeaky``,
``Conv2d``, ...). ``nn.Dropout`` layers are skipped: they are the identity in evaluation mode
(``module.eval()``), which is what the converted network reproduces.

Why the zero reset is rejected: snnTorch's zero reset clears only the *previous* membrane,
:math:`m[t] = \beta (1 - r[t])\, m[t-1] + c[t]`, and keeps the input arriving at the reset
step; spikeflux's, :math:`U[t] = (1 - S[t])(\beta U[t-1] + I[t])`, also drops :math:`I[t]`.
No choice of :math:`\alpha, \beta, \theta` (nor the ALIF or recurrent switches) turns one into
the other, and a subclass with snnTorch's update would be explained wrongly, because the
transport graph (:mod:`spikeflux.transport.graph`) gates both the leak and the integration
edge of a reset node.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..snn import LIFNetwork

#: Time step and synaptic time constant of a converted network: :math:`e^{-1/10^{-3}} = 0` exactly.
DT, TAU_SYN = 1.0, 1e-3


def from_snntorch(module: nn.Module, *, dtype: torch.dtype | None = None) -> LIFNetwork:
    """The spikeflux network equivalent to a feed-forward snnTorch network (module docstring).

    Parameters
    ----------
    module : nn.Sequential
        ``Linear, Leaky, Linear, Leaky, ...`` (at least one pair), snnTorch settings as in the
        module docstring.
    dtype : torch.dtype or None
        The converted network's dtype (default: that of the first ``Linear``'s weight).

    Returns
    -------
    LIFNetwork
        ``sizes = [n_in (+1 with a first-layer bias), n_1, ..., n_L]``, ``reset="subtract"``,
        :math:`\\alpha = 0`, snnTorch's :math:`\\beta` and :math:`\\theta`. ``net.metadata`` records
        ``output_delay`` (:math:`d = L-1`), ``bias_channel`` (0 or ``None``), ``beta``,
        ``threshold``, ``output_threshold`` and the snnTorch version.

    Raises
    ------
    ValueError
        For an unsupported layer or setting; the message names the layer (its index in ``module``).
    """
    import snntorch

    pairs = _pairs(module, snntorch)
    L = len(pairs)
    leaks = [leaky for _, leaky in pairs]
    for i, (k, leaky) in enumerate(leaks):
        _check_leaky(k, leaky, last=i == L - 1)
    beta = _shared("beta", [(k, leaky.beta.detach().clamp(0, 1)) for k, leaky in leaks])
    spiking = [(k, lk) for i, (k, lk) in enumerate(leaks) if i < L - 1 or lk.reset_mechanism == "subtract"]
    out_threshold = _scalar("threshold", leaks[-1][0], leaks[-1][1].threshold.detach())
    threshold = _shared("threshold", [(k, lk.threshold.detach()) for k, lk in spiking]) if spiking else out_threshold
    readout = "spiking" if leaks[-1][1].reset_mechanism == "subtract" else "leaky"

    weights = _weights(pairs)
    first = weights[0]
    dtype = dtype or first.dtype
    tau_mem, exact = _time_constant(beta)
    net = LIFNetwork([first.shape[1]] + [w.shape[0] for w in weights], dt=DT, tau_syn=TAU_SYN, tau_mem=tau_mem,
                     threshold=threshold, reset="subtract", readout=readout, seed=0, dtype=dtype,
                     device=first.device)  # seed: the random init is overwritten; global RNG untouched
    assert net.alpha == 0.0, "exp(-DT/TAU_SYN) must underflow to exactly 0"
    net.beta = beta  # snnTorch's beta.clamp(0, 1), bit for bit
    with torch.no_grad():
        for p, w in zip(net.weights, weights):
            p.copy_(w)
    net.metadata = dict(converted_from="snntorch", snntorch_version=snntorch.__version__, output_delay=L - 1,
                        bias_channel=0 if _bias(pairs[0][0][1]) is not None else None, beta=beta,
                        threshold=threshold, output_threshold=out_threshold, beta_exact_in_config=exact)
    return net


def output_delay(net: LIFNetwork) -> int:
    """:math:`d = L - 1`: spikeflux's readout at ``t + d`` is snnTorch's at ``t``."""
    return int(net.metadata["output_delay"]) if _converted(net) else net.n_layers - 1


def snntorch_inputs(net: LIFNetwork, x: Tensor) -> Tensor:
    """snnTorch's input ``x`` (``(T, n)`` or ``(B, T, n)``, time on axis -2) as the converted net's input.

    Prepends the constant bias channel (when the first ``Linear`` had a bias) and appends
    :func:`output_delay` zero steps, so that the output covers snnTorch's ``T`` steps.
    """
    x = torch.as_tensor(x).to(dtype=net.dtype, device=net.device)
    if _converted(net) and net.metadata["bias_channel"] is not None:
        x = torch.cat([torch.ones_like(x[..., :1]), x], -1)
    pad = torch.zeros_like(x[..., :1, :]).expand(*x.shape[:-2], output_delay(net), x.shape[-1])
    return torch.cat([x, pad], -2)


def run_as_snntorch(net: LIFNetwork, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(spk, mem)`` of the last layer as snnTorch returns them, step for step, ``(B, T, n_L)`` each.

    ``x`` is snnTorch's input, ``(B, T, n)`` or ``(T, n)`` (batch-first, unlike snnTorch's usual
    time-first loop). ``net`` comes from :func:`from_snntorch`, or from
    :func:`~spikeflux.interop.from_nir` with ``convention="snntorch"`` (a graph snnTorch exported)
    or ``"rockpool"`` (same time convention: there ``mem`` is Rockpool's membrane before its
    reset). ``mem[:, t]`` :math:`= U^L[t+d]` and ``spk[:, t]`` :math:`= H(U^L[t+d] - \\theta_L)`.
    """
    xs = snntorch_inputs(net, x)
    single = xs.dim() == 2
    with torch.no_grad():
        out = net(xs[None] if single else xs).output
    d, T = output_delay(net), xs.shape[-2] - output_delay(net)
    mem = out[:, d:d + T]
    theta = net.metadata["output_threshold"] if _converted(net) else net.threshold
    spk = (mem > theta).to(mem.dtype)
    return (spk[0], mem[0]) if single else (spk, mem)


# --------------------------------------------------------------------------- checks
def _converted(net: LIFNetwork) -> bool:
    """Converted by :func:`from_snntorch`, or imported by :func:`~spikeflux.interop.from_nir` in snnTorch's time."""
    meta = getattr(net, "metadata", None) or {}
    return meta.get("converted_from") == "snntorch" or (
        meta.get("converted_from") == "nir" and meta.get("convention") in ("snntorch", "rockpool"))


def _describe(k: int, layer: nn.Module) -> str:
    return f"layer {k} ({layer.__class__.__module__}.{layer.__class__.__name__}: {layer!r})"


def _pairs(module: nn.Module, snntorch) -> list:
    """``[((k, Linear), (k+1, Leaky)), ...]`` from an ``nn.Sequential``; anything else is a ``ValueError``."""
    if not isinstance(module, nn.Sequential):
        children = list(module.named_children()) if isinstance(module, nn.Module) else []
        hint = ""
        if children:
            parts = ", ".join(f"model.{name}" for name, _ in children)
            hint = (f"; a model with layers as attributes ({', '.join(n for n, _ in children)}) converts once its "
                    f"layers are wrapped in their forward order: from_snntorch(nn.Sequential({parts})), "
                    f"provided its forward applies them one after the other")
        raise ValueError(f"from_snntorch expects an nn.Sequential of Linear and snntorch.Leaky layers, "
                         f"got {type(module).__name__}{hint}")
    # Dropout is the identity at evaluation time, which is what the converted network reproduces
    layers = [m for m in module if not isinstance(m, nn.Dropout)]
    if not layers or len(layers) % 2:
        raise ValueError(f"from_snntorch expects alternating Linear and Leaky layers ending with a Leaky; "
                         f"got {len(layers)} layers: {[type(m).__name__ for m in layers]}")
    pairs = []
    for k in range(0, len(layers), 2):
        lin, leaky = layers[k], layers[k + 1]
        if type(lin) is not nn.Linear:
            raise ValueError(f"{_describe(k, lin)} is not supported: expected torch.nn.Linear at an even position")
        if type(leaky) is not snntorch.Leaky:
            why = (" (it has a synaptic current / recurrence / other dynamics that spikeflux's converter does not map)"
                   if isinstance(leaky, snntorch.SpikingNeuron) else "")
            raise ValueError(f"{_describe(k + 1, leaky)} is not supported: expected snntorch.Leaky after each "
                             f"Linear{why}")
        if pairs and lin.in_features != pairs[-1][0][1].out_features:
            raise ValueError(f"{_describe(k, lin)}: in_features={lin.in_features} does not match the "
                             f"{pairs[-1][0][1].out_features} neurons of the layer before")
        if k > 0 and _bias(lin) is not None:
            raise ValueError(f"{_describe(k, lin)} has a bias: only the first Linear's bias can be mapped "
                             f"(onto a constant input channel); use bias=False in later layers")
        pairs.append(((k, lin), (k + 1, leaky)))
    return pairs


def _check_leaky(k: int, leaky: nn.Module, last: bool) -> None:
    """Reject the settings whose dynamics spikeflux does not have (module docstring)."""
    mech = leaky.reset_mechanism
    allowed = ("subtract", "none") if last else ("subtract",)
    if mech not in allowed:
        why = {"zero": "snnTorch's zero reset keeps the input of the reset step (m[t] = β(1-r)m[t-1] + c[t]); "
                       "spikeflux's drops it (U[t] = (1-S)(βU[t-1] + I[t])), so no LIFNetwork reproduces it",
               "none": "a hidden layer without reset has no spikeflux counterpart (only the output layer "
                       "may be 'none', which becomes readout='leaky')"}.get(mech, "")
        raise ValueError(f"{_describe(k, leaky)}: reset_mechanism={mech!r} is not supported ({why}); "
                         f"use reset_mechanism='subtract'")
    if not getattr(leaky, "reset_delay", True):
        raise ValueError(f"{_describe(k, leaky)}: reset_delay=False (reset in the step of the spike) is not "
                         f"supported; spikeflux resets one step after the threshold crossing (reset_delay=True)")
    if leaky.inhibition:
        raise ValueError(f"{_describe(k, leaky)}: inhibition=True is not supported")
    if leaky.state_quant:
        raise ValueError(f"{_describe(k, leaky)}: state_quant is not supported")
    g = leaky.graded_spikes_factor.detach()
    if not bool((g == 1).all()):
        raise ValueError(f"{_describe(k, leaky)}: graded_spikes_factor={g.tolist()} is not supported (spikes are 0/1)")


def _scalar(name: str, k: int, value: Tensor) -> float:
    """The one value of a scalar or constant tensor parameter, as a Python float."""
    flat = value.reshape(-1)
    if flat.numel() == 0 or not bool((flat == flat[0]).all()):
        raise ValueError(f"layer {k}: per-neuron {name} {flat.tolist()} is not supported "
                         f"(spikeflux has one {name} per network)")
    return float(flat[0])


def _shared(name: str, values: list[tuple[int, Tensor]]) -> float:
    """The value shared by every listed layer; differing values raise naming the layers."""
    scalars = [(k, _scalar(name, k, v)) for k, v in values]
    if len({v for _, v in scalars}) > 1:
        listing = ", ".join(f"layer {k}: {v!r}" for k, v in scalars)
        raise ValueError(f"different {name} across layers ({listing}) is not supported: spikeflux has one {name}")
    return scalars[0][1]


def _bias(lin: nn.Linear) -> Tensor | None:
    return lin.bias


def _weights(pairs) -> list[Tensor]:
    """:math:`W^l` of every layer; the first layer's bias becomes column 0 (constant input channel)."""
    out = []
    for (k, lin), _ in pairs:
        w = lin.weight.detach()
        if k == 0 and _bias(lin) is not None:
            w = torch.cat([lin.bias.detach()[:, None], w], 1)
        out.append(w)
    return out


def _time_constant(beta: float, search: int = 64) -> tuple[float, bool]:
    r""":math:`\tau_{mem}` with :math:`e^{-\Delta t/\tau_{mem}} = \beta` exactly if a float nearby has it.

    Returns ``(tau_mem, exact)``; without an exact float the closest one is returned.
    """
    if beta <= 0.0:
        return DT / 1000.0, True  # e^{-1000} = 0
    if beta >= 1.0:
        return DT * 1e20, True  # e^{-1e-20} = 1
    tau = -DT / math.log(beta)
    lo = hi = tau
    for _ in range(search):
        for c in (lo, hi):
            if math.exp(-DT / c) == beta:
                return c, True
        lo, hi = math.nextafter(lo, 0.0), math.nextafter(hi, math.inf)
    return tau, False
