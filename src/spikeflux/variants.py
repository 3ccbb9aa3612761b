r"""The LIF variants of ``notebooks/beyond_lif.md``, each one constructor switch of
:class:`~spikeflux.snn.LIFNetwork`, trained from scratch next to the plain model.

- :func:`switches`: the four variants (recurrent synapses, ALIF with
  :math:`\rho = e^{-\Delta t/\tau_a}` and :math:`\gamma`, subtract reset, leaky readout);
- :func:`lineup`: the plain model of a task and the variants that change it;
- :func:`train_lineup`: every model of a line-up trained from fresh weights with
  :func:`spikeflux.models.fit` (the task's architecture, loop, learning rate, batch size and epoch
  budget; a seed gives every model the same feed-forward initial weights and window order), saved
  at :func:`weights_path`; :func:`load` reads them back (the evaluation suite's loader);
  :func:`accuracy_table`, :func:`learned`: the test balanced accuracy over seeds and chance;
- :func:`suite_points`: the explained points of the synthetic and delayed-cue tasks, with their
  ground-truth masks;
- :func:`residuals`: the largest conservation residuals of a ledger, relative to the relevance
  moved :math:`\sum_n |R_n|` and to :math:`|R_\text{init}|`;
- :func:`sink_budget`: where a ledger's :math:`R_\text{init}` goes (absorbed, each sink, through the
  hidden spikes) and the negative share of the relevance moved;
- :func:`threshold_summary`: the ALIF threshold held as a gate or as a path.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import models
from .config import derived_dir
from .snn import LIFNetwork

#: The ALIF variant's adaptation: time constant :math:`\tau_a` (seconds) and jump :math:`\gamma` per spike.
ALIF = dict(tau_adapt=20e-3, gamma=0.2)
#: the name of the reference model in a line-up
PLAIN = "plain LIF"


def switches(dt: float, tau_adapt: float = ALIF["tau_adapt"], gamma: float = ALIF["gamma"]) -> dict[str, dict]:
    r"""The four variants as ``{name: LIFNetwork keyword arguments}``; ALIF gets :math:`(\rho, \gamma)` with
    :math:`\rho = e^{-\Delta t/\tau_a}`."""
    return {
        "recurrent": dict(recurrent=True),
        "ALIF": dict(adaptation=(math.exp(-dt / tau_adapt), gamma)),
        "subtract reset": dict(reset="subtract"),
        "leaky readout": dict(readout="leaky"),
    }


def lineup(task: str, depth: str = "2L") -> dict[str, dict]:
    """``{name: switches}``: :data:`PLAIN` (``{}``, the task's model of ``models.HYPERPARAMS``) and every
    variant of :func:`switches` that changes it; a switch the task's model already has is left out
    (the delayed-cue models have a leaky readout: their "leaky readout" variant is the plain model)."""
    hp = models.HYPERPARAMS[(task, depth)]
    return {PLAIN: {}, **{name: sw for name, sw in switches(hp["dt"]).items()
                          if any(hp.get(k) != v for k, v in sw.items())}}


def slug(name: str) -> str:
    """A model name's file-name form: its first word, lower case (``"subtract reset"`` -> ``"subtract"``)."""
    return name.split()[0].lower()


def weights_path(task: str, name: str, seed: int, depth: str = "2L", root: Path | None = None) -> Path:
    """``<derived>/models/beyond_lif/<task>_<depth>_<slug>_seed<seed>.pt``."""
    return (root or derived_dir()) / "models" / "beyond_lif" / f"{task}_{depth}_{slug(name)}_seed{int(seed)}.pt"


def train_lineup(task: str, splits: dict, lineup: dict[str, dict], seeds, *, max_epochs: int, patience: int,
                 depth: str = "2L", device="cpu", root: Path | None = None) -> tuple[list, list]:
    """Train every model of ``lineup`` from scratch on every seed of ``seeds``; returns ``(rows, timing)``.

    Each model is :func:`spikeflux.models.fit` with its switches: fresh weights from the seed, the
    task's hyper-parameters, and the same :func:`spikeflux.models.train_config` (``max_epochs``,
    ``patience``) for all. ``rows``: ``task, model, seed, epochs, best_epoch, ba, low, high`` (test
    balanced accuracy with its block-bootstrap interval); ``timing``: the mean seconds per epoch.
    The weights go to :func:`weights_path` with the training config and history.
    """
    rows, timing = [], []
    for name, sw in lineup.items():
        for s in seeds:
            net, hist, m = models.fit(task, depth, splits, seed=int(s), max_epochs=max_epochs, patience=patience,
                                      progress=False, save=False, device=device, **sw)
            ba = [float(m[k]) for k in ("balanced_accuracy", "ci_low", "ci_high")]
            cfg = models.train_config(task, depth, seed=int(s), max_epochs=max_epochs, patience=patience, **sw)
            net.save(weights_path(task, name, s, depth, root), task=task, depth=depth, variant=name, seed=int(s),
                     train_config=asdict(cfg), history=json.dumps(hist.as_dict()), test_balanced_accuracy=ba)
            rows.append(dict(task=task, model=name, seed=int(s), epochs=len(hist.val_loss),
                             best_epoch=hist.best_epoch + 1, **dict(zip(("ba", "low", "high"), ba))))
            timing.append(dict(task=task, model=name, seed=int(s),
                               seconds_per_epoch=float(np.mean(hist.epoch_seconds))))
    return rows, timing


def load(task: str, name: str, seed: int = 0, dtype: str = "float64", depth: str = "2L",
         root: Path | None = None) -> LIFNetwork:
    """A model saved by :func:`train_lineup`, in ``dtype`` (the loader of
    :func:`spikeflux.evaluation.run_suite`: jobs ``(task, name, seed, method)``)."""
    path = weights_path(task, name, seed, depth, root)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: train {task}/{name!r} seed {seed} with "
                                f"spikeflux.variants.train_lineup (the beyond_lif chapter does)")
    return LIFNetwork.load(path).to(dtype=getattr(torch, dtype))


