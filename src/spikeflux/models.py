"""The models of TSA's experiments (``spec/tsa.md``), their hyper-parameters in one place.

"xL" counts weight matrices: 1L = input -> output, 2L = one hidden layer, 3L = two.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import derived_dir
from .snn import LIFNetwork
from .training import (History, TrainConfig, balanced_accuracy_ci, class_weights, predict_series, train,
                       with_step_weights)

#: (task, depth) -> network and optimiser settings of the original (tuned for ADL).
HYPERPARAMS: dict[tuple[str, str], dict] = {
    ("synthetic", "1L"): dict(hidden=[], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, lr=1e-2, batch_size=128),
    ("synthetic", "2L"): dict(hidden=[10], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, lr=1e-2, batch_size=128),
    ("synthetic", "3L"): dict(hidden=[10, 10], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, lr=1e-2, batch_size=128),
    # ADL: the loss weighted by class (n / (K n_c), training.class_weights): +0.06-0.08 validation balanced
    # accuracy on 1L, 2L (2 seeds) and 3L at no cost per epoch (benchmarks/adl_gap.py, benchmarks/results/adl_gap.csv)
    ("adl", "1L"): dict(hidden=[], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2, lr=1e-2, batch_size=128, class_weights=True),
    ("adl", "2L"): dict(hidden=[100], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, lr=1e-3, batch_size=256,
                        class_weights=True),
    ("adl", "3L"): dict(hidden=[50, 25], dt=1e-3, tau_syn=1e-2, tau_mem=1e-2, lr=1e-3, batch_size=512,
                        class_weights=True),
    # delayed cue (spikeflux.data.cue): memory in the synaptic current (tau_syn = 100 ms, alpha = 0.990
    # per step) and a leaky readout; small initial weights, since the bias drive is integrated by
    # 1 / ((1 - alpha)(1 - beta)) ~ 250x. The 3L network learns only with a wider surrogate (scale 10 instead
    # of 100: with the long synaptic currents the membranes sit far from threshold); 4 settings at scale 100 failed
    ("cue", "1L"): dict(hidden=[], dt=1e-3, tau_syn=1e-1, tau_mem=2e-3, lr=2e-3, batch_size=16,
                        readout="leaky", weight_scale=0.005),
    ("cue", "2L"): dict(hidden=[16], dt=1e-3, tau_syn=1e-1, tau_mem=2e-3, lr=3e-3, batch_size=16,
                        readout="leaky", weight_scale=0.02),
    ("cue", "3L"): dict(hidden=[16, 16], dt=1e-3, tau_syn=1e-1, tau_mem=2e-3, lr=2e-3, batch_size=16,
                        readout="leaky", weight_scale=0.02, surrogate_scale=10.0),
    # UEA BasicMotions (spikeflux.data.uea): one 200-step training window per case (100 rest steps, the
    # 100-step case), classified at its last step by a leaky readout; tau_syn = 20 ms integrates the
    # delta spikes over about 20 steps. The 3L network needs the smaller learning rate (at 1e-2 it stalled)
    ("uea", "1L"): dict(hidden=[], dt=1e-3, tau_syn=2e-2, tau_mem=2e-3, lr=1e-2, batch_size=8, readout="leaky",
                        window=200),
    ("uea", "2L"): dict(hidden=[16], dt=1e-3, tau_syn=2e-2, tau_mem=2e-3, lr=1e-2, batch_size=8, readout="leaky",
                        window=200),
    ("uea", "3L"): dict(hidden=[16, 16], dt=1e-3, tau_syn=2e-2, tau_mem=2e-3, lr=3e-3, batch_size=8,
                        readout="leaky", window=200),
}
SIZES = {"synthetic": (3, 4), "adl": (14, 11), "cue": (6, 3), "uea": (13, 4)}
#: LIFNetwork switches a HYPERPARAMS entry may set (defaults of LIFNetwork otherwise)
LIF_OPTIONS = ("readout", "reset", "recurrent", "adaptation", "weight_scale", "surrogate_scale")
#: TrainConfig switches a HYPERPARAMS entry may set (the learning-rate schedule; off otherwise)
TRAIN_OPTIONS = ("lr_schedule", "lr_factor", "lr_patience")
DEPTHS = ("1L", "2L", "3L")


def build(task: str, depth: str, seed: int = 0, device=None, **overrides) -> LIFNetwork:
    """A freshly initialised network of the given task and depth (weights seeded, then moved to ``device``)."""
    if (task, depth) not in HYPERPARAMS:
        raise ValueError(f"unknown model {task!r}/{depth!r}; known: {sorted(HYPERPARAMS)}")
    hp = {**HYPERPARAMS[(task, depth)], **overrides}
    n_in, n_out = SIZES[task]
    net = LIFNetwork([n_in, *hp["hidden"], n_out], dt=hp["dt"], tau_syn=hp["tau_syn"],
                     tau_mem=hp["tau_mem"], seed=seed, **{k: hp[k] for k in LIF_OPTIONS if k in hp})
    return net.to(device) if device is not None else net


def weights_path(task: str, depth: str, root: Path | None = None, seed: int = 0) -> Path:
    """Where a trained model is kept: ``<derived>/models/<task>_<depth>.pt`` for training seed 0,
    ``<task>_<depth>_seed<s>.pt`` for the other seeds."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    name = f"{task}_{depth}.pt" if seed == 0 else f"{task}_{depth}_seed{int(seed)}.pt"
    return (root or derived_dir()) / "models" / name


