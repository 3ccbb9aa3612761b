r"""The continuum limit of relevance transport: one continuous-time neuron model, Δt refined.

The book's LIF scheme (``spec/transport.md`` §1) is a time discretisation of the
current-based LIF neuron in continuous time (seconds),

.. math::

    \tau_{syn}\,\dot I = -I + \tau_{syn} \sum_k w\,\delta(t - t_k), \qquad
    \dot U = -U/\tau_{mem} + I/\Delta t_0, \qquad
    U \ge \theta \Rightarrow \text{spike}, U \to 0,

with input spikes at fixed times :math:`t_k` and a reference step :math:`\Delta t_0` that
sets the units of :math:`U`. At step :math:`\Delta t = \Delta t_0 / r` the scheme
:math:`I[t] = \alpha I[t-1] + W S[t]`, :math:`U[t] = (1-S[t])(\beta U[t-1] + I[t]/r)` (decays
:math:`\alpha = e^{-\Delta t/\tau_{syn}}`, :math:`\beta = e^{-\Delta t/\tau_{mem}}` exact, the
coupling a rectangle rule) is the book's network with every weight scaled by :math:`1/r`
(:func:`network`): the current a spike injects, and so the membrane it drives, does not
depend on :math:`r`, and a spike at time :math:`t_k` is the input at step :math:`t_k/\Delta t`
(:func:`inputs`).

:func:`refine` explains the same physical prediction (class :math:`c` at time :math:`t^*`,
the whole history as the window) at every refinement and puts the results on the coarse
grid: the flux :math:`\Phi` at the cuts :math:`t = j\Delta t_0`, the attribution of every input
spike (one per coarse bin), the logit, and the hidden spike times. :func:`convergence` turns
successive differences into observed orders :math:`p = \log_2(d_r / d_{2r})`, and
:func:`spike_jitter` measures how far hidden spike times move, and how many spikes appear or
vanish, between refinements — the events that break smooth convergence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..snn import LIFNetwork


@dataclass
class ContinuumModel:
    r"""A continuous-time current-based LIF network with input spikes at fixed times.

    Attributes
    ----------
    sizes : list of int
        ``[n_in, n_1, ..., n_L]``; the output layer is a leaky readout (no spikes).
    weights : list of ndarray
        :math:`W^l` ``(n_l, n_{l-1})``, the current jump per presynaptic spike.
    spike_steps : ndarray
        ``(n_spikes, 2)`` rows ``(j, i)``: input channel ``i`` spikes at time :math:`j \Delta t_0`.
    n_steps : int
        Coarse steps simulated; the explained time is :math:`t^* = (n_{steps} - 1) \Delta t_0`.
    dt, tau_syn, tau_mem : float
        :math:`\Delta t_0`, :math:`\tau_{syn}`, :math:`\tau_{mem}` in seconds.
    target : int
        The explained class :math:`c`.
    """

    sizes: list
    weights: list
    spike_steps: np.ndarray
    n_steps: int
    dt: float = 1e-3
    tau_syn: float = 5e-3
    tau_mem: float = 10e-3
    target: int = 0
    threshold: float = 1.0
    extra: dict = field(default_factory=dict)


def generated(sizes=(6, 8, 2), n_steps=80, rate=0.08, weight_scale=2.0, seed=0, **kwargs) -> ContinuumModel:
    """A seeded random :class:`ContinuumModel`: Gaussian weights, Bernoulli input spikes on the coarse grid."""
    gen = np.random.default_rng(seed)
    weights = [gen.normal(0, weight_scale / np.sqrt(n_in), (n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    spikes = np.argwhere(gen.random((n_steps, sizes[0])) < rate)
    return ContinuumModel(list(sizes), weights, spikes, n_steps, **kwargs)


def network(model: ContinuumModel, r: int) -> LIFNetwork:
    """The book's network at step :math:`\\Delta t_0 / r`: weights :math:`W^l / r`, leaky readout, float64."""
    net = LIFNetwork(model.sizes, dt=model.dt / r, tau_syn=model.tau_syn, tau_mem=model.tau_mem,
                     readout="leaky", threshold=model.threshold, dtype=torch.float64)
    with torch.no_grad():
        for w, W in zip(net.weights, model.weights):
            w.copy_(torch.as_tensor(W, dtype=torch.float64) / r)
    return net


def inputs(model: ContinuumModel, r: int) -> torch.Tensor:
    """Input spikes ``(T_r, n_in)`` at step :math:`\\Delta t_0 / r`: the spike at time :math:`j \\Delta t_0` is step ``j r``."""
    x = torch.zeros((model.n_steps - 1) * r + 1, model.sizes[0], dtype=torch.float64)
    x[torch.as_tensor(model.spike_steps[:, 0] * r), torch.as_tensor(model.spike_steps[:, 1])] = 1.0
    return x


@dataclass
class Refinement:
    r"""One explanation at step :math:`\Delta t_0 / r`, on the coarse grid.

    Attributes
    ----------
    r : int
    dt : float
        The step :math:`\Delta t_0 / r` (seconds).
    logit : float
        :math:`U^L_c(t^*)`, :math:`R_\text{init}`.
    flux : ndarray
        :math:`\Phi` at the cuts :math:`t = j \Delta t_0`, ``j = 1..n_steps-1`` (step ``j r``), ``(n_steps-1,)``.
    spike_map : ndarray
        The attribution of every input spike, in the order of ``model.spike_steps``, ``(n_spikes,)``.
    hidden_spikes : list of ndarray
        Spike times (seconds) of every hidden neuron.
    sinks : dict
        The ledger's sinks by cause.
    residual : float
        The global residual relative to :math:`|R_\text{init}|`.
    """

    r: int
    dt: float
    logit: float
    flux: np.ndarray
    spike_map: np.ndarray
    hidden_spikes: list
    sinks: dict
    residual: float