def learned(rows: list, n_classes: dict) -> dict:
    """``(task, model) -> bool``: whether the lower end of the test balanced accuracy's interval is above
    chance, ``1 / n_classes[task]``, on every trained seed."""
    out: dict = {}
    for r in rows:
        k = (r["task"], r["model"])
        out[k] = out.get(k, True) and r["low"] > 1.0 / n_classes[r["task"]]
    return out


def accuracy_table(rows: list) -> pd.DataFrame:
    """Model × (task, ``seed s`` / ``mean``) table: ``ba [low, high]`` per seed and the mean over seeds."""
    df = pd.DataFrame(rows)
    cells = {}
    for (task, model), g in df.groupby(["task", "model"], sort=False):
        for r in g.itertuples():
            cells.setdefault((task, f"seed {r.seed}"), {})[model] = f"{r.ba:.3f} [{r.low:.3f}, {r.high:.3f}]"
        cells.setdefault((task, "mean"), {})[model] = f"{g.ba.mean():.3f}"
    table = pd.DataFrame(cells).reindex(list(dict.fromkeys(df.model)))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["task", ""])
    return table.fillna("—")


def suite_points(task: str, data, splits: dict, per_class: int, window: int, burn_in: int, seed: int = 0):
    """The explained points of ``task`` (``"synthetic"`` or ``"cue"``) for the evaluation suite, with their
    ground-truth masks: stratified test steps (the synthetic task without silent windows, as in
    :func:`spikeflux.evaluation.suite`; the cue task among its explained steps, as in its chapter).
    Returns ``(points, delay)``, ``delay`` ``(P,)`` the steps since the deciding cue (cue task) or ``None``."""
    from . import evaluation as ev
    from .data.cue import explained_points

    x, y = splits["test"][:2]
    offset = data.offsets()["test"]
    gt = lambda _, t, w: data.ground_truth(offset + t, w)  # noqa: E731
    if task == "synthetic":
        pts = ev.make_points(task, {task: (x, y)}, per_class, window, burn_in, seed=seed, bias_channel=0,
                             exclude_silent=True, ground_truth=gt)
        return pts, None
    if task == "cue":
        pts = ev.make_points(task, {task: (x, data.selection_labels(offset))}, per_class, window, burn_in, seed=seed,
                             bias_channel=0, ground_truth=gt)
        pts = explained_points(pts, data.n_cues)
        return pts, np.array([data.delay[offset + t] for _, t in pts.where])
    raise ValueError(f"suite_points: task must be 'synthetic' or 'cue', got {task!r}")


