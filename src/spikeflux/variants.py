r"""The LIF variants of ``notebooks/beyond_lif.md``, each one constructor switch of
:class:`~spikeflux.snn.LIFNetwork`, trained on from the plain model's weights.

- :func:`switches`: the four variants (recurrent synapses, ALIF with
  :math:`\rho = e^{-\Delta t/\tau_a}` and :math:`\gamma`, subtract reset, leaky readout);
- :func:`from_plain` / :func:`train_variants`: a variant with the plain model's weights (recurrent
  weights :math:`V = 0`, so the recurrent model starts as the plain one) and its further training;
- :func:`residuals`: the largest conservation residuals of a ledger, relative to the relevance
  moved :math:`\sum_n |R_n|` and to :math:`|R_\text{init}|`;
- :func:`sink_budget`: where a ledger's :math:`R_\text{init}` goes (absorbed, each sink, through the
  hidden spikes) and the negative share of the relevance moved;
- :func:`mean_cosine`: the mean cosine similarity of two stacks of maps, zero maps left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .snn import LIFNetwork
from .training import TrainConfig, balanced_accuracy_ci, predict_series, train

#: The ALIF variant's adaptation: time constant :math:`\tau_a` (seconds) and jump :math:`\gamma` per spike.
ALIF = dict(tau_adapt=20e-3, gamma=0.2)


def switches(dt: float, tau_adapt: float = ALIF["tau_adapt"], gamma: float = ALIF["gamma"]) -> dict[str, dict]:
    r"""The four variants as ``{name: LIFNetwork keyword arguments}``; ALIF gets :math:`(\rho, \gamma)` with
    :math:`\rho = e^{-\Delta t/\tau_a}`."""
    return {
        "recurrent": dict(recurrent=True),
        "ALIF": dict(adaptation=(math.exp(-dt / tau_adapt), gamma)),
        "subtract reset": dict(reset="subtract"),
        "leaky readout": dict(readout="leaky"),
    }


def from_plain(plain: LIFNetwork, hp: dict, switches: dict, *, seed: int = 0, device="cpu") -> LIFNetwork:
    """A variant of ``plain`` (``hp``: its ``dt, tau_syn, tau_mem``) with its weights, recurrent weights zero."""
    net = LIFNetwork(plain.sizes, dt=hp["dt"], tau_syn=hp["tau_syn"], tau_mem=hp["tau_mem"], seed=seed, **switches)
    with torch.no_grad():
        for w, w0 in zip(net.weights, plain.weights):
            w.copy_(w0)
        for v in net.recurrent_weights:
            v.zero_()
    return net.to(device)


def train_variants(plain: LIFNetwork, hp: dict, variants: dict[str, dict], splits: dict, config: TrainConfig, *,
                   n_classes: int, save_dir: Path | None = None, seed: int = 0, device="cpu"):
    """Train every variant from the plain weights; returns ``(nets, rows)``.

    ``nets``: ``{"plain LIF": plain, name: trained variant}``; ``rows``: one dict per model with the
    epochs run, the test balanced accuracy with the plain weights before training (``start``, NaN for
    the plain model) and after (``ba, low, high``: block-bootstrap interval, ``seed``). With
    ``save_dir`` each variant is saved as ``synthetic_2L_<first word of its name>.pt`` there.
    """
    x_test, y_test = splits["test"]

    def accuracy(net):
        return balanced_accuracy_ci(y_test, predict_series(net, x_test).argmax(1), n_classes, seed=seed)

    nets = {"plain LIF": plain.to(device)}
    rows = [dict(model="plain LIF", epochs=0, start=np.nan, **dict(zip(("ba", "low", "high"), accuracy(plain))))]
    for name, sw in variants.items():
        net = from_plain(plain, hp, sw, seed=seed, device=device)
        start = accuracy(net)[0]
        hist = train(net, splits["train"], splits["val"], config, progress=False)
        ba = accuracy(net)
        if save_dir is not None:
            slug = name.split()[0].lower()
            net.save(Path(save_dir) / f"synthetic_2L_{slug}.pt", task="synthetic", depth="2L", variant=slug,
                     started_from="synthetic_2L", train_config=asdict(config), test_balanced_accuracy=list(ba))
        nets[name] = net
        rows.append(dict(model=name, epochs=len(hist.val_loss), start=start, **dict(zip(("ba", "low", "high"), ba))))
    return nets, rows


def residuals(ledger) -> dict:
    """Largest global and per-slice residuals, relative to the relevance moved and to |R_init| (0 when nothing moved)."""
    tiny = torch.finfo(torch.float64).tiny
    mass = ledger.relevance_mass.clamp(min=tiny).reshape(-1)
    r = ledger.relevance_init.abs().clamp(min=tiny).reshape(-1)
    glob = ledger.global_residual.abs().reshape(-1)
    cont = ledger.continuity_residual.abs().reshape(len(glob), -1).amax(1)
    return dict(global_vs_mass=float((glob / mass).max()), slice_vs_mass=float((cont / mass).max()),
                global_vs_init=float((glob / r).max()), slice_vs_init=float((cont / r).max()))


def sink_budget(led) -> dict:
    r"""Mean signed shares of :math:`R_\text{init}` over the targets with :math:`R_\text{init} \ne 0`: absorbed by
    the inputs, each sink, and through the hidden spikes :math:`R(S^1[t])` (summed over the window and the
    neurons); and ``negative share of moved``, :math:`\sum_n |\min(R_n, 0)| / \sum_n |R_n|` over every node,
    inputs included. ``led`` needs ``node_relevance``."""
    r = led.relevance_init  # signed: the shares of a model add to one
    hidden_spikes = led.node_relevance["S1"].sum((1, 2))
    moved = r != 0
    shares = {k: float((v[moved] / r[moved]).mean()) for k, v in
              [("absorbed", led.absorbed), *led.sinks.items(), ("through hidden spikes", hidden_spikes)]}
    negative = sum(v.clamp(max=0).abs().sum((1, 2)) for v in led.node_relevance.values()) \
        + led.attribution_negative.abs()
    shares["negative share of moved"] = float((negative[moved] / led.relevance_mass[moved]).mean())
    return shares


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over points of the cosine similarity of maps ``a`` and ``b`` ``(P, ...)``; points where either map
    is zero are left out (NaN if all are)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.where(norms > 0, (a * b).sum(1) / np.where(norms > 0, norms, 1.0), np.nan)
    return float(np.nanmean(cos))


def threshold_summary(e, window: int, *, path: bool) -> tuple[dict, np.ndarray]:
    r"""An ALIF explanation ``e`` (LRP with ``node_relevance``; ``path``: whether ``threshold_path`` was on)
    summarised over its targets with :math:`R_\text{init} \ne 0`: ``(row, reach)``.

    ``row``: :func:`residuals`; ``support_lag_99``, the median lag within which 99% of :math:`\sum|A|`
    lies (:func:`spikeflux.plots.support_lag`); ``flux_lag_1e3``, the first lag at which the reach
    profile falls below :math:`10^{-3}` (``window`` if never); ``relevance_via_b``, the relevance through
    the threshold nodes ``B*`` over :math:`|R_\text{init}|` (0 as a gate); ``amplification``, its median.
    ``reach``: :meth:`~spikeflux.transport.ledger.Ledger.reach_profile`.
    """
    from .plots import support_lag

    led, live = e.ledger, e.ledger.relevance_init != 0
    r = led.relevance_init[live].abs()
    reach = led.reach_profile()
    through_b = sum(led.node_relevance[k][live].sum((1, 2)) for k in led.node_relevance if k.startswith("B"))
    row = dict(**residuals(led),
               support_lag_99=float(np.median([support_lag(a, 0.99) for a in e.attribution[live].numpy()])),
               flux_lag_1e3=int(np.argmax(reach < 1e-3)) + 1 if (reach < 1e-3).any() else window,
               relevance_via_b=float((through_b / r).mean()) if path else 0.0,
               amplification=float(led.amplification[live].median()))
    return row, reach