def train_config(task: str, depth: str, *, seed: int = 0, max_epochs: int = 50, patience: int = 10,
                 **overrides) -> TrainConfig:
    """The optimisation settings :func:`fit` trains ``task``/``depth`` with: the learning rate, batch size
    and window of ``HYPERPARAMS`` (or ``overrides``; the window defaults to 900 steps), the epoch budget
    and the seed. The LIF switches among ``overrides`` (``recurrent``, ``reset``, ...) do not enter it."""
    hp = {**HYPERPARAMS[(task, depth)], **overrides}
    return TrainConfig(lr=hp["lr"], batch_size=hp["batch_size"], window=hp.get("window", TrainConfig.window),
                       max_epochs=max_epochs, patience=patience, seed=seed,
                       **{k: hp[k] for k in TRAIN_OPTIONS if k in hp})


def fit(task: str, depth: str, splits: dict, *, seed: int = 0, max_epochs: int = 50, patience: int = 10,
        progress: bool = True, save: bool = True, device=None, **overrides) -> tuple[LIFNetwork, History, dict]:
    """Build, train (early stopping on validation NLL) and test one model.

    ``splits`` maps ``train``/``val``/``test`` to ``(x, y)`` arrays, or to ``(x, y, w)`` with
    per-step loss weights ``w`` (the test score then counts the steps with ``w > 0``); a HYPERPARAMS entry (or
    an override) with ``class_weights=True`` weighs the training and validation loss of ``(x, y)`` splits by
    :func:`~spikeflux.training.class_weights` of the training labels. Returns the network,
    its history and test metrics (balanced accuracy with a 95% block-bootstrap interval,
    and the per-step predictions). The training window is ``HYPERPARAMS[...]["window"]`` where an entry
    sets one (an override may too), else 900 steps. With ``save`` the weights go to :func:`weights_path`
    together with the hyper-parameters, history and test scores.
    """
    net = build(task, depth, seed=seed, device=device, **overrides)
    hp = {**HYPERPARAMS[(task, depth)], **overrides}
    train_xy, val_xy = splits["train"], splits["val"]
    if hp.get("class_weights"):  # per-step loss weights n / (K n_c) of the training labels, on both losses
        if len(train_xy) > 2:
            raise ValueError(f"{task}/{depth}: class_weights is set but the splits carry their own loss weights")
        w = class_weights(train_xy[1], SIZES[task][1])
        train_xy, val_xy = with_step_weights(train_xy, w), with_step_weights(val_xy, w)
    cfg = train_config(task, depth, seed=seed, max_epochs=max_epochs, patience=patience, **overrides)
    hist = train(net, train_xy, val_xy, cfg, progress=progress)
    x_test, y_test = splits["test"][:2]
    logits = predict_series(net, x_test)
    pred = logits.argmax(1)
    scored = splits["test"][2] > 0 if len(splits["test"]) > 2 else slice(None)  # (x, y, w): steps with w > 0
    ba, lo, hi = balanced_accuracy_ci(y_test[scored], pred[scored], SIZES[task][1], seed=seed)
    metrics = dict(balanced_accuracy=ba, ci_low=lo, ci_high=hi, pred=pred)
    if save:
        net.save(weights_path(task, depth, seed=seed), task=task, depth=depth, seed=seed, train_config=asdict(cfg),
                 history=json.dumps(hist.as_dict()), test_balanced_accuracy=[ba, lo, hi])
    return net, hist, metrics


