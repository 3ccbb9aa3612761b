r"""The leaky integrate-and-fire (LIF) network of ``spec/transport.md`` §1.

Layers :math:`l = 1..L`, steps :math:`t = 0..T-1`, input spikes :math:`S^0[t] = x[t]`.

.. math::

    S^l[t] &= H(U^l[t-1] - \theta^l[t-1])          && \text{spike, read from the previous membrane} \\
    I^l[t] &= \alpha I^l[t-1] + W^l S^{l-1}[t] + V^l S^l[t]  && \text{synaptic current} \\
    U^l[t] &= (1 - S^l[t]) \, (\beta U^l[t-1] + I^l[t])  && \text{membrane, hard reset to 0}

with :math:`\alpha = e^{-\Delta t/\tau_{syn}}`, :math:`\beta = e^{-\Delta t/\tau_{mem}}`,
:math:`\theta = 1` and no biases (a constant input channel plays that role). The
readout is the post-reset output membrane :math:`U^L[t]`, one prediction per step.

Switches (each a constructor argument):

- ``reset="subtract"``: :math:`U[t] = \beta U[t-1] + I[t] - \theta^l[t-1] S[t]`;
- ``readout="leaky"``: the output layer never spikes, :math:`U^L[t] = \beta U^L[t-1] + I^L[t]`;
- ``recurrent=True``: hidden layers get recurrent weights :math:`V^l` (zero otherwise);
- ``adaptation=(rho, gamma)`` (ALIF): :math:`\theta^l[t] = \theta + b^l[t]`,
  :math:`b^l[t] = \rho\, b^l[t-1] + \gamma S^l[t]`, for every spiking layer.

The Heaviside step is :math:`H(v) = 1` for :math:`v > 0`, else 0. Its backward pass is the
fast-sigmoid surrogate :math:`1/(\text{scale}\,|v| + 1)^2` with scale 100 (Zenke &
Ganguli 2018); the reset gate is detached, as in SpyTorch.

Because a layer's spikes at step ``t`` depend only on its own membrane at ``t-1``, the
network is simulated layer by layer: the synaptic drive :math:`W^l S^{l-1}` of a whole
sequence is one matrix product and only the element-wise recurrence loops over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

FILE_FORMAT = "spikeflux.LIFNetwork/1"
_PLAIN = (type(None), bool, int, float, str)


def _check_plain(where: str, value) -> None:
    """``ValueError`` naming ``where`` unless ``value`` loads with ``torch.load(weights_only=True)``."""
    if type(value) in _PLAIN or isinstance(value, Tensor):
        return
    if type(value) in (list, tuple):
        for i, v in enumerate(value):
            _check_plain(f"{where}[{i}]", v)
        return
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise ValueError(f"{where}: key {k!r} is not a str (metadata must be JSON-like)")
            _check_plain(f"{where}[{k!r}]", v)
        return
    hint = " (use .tolist() or torch.as_tensor)" if type(value).__module__ == "numpy" else ""
    raise ValueError(f"{where}: {type(value).__module__}.{type(value).__name__} cannot be saved: metadata must be "
                     f"None, bool, int, float, str, a tensor, or lists/tuples/dicts of them{hint}")


RESETS = ("zero", "subtract")
READOUTS = ("spiking", "leaky")


def decays(dt: float, tau_syn: float, tau_mem: float) -> tuple[float, float]:
    r"""The decays per step of the LIF equations: :math:`\alpha = e^{-\Delta t/\tau_{syn}}` (synaptic
    current) and :math:`\beta = e^{-\Delta t/\tau_{mem}}` (membrane), as ``(alpha, beta)``.

    The time step and time constants enter :class:`LIFNetwork` only through these two numbers.
    """
    for name, value in (("dt", dt), ("tau_syn", tau_syn), ("tau_mem", tau_mem)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    return math.exp(-dt / tau_syn), math.exp(-dt / tau_mem)


class SurrogateSpike(torch.autograd.Function):
    r"""Heaviside step :math:`H(v)` forward, fast-sigmoid surrogate backward.

    ``d H / d v := 1 / (scale * |v| + 1)^2`` (SpyTorch's ``SurrGradSpike``).
    """

    @staticmethod
    def forward(ctx, v: Tensor, scale: float) -> Tensor:  # noqa: D102
        ctx.save_for_backward(v)
        ctx.scale = scale
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        (v,) = ctx.saved_tensors
        return grad / (ctx.scale * v.abs() + 1.0) ** 2, None


def spike(v: Tensor, scale: float = 100.0) -> Tensor:
    """:math:`H(v)` with the fast-sigmoid surrogate gradient of the given scale."""
    return SurrogateSpike.apply(v, scale)


@dataclass
class SNNState:
    """Carried state of every layer at one step: ``I[l]``, ``U[l]``, ``b[l]`` of shape ``(batch, n_l)``."""

    I: list[Tensor]
    U: list[Tensor]
    b: list[Tensor]

    def detach(self) -> "SNNState":
        """A copy cut from the autograd graph (between training batches)."""
        return SNNState(*([t.detach() for t in ts] for ts in (self.I, self.U, self.b)))

    def select(self, rows) -> "SNNState":
        """The state of some batch rows."""
        return SNNState(*([t[rows] for t in ts] for ts in (self.I, self.U, self.b)))


@dataclass
class Record:
    """Every internal variable at every step, per layer (``record=True``).

    Shapes are ``(batch, T, n_l)``. ``spikes[0]`` is the input ``x``; for ``l >= 1``
    ``spikes[l]``, ``syn[l-1]``, ``mem[l-1]``, ``theta[l-1]`` belong to layer ``l``
    (``syn``/``mem``/``theta`` are indexed from 0 for layer 1). ``theta[l-1][:, t]`` is the
    threshold :math:`\\theta^l[t]` after the update at ``t`` (used by the spike at ``t+1``).
    """

    spikes: list[Tensor]
    syn: list[Tensor]
    mem: list[Tensor]
    theta: list[Tensor] = field(default_factory=list)


@dataclass
class SNNOutput:
    """What :meth:`LIFNetwork.forward` returns.

    ``output``: ``(batch, T, n_out)`` readout membrane :math:`U^L`; ``state``: the carried
    state after the last step; ``record``: all internal variables, or ``None``.
    """

    output: Tensor
    state: SNNState
    record: Record | None = None


class LIFNetwork(nn.Module):
    r"""Feed-forward (optionally recurrent, adaptive) LIF network, ``spec/transport.md`` §1.

    .. math::

        S^l[t] = H(U^l[t-1] - \theta), \quad
        I^l[t] = \alpha I^l[t-1] + W^l S^{l-1}[t], \quad
        U^l[t] = (1 - S^l[t])(\beta U^l[t-1] + I^l[t])

    Parameters
    ----------
    sizes : sequence of int
        ``[n_0, n_1, ..., n_L]``: inputs (bias channel included), hidden layers, outputs.
        ``len(sizes) - 1`` weight matrices ("1L" = no hidden layer).
    dt, tau_syn, tau_mem : float
        Physical constants; :math:`\alpha = e^{-\Delta t/\tau_{syn}}`, :math:`\beta = e^{-\Delta t/\tau_{mem}}`.
    threshold : float
        :math:`\theta` (1 by default).
    reset : {"zero", "subtract"}
    readout : {"spiking", "leaky"}
    recurrent : bool
        Recurrent weights :math:`V^l` on hidden layers.
    adaptation : (rho, gamma) or None
        ALIF threshold adaptation.
    surrogate_scale : float
        Fast-sigmoid scale (100).
    weight_scale : float
        Weights are drawn from :math:`N(0, (\text{weight\_scale}/\sqrt{n_{l-1}})^2)`.
    seed : int or None
        Seed for the weight initialisation (a private generator: global RNG untouched).

    Inputs / Outputs
    ----------------
    ``x``: ``(batch, T, n_0)`` float spikes  ->  ``SNNOutput.output``: ``(batch, T, n_L)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        dt: float = 1e-3,
        tau_syn: float = 1e-2,
        tau_mem: float = 1e-2,
        *,
        threshold: float = 1.0,
        reset: str = "zero",
        readout: str = "spiking",
        recurrent: bool = False,
        adaptation: tuple[float, float] | None = None,
        surrogate_scale: float = 100.0,
        weight_scale: float = 0.2,
        seed: int | None = None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer sizes, got {sizes}")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        alpha, beta = decays(dt, tau_syn, tau_mem)  # checks that all three are positive
        self.config = dict(
            sizes=sizes, dt=float(dt), tau_syn=float(tau_syn), tau_mem=float(tau_mem),
            threshold=float(threshold), reset=reset, readout=readout, recurrent=bool(recurrent),
            adaptation=None if adaptation is None else [float(a) for a in adaptation],
            surrogate_scale=float(surrogate_scale), weight_scale=float(weight_scale),
        )
        self.sizes = sizes
        self.alpha, self.beta = alpha, beta  # synaptic decay and membrane leak per step
        self.threshold = float(threshold)
        self.reset = reset
        self.readout = readout
        self.adaptation = None if adaptation is None else tuple(float(a) for a in adaptation)
        self.surrogate_scale = float(surrogate_scale)

        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        factory = dict(device=device, dtype=dtype or torch.get_default_dtype())

        def normal(n_out: int, n_in: int) -> nn.Parameter:
            w = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) * (weight_scale / math.sqrt(n_in))
            return nn.Parameter(w.to(**factory))

        self.weights = nn.ParameterList([normal(n, m) for m, n in zip(sizes[:-1], sizes[1:])])
        hidden = sizes[1:-1]
        self.recurrent_weights = nn.ParameterList([normal(n, n) for n in hidden] if recurrent else [])

    # ------------------------------------------------------------------ properties
    @property
    def n_layers(self) -> int:
        """:math:`L`, the number of weight matrices."""
        return len(self.weights)

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    def spiking(self, l: int) -> bool:
        """Whether layer ``l`` (0-based over weight layers) emits spikes."""
        return not (l == self.n_layers - 1 and self.readout == "leaky")

    def zero_state(self, batch: int) -> SNNState:
        """:math:`I^l[-1] = U^l[-1] = b^l[-1] = 0` for every layer."""
        z = [torch.zeros(batch, n, dtype=self.dtype, device=self.device) for n in self.sizes[1:]]
        return SNNState(list(z), [t.clone() for t in z], [t.clone() for t in z])

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor, state: SNNState | None = None, record: bool = False) -> SNNOutput:
        """Simulate ``x`` of shape ``(batch, T, n_0)``; returns :class:`SNNOutput`.

        ``state`` carries :math:`I^l[-1], U^l[-1], b^l[-1]` in (default zeros);
        ``record=True`` keeps every layer's spikes, currents, membranes and thresholds.
        """
        if x.dim() != 3 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"x must have shape (batch, T, {self.sizes[0]}), got {tuple(x.shape)}")
        x = x.to(dtype=self.dtype, device=self.device)
        if state is None:
            state = self.zero_state(x.shape[0])
        new = SNNState([], [], [])
        rec = Record([x], [], [], []) if record else None
        spikes_in = x
        for l, W in enumerate(self.weights):
            drive = spikes_in @ W.T  # W^l S^{l-1}[t] for every t at once: (batch, T, n_l)
            V = self.recurrent_weights[l] if (self.recurrent_weights and l < self.n_layers - 1) else None
            S, I, U, theta, last = self._integrate(l, drive, state.I[l], state.U[l], state.b[l], V,
                                                   record, keep_mem=record or l == self.n_layers - 1)
            new.I.append(last[0]), new.U.append(last[1]), new.b.append(last[2])
            if rec is not None:
                rec.spikes.append(S), rec.syn.append(I), rec.mem.append(U), rec.theta.append(theta)
            spikes_in = S
        return SNNOutput(output=U if rec is None else rec.mem[-1], state=new, record=rec)

    def _integrate(self, l, drive, I, U, b, V, record, keep_mem):
        """The per-step recurrence of one layer; loops over time on element-wise ops only."""
        alpha, beta, theta0 = self.alpha, self.beta, self.threshold
        spiking, zero_reset = self.spiking(l), self.reset == "zero"
        rho, gamma = self.adaptation if self.adaptation is not None else (0.0, 0.0)
        adaptive = self.adaptation is not None
        keep_all = record or spiking  # spikes feed the next layer; membranes only when needed
        grad = torch.is_grad_enabled()  # without autograd, skip the surrogate Function's overhead
        scale = self.surrogate_scale
        S_t, I_t, U_t, b_t = [], [], [], []
        for d in drive.unbind(1):  # unbind: one backward node for all steps (no O(T^2) slicing)
            theta = theta0 + b if adaptive else theta0
            if not spiking:
                S = torch.zeros_like(U)
            elif grad:
                S = spike(U - theta, scale)
            else:
                S = (U > theta).to(U.dtype)
            I = alpha * I + d if V is None else alpha * I + d + S @ V.T
            rst = S.detach()  # the reset is detached (gradient flows through the leak only)
            if zero_reset:
                U = (1.0 - rst) * (beta * U + I)
            else:
                U = beta * U + I - theta * rst
            if adaptive:
                b = rho * b + gamma * S
            if keep_all:
                S_t.append(S)
            if keep_mem:
                U_t.append(U)
            if record:
                I_t.append(I)
                if adaptive:
                    b_t.append(b)
        stack = lambda xs: torch.stack(xs, 1) if xs else None  # noqa: E731
        th = None
        if record:  # theta^l[t] after the update at t (used by the spike at t+1)
            th = theta0 + stack(b_t) if adaptive else torch.full_like(stack(U_t), theta0)
        return stack(S_t), stack(I_t), stack(U_t), th, (I, U, b)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, **metadata) -> Path:
        """Save weights, hyper-parameters, the exact decays and ``net.metadata`` updated by ``metadata``.

        Loads with ``torch.load(path, weights_only=True)``, so the metadata values must be
        plain types (``None``, bool, int, float, str), tensors, or lists, tuples and dicts (str
        keys) of them; anything else (a numpy array, a numpy scalar, an object) raises
        ``ValueError`` naming the key before anything is written. ``net.alpha`` and
        ``net.beta`` are saved as they are (a converted network may set them directly), and
        ``net.metadata`` (e.g. what :func:`spikeflux.interop.from_snntorch` records) is kept.
        """
        path = Path(path)
        merged = {**(getattr(self, "metadata", None) or {}), **metadata}
        for key, value in merged.items():
            _check_plain(f"metadata[{key!r}]", value)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        torch.save({"format": FILE_FORMAT, "config": self.config, "decays": [float(self.alpha), float(self.beta)],
                    "state_dict": state, "metadata": merged}, path)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location="cpu") -> "LIFNetwork":
        """Inverse of :meth:`save` (safe: ``weights_only=True``). ``net.metadata`` holds the metadata.

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for
        anything that is not a spikeflux model file (another format, a text file, a truncated or
        empty file, a file without the expected fields).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        expected = f"expected a spikeflux model file written by LIFNetwork.save (format {FILE_FORMAT!r})"
        try:
            blob = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as err:  # torch raises KeyError, OSError, EOFError, UnpicklingError, RuntimeError, ...
            first = (str(err).strip().splitlines() or [""])[0][:200]
            raise ValueError(f"{path}: not a spikeflux model file ({expected}); torch.load failed with "
                             f"{type(err).__name__}{': ' + first if first else ''}") from err
        if not isinstance(blob, dict) or blob.get("format") != FILE_FORMAT:
            found = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
            raise ValueError(f"{path}: not a spikeflux model file ({expected}, found {found!r})")
        missing = [k for k in ("config", "state_dict") if not isinstance(blob.get(k), dict)]
        if missing:
            raise ValueError(f"{path}: spikeflux model file without {', '.join(missing)} ({expected})")
        cfg = dict(blob["config"])
        sizes = cfg.pop("sizes")
        state = blob["state_dict"]
        try:
            net = cls(sizes, dtype=state["weights.0"].dtype, **cfg)
            net.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError) as err:
            raise ValueError(f"{path}: corrupt spikeflux model file, its weights do not fit its config "
                             f"({type(err).__name__}: {err})") from err
        if "decays" in blob:  # the exact alpha, beta the network ran with (older files: rebuilt from config)
            net.alpha, net.beta = (float(v) for v in blob["decays"])
        net.metadata = blob.get("metadata", {})
        return net

    def extra_repr(self) -> str:
        return (f"sizes={self.sizes}, alpha={self.alpha:.4g}, beta={self.beta:.4g}, "
                f"reset={self.reset!r}, readout={self.readout!r}, recurrent={bool(self.recurrent_weights)}, "
                f"adaptation={self.adaptation}")