def label(name: str, learned: bool) -> str:
    """A model's name in the evaluation's tables: ``name``, with " (chance)" if it did not learn."""
    return name if learned else f"{name} (chance)"


def mark_unlearned(summary: pd.DataFrame, verdicts: dict, learned: dict) -> tuple[pd.DataFrame, dict]:
    """The suite's ``summary`` and ``verdicts`` with each model renamed by :func:`label`
    (``learned``: :func:`learned`), so that no table shows a model at chance unmarked."""
    summary = summary.assign(model=[label(m, learned[(t, m)]) for t, m in zip(summary.dataset, summary.model)])
    return summary, {(t, label(m, learned[(t, m)]), *rest): v for (t, m, *rest), v in verdicts.items()}


def best_methods(verdicts: dict, metric: str) -> dict:
    """``task -> "model: methods; ..."``: the best methods of each model by ``metric``
    (:func:`spikeflux.evaluation.verdicts`; "none" where no method beats random); models marked
    by :func:`mark_unlearned` are left out ("no model learned" if that leaves none)."""
    out: dict = {}
    for (task, model, m, _), v in verdicts.items():
        if m == metric and not model.endswith(" (chance)"):
            out.setdefault(task, []).append(f"{model}: {', '.join(v['best']) or 'none'}")
    tasks = dict.fromkeys(t for t, *_ in verdicts)
    return {task: "; ".join(out[task]) if task in out else "no model learned" for task in tasks}


def null_methods(verdicts: dict, metric: str, methods) -> dict:
    """``task -> "model: methods; ..."``: the ``methods`` not significantly better than the random map by
    ``metric`` on each model (models marked by :func:`mark_unlearned` left out, "no model learned" if that
    leaves none; "none" where every method beats it)."""
    out: dict = {}
    for (task, model, m, _), v in verdicts.items():
        if m == metric and not model.endswith(" (chance)"):
            null = [x for x in methods if x not in v["beats_random"]]
            out.setdefault(task, []).extend([f"{model}: {', '.join(null)}"] if null else [])
    return {task: ("; ".join(out[task]) or "none") if task in out else "no model learned"
            for task in dict.fromkeys(t for t, *_ in verdicts)}


def delay_shift(by_delay: pd.DataFrame, plain: str = PLAIN) -> pd.DataFrame:
    """Variant − plain of a (model, method) × delay-bin table (bins in order of delay), per method: the
    change in the nearest bin, in the farthest bin, and of the far − near difference."""
    near, far = by_delay.columns[0], by_delay.columns[-1]
    base = by_delay.loc[plain]
    rows = []
    for (model, method), r in by_delay.iterrows():
        if model == plain or method not in base.index:
            continue
        b = base.loc[method]
        rows.append({"model": model, "method": method, f"Δ {near}": r[near] - b[near], f"Δ {far}": r[far] - b[far],
                     "Δ (far − near)": (r[far] - r[near]) - (b[far] - b[near])})
    cols = ["model", "method", f"Δ {near}", f"Δ {far}", "Δ (far − near)"]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "method"])


def describe_shift(shift: pd.DataFrame) -> str:
    """One sentence on :func:`delay_shift`: per variant, the mean over methods of the change in the
    nearest and farthest delay bin."""
    if shift.empty:
        return "no variant besides the plain model was evaluated on the cue task, so nothing can be compared"
    near, far = shift.columns[0], shift.columns[1]
    mean = shift.groupby(level="model", sort=False).mean()
    parts = [f"{m} {r[near]:+.3f} and {r[far]:+.3f}" for m, r in mean.iterrows()]
    return ("averaged over the methods, the ground-truth average precision changes from the plain model to the "
            f"variant by (nearest bin, {near.removeprefix('Δ ')} steps, and farthest bin, "
            f"{far.removeprefix('Δ ')} steps): " + "; ".join(parts))


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