def _fit_one(args: tuple) -> tuple:
    task, depth, splits, kw = args
    import torch

    torch.set_num_threads(1)
    return fit(task, depth, splits, **kw)


def fit_all(task: str, depths, splits: dict, *, workers: int = 1, seeds=None, **kw) -> dict:
    """:func:`fit` every depth of ``depths`` (and every training seed of ``seeds``).

    Returns ``depth -> (net, history, metrics)`` with ``seeds=None`` (one model per depth,
    trained with ``seed``), else ``(depth, seed) -> (net, history, metrics)``: a seed sets the
    initial weights and the order of the training windows. With ``workers > 1`` the models
    train side by side in that many spawned, single-threaded processes (largest first), so a
    chapter that trains several models uses an idle core. A model trained in a worker is
    bit-identical to one trained in-process with one thread (``torch.set_num_threads(1)``, as
    every notebook kernel of a parallel ``make book`` is): each training is seeded on its own.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    depths = list(depths)
    keyed = seeds is not None
    base_seed = kw.pop("seed", 0)
    jobs = [(d, int(s)) for d in depths for s in (seeds if keyed else [base_seed])]
    if workers <= 1 or len(jobs) <= 1 or str(kw.get("device") or "cpu") != "cpu":
        out = {(d, s): fit(task, d, splits, seed=s, **kw) for d, s in jobs}
    else:
        cost = {d: sum(int(h) for h in HYPERPARAMS[(task, d)]["hidden"]) for d in depths}  # largest first
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn")) as pool:
            futures = {j: pool.submit(_fit_one, (task, j[0], splits, {**kw, "seed": j[1]}))
                       for j in sorted(jobs, key=lambda j: (-cost[j[0]], j[1]))}
            out = {j: futures[j].result() for j in jobs}
    return out if keyed else {d: out[(d, base_seed)] for d in depths}


def load(task: str, depth: str, root: Path | None = None, seed: int = 0) -> LIFNetwork:
    """The trained model saved by :func:`fit` (safe load); ``seed``: its training seed."""
    path = weights_path(task, depth, root, seed=seed)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: execute the {task} chapter first "
                                f"(python -m spikeflux.pipeline --only {task}); trained seeds are listed "
                                f"by spikeflux.models.trained_seeds({task!r}, {depth!r})")
    return LIFNetwork.load(path)


def trained_seeds(task: str, depth: str, root: Path | None = None) -> list[int]:
    """The training seeds of ``task``/``depth`` whose weights exist, sorted."""
    folder = (root or derived_dir()) / "models"
    seeds = [0] if (folder / f"{task}_{depth}.pt").is_file() else []
    for p in folder.glob(f"{task}_{depth}_seed*.pt"):
        tail = p.stem.rsplit("_seed", 1)[1]
        if tail.isdigit():
            seeds.append(int(tail))
    return sorted(seeds)


def history_of(net: LIFNetwork) -> dict:
    """The training history stored with a saved model."""
    return json.loads(net.metadata["history"])


def per_class_recall(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Recall of every class (NaN for classes absent from ``y``)."""
    support = np.bincount(y, minlength=n_classes)
    hits = np.bincount(y[pred == y], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)