def refine(model: ContinuumModel, factors=(1, 2, 4, 8, 16), method: str = "lrp-0", **options) -> list[Refinement]:
    """Explain :math:`U^L_c(t^*)` over the whole history at every refinement ``r`` of ``factors``.

    ``options`` go to :func:`spikeflux.explain.explain`. LRP-0 is the default: the ε stabilizer
    books :math:`\\varepsilon/(z_n + \\varepsilon)` per node and step, a sink *density* that grows
    like :math:`1/\\Delta t` unless ε is scaled with :math:`\\Delta t`.
    """
    from ..explain import explain  # the registry imports the transport package

    out = []
    for r in factors:
        net, x = network(model, r), inputs(model, r)
        t_star = x.shape[0] - 1
        e = explain(net, x, t_star, method=method, target=model.target, window=t_star + 1, **options)
        led = e.ledger
        with torch.no_grad():
            rec = net(x[None], record=True).record
        cuts = np.arange(1, model.n_steps) * r  # step j r: the cut between j r - 1 and j r
        hidden = [[np.flatnonzero(s[0, :, j].numpy()) * (model.dt / r) for j in range(s.shape[-1])]
                  for s in rec.spikes[1:-1]]
        out.append(Refinement(
            r=r, dt=model.dt / r, logit=float(led.relevance_init), flux=led.flux.numpy()[cuts],
            spike_map=e.attribution.numpy()[model.spike_steps[:, 1], model.spike_steps[:, 0] * r],
            hidden_spikes=[t for layer in hidden for t in layer],
            sinks={k: float(v) for k, v in led.sinks.items()}, residual=float(led.global_residual_relative),
        ))
    return out


def convergence(results: list[Refinement], norm: str = "max") -> dict:
    r"""Successive differences :math:`d_r = \| q_r - q_{2r} \| / |R_\text{init}|` and observed orders.

    ``norm``: ``"max"`` (the largest difference on the coarse grid) or ``"mean"`` (the mean
    absolute difference). :math:`R_\text{init}` is the finest refinement's. Returns
    ``{"quantity": {"difference": [d_1, d_2, ...], "order": [p_1, ...]}}`` for the flux profile,
    the input-spike map and the logit; :math:`p = \log_2(d_r / d_{2r})` (nan where a difference is 0).
    """
    if norm not in ("max", "mean"):
        raise ValueError(f"norm must be 'max' or 'mean', got {norm!r}")
    reduce = np.max if norm == "max" else np.mean
    scale = abs(results[-1].logit) or 1.0
    series = {
        "flux": [r.flux for r in results],
        "map": [r.spike_map for r in results],
        "logit": [np.array([r.logit]) for r in results],
    }
    out = {}
    for name, values in series.items():
        diff = [float(reduce(np.abs(a - b))) / scale for a, b in zip(values[:-1], values[1:])]
        order = [float(np.log2(a / b)) if a > 0 and b > 0 else float("nan") for a, b in zip(diff[:-1], diff[1:])]
        out[name] = {"difference": diff, "order": order}
    return out


def fitted_order(differences) -> float:
    r"""Least-squares slope of :math:`\log_2 d` against :math:`\log_2 \Delta t` over rows of successive differences
    (one row per model, refinements halving :math:`\Delta t`): the order that all of them share."""
    d = np.asarray(differences, dtype=float)
    h = -np.arange(d.shape[-1], dtype=float)  # log2 Δt of each difference, up to a constant
    keep = d > 0
    x, y = np.broadcast_to(h, d.shape)[keep], np.log2(d[keep])
    if x.size < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def spike_jitter(results: list[Refinement], tolerance: float = 1.0) -> list[dict]:
    r"""Hidden spikes between successive refinements :math:`r` and :math:`2r` (the pairs of :func:`convergence`).

    Spikes of one neuron are paired with the nearest spike of the same neuron at the other
    refinement when it lies within ``tolerance`` coarse steps :math:`\Delta t_0`; a spike without
    a partner appeared or vanished, an :math:`O(1)` change of the relevance it relays, not an
    :math:`O(\Delta t)` one.
    Per pair of refinements: the spike counts, the unpaired spikes (both ways), and the median and
    largest shift of the paired ones, in steps :math:`\Delta t` and in seconds.
    """
    rows = []
    for res, nxt in zip(results[:-1], results[1:]):
        shifts, unpaired = [], 0
        for a, b in zip(res.hidden_spikes, nxt.hidden_spikes):
            for mine, other in ((a, b), (b, a)):
                d = np.abs(mine[:, None] - other[None, :]).min(1) if other.size else np.full(mine.shape, np.inf)
                paired = d <= tolerance * res.dt * res.r * (1 + 1e-9)
                unpaired += int((~paired).sum())
                if mine is a:
                    shifts.extend(d[paired])
        shifts = np.asarray(shifts)
        rows.append(dict(r=res.r, spikes=int(sum(len(v) for v in res.hidden_spikes)),
                         spikes_next=int(sum(len(v) for v in nxt.hidden_spikes)), unpaired=unpaired,
                         median_shift_steps=float(np.median(shifts) / res.dt) if shifts.size else 0.0,
                         max_shift_steps=float(shifts.max() / res.dt) if shifts.size else 0.0,
                         median_shift_s=float(np.median(shifts)) if shifts.size else 0.0))
    return rows
