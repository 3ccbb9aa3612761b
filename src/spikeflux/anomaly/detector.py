r"""The detector: a spiking network that scores every second of a home as normal or anomalous.

A :class:`~spikeflux.snn.LIFNetwork` with two outputs (0 = normal, 1 = anomalous), a
leaky readout and slow synapses (:data:`DETECTOR`), trained with the per-step NLL
weighted so that both classes, and every anomaly, weigh the same (:func:`sample_weights`,
:func:`train_detector`). Its anomaly score is the readout's log-odds
:math:`s[t] = U^L_1[t] - U^L_0[t]` (:func:`score_series`); :func:`best_f1_threshold`
sets the alarm threshold :math:`\tau` and :func:`detection_scores` /
:func:`detection_table` / :func:`per_anomaly_detection` score the alarms per second and
per anomaly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import training
from ..data.adl import INPUTS
from ..models import LIF_OPTIONS
from ..snn import LIFNetwork, decays
from ..training import History, TrainConfig, predict_series
from .injection import Injection

__all__ = ["DETECTOR", "LIF_SWITCHES", "build_detector", "detector_table", "concat_series", "training_series", "sample_weights",
           "train_detector", "fit_detector", "score_series", "best_f1_threshold", "detection_scores",
           "detection_table", "per_anomaly_detection", "per_kind_detection"]

#: The detector: 14 inputs -> ``hidden`` LIF neurons -> 2 leaky readout neurons (normal,
#: anomalous), one step per second (``dt = 1``). ``tau_syn`` sets the memory: the synaptic
#: current forgets with :math:`\alpha = e^{-\Delta t/\tau_{syn}}` per second, so a minute-long
#: fridge opening or microwave run builds up a current that a ten-second one does not.
#: The values were set by hand on the training and validation days (no search on the test
#: days); ``weight_scale`` is the initial weight scale of :class:`~spikeflux.snn.LIFNetwork`.
DETECTOR: dict = dict(hidden=[32], dt=1.0, tau_syn=60.0, tau_mem=10.0, readout="leaky", weight_scale=0.5,
                      lr=5e-3, batch_size=256, window=900)


#: further :class:`~spikeflux.snn.LIFNetwork` switches a detector setting may carry (LIFNetwork's defaults
#: otherwise): the models' LIF options, less the two every detector sets
LIF_SWITCHES = tuple(k for k in LIF_OPTIONS if k not in ("readout", "weight_scale"))


def build_detector(seed: int = 0, device=None, n_in: int = len(INPUTS), **overrides) -> LIFNetwork:
    """A fresh detector network (:data:`DETECTOR` updated by ``overrides``), weights seeded; ``n_in``
    inputs (default the 14 ADL inputs); the switches :data:`LIF_SWITCHES` (ALIF ``adaptation=(rho, gamma)``,
    ``recurrent``, ``reset``, ``surrogate_scale``) pass through when a setting carries them."""
    hp = {**DETECTOR, **overrides}
    net = LIFNetwork([n_in, *hp["hidden"], 2], dt=hp["dt"], tau_syn=hp["tau_syn"], tau_mem=hp["tau_mem"],
                     readout=hp["readout"], weight_scale=hp["weight_scale"], seed=seed,
                     **{k: tuple(hp[k]) if k == "adaptation" else hp[k] for k in LIF_SWITCHES
                        if hp.get(k) is not None})
    return net.to(device) if device is not None else net


def concat_series(injections: list[Injection], window: int = 900) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training series from several injected spans.

    Each span is cut to whole ``window``-second windows first (so no window mixes two
    homes), then the spans are concatenated. Returns ``x`` ``(T, 14)``, ``label`` ``(T,)``
    and ``anomaly`` ``(T,)`` (a running anomaly number, unique over the spans; -1 outside).
    """
    xs, ys, ids, offset = [], [], [], 0
    for inj in injections:
        n = len(inj.label) // window * window
        xs.append(inj.x[:n]), ys.append(inj.label[:n])
        ids.append(np.where(inj.anomaly[:n] >= 0, inj.anomaly[:n] + offset, -1))
        offset += len(inj.log)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ids)


def sample_weights(label: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
    """Per-second loss weights ``(T,)``, mean 1: both classes equal, every anomaly equal.

    The normal seconds share half of the total weight equally (inverse class frequency);
    the other half is split equally among the anomalies present, and within an anomaly
    equally among its seconds. A ten-second door opening then weighs as much as a
    two-hour silence, so the long anomalies do not drown the short ones.
    """
    label, anomaly = np.asarray(label), np.asarray(anomaly)
    if not (label == 0).any() or not (label == 1).any():
        raise ValueError("both classes must occur to weight them")
    if ((anomaly >= 0) != (label == 1)).any():
        raise ValueError("anomaly ids must be >= 0 exactly on the anomalous seconds")
    T = len(label)
    w = np.where(label == 0, 0.5 * T / (label == 0).sum(), 0.0)
    ids, counts = np.unique(anomaly[anomaly >= 0], return_counts=True)
    per_second = dict(zip(ids.tolist(), (0.5 * T / len(ids) / counts).tolist()))
    pos = np.flatnonzero(anomaly >= 0)
    w[pos] = [per_second[a] for a in anomaly[pos].tolist()]
    return w


def train_detector(net: LIFNetwork, train: tuple, val: tuple, config: TrainConfig) -> History:
    """Train ``net`` in place with the weighted per-step NLL; returns the :class:`History`.

    :func:`spikeflux.training.train` (windows arranged as parallel streams, state carried and
    detached between batches, Adam, early stopping on the validation loss with the best
    weights restored) with every step's NLL multiplied by its weight. ``train``, ``val``:
    ``(x (T, 14), label (T,), weight (T,))``, weights from :func:`sample_weights`.
    """
    return training.train(net, train, val, config, progress=False)


def fit_detector(train: tuple, val: tuple, *, seed: int = 0, max_epochs: int = 8, patience: int = 3,
                 device=None, n_in: int = len(INPUTS), **overrides) -> tuple[LIFNetwork, History, TrainConfig]:
    """Build (:func:`build_detector`) and train (:func:`train_detector`) a detector.

    ``train``, ``val``: ``(x, label, weight)`` as for :func:`train_detector`; ``overrides``
    update :data:`DETECTOR`; ``n_in`` inputs (default the 14 ADL inputs). Returns the trained network (best validation epoch), its
    history and the :class:`~spikeflux.training.TrainConfig` used.
    """
    hp = {**DETECTOR, **overrides}
    net = build_detector(seed=seed, device=device, n_in=n_in, **overrides)
    config = TrainConfig(lr=hp["lr"], batch_size=hp["batch_size"], window=hp["window"], max_epochs=max_epochs,
                         patience=patience, seed=seed)
    return net, train_detector(net, train, val, config), config


def score_series(net: LIFNetwork, x: np.ndarray, n_streams: int = 8, burn_in: int = 1800,
                 chunk: int = 1800) -> np.ndarray:
    """Anomaly score :math:`s[t] = U^L_1[t] - U^L_0[t]` for every second of ``x`` ``(T, 14)`` -> ``(T,)``.

    The series runs as ``n_streams`` contiguous pieces in parallel; each piece starts
    ``burn_in`` seconds early (from a zero state) and those outputs are dropped, so every
    score sees at least ``burn_in`` seconds of history (except the first seconds of ``x``).
    """
    out = predict_series(net, x, n_streams=n_streams, chunk=chunk, burn_in=burn_in)
    return (out[:, 1] - out[:, 0]).astype(np.float64)


def detector_table(max_epochs: int, patience: int) -> pd.DataFrame:
    """:data:`DETECTOR`, its decays per step :math:`\alpha, \beta` (:func:`~spikeflux.snn.decays`) and the
    training budget, one row per setting (column ``value``)."""
    hyper = dict(DETECTOR)
    hyper["alpha"], hyper["beta"] = decays(hyper["dt"], hyper["tau_syn"], hyper["tau_mem"])
    hyper["max_epochs"], hyper["patience"] = max_epochs, patience
    return pd.Series({k: str(v) if isinstance(v, list) else v for k, v in hyper.items()}, name="value").to_frame()


def training_series(injections: list[Injection], window: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, label, weight)`` of injected spans for :func:`train_detector`: :func:`concat_series` and
    :func:`sample_weights` (``window`` defaults to ``DETECTOR["window"]``)."""
    x, label, ids = concat_series(injections, window or DETECTOR["window"])
    return x, label, sample_weights(label, ids)


# --------------------------------------------------------------------------- detection scores


def best_f1_threshold(label: np.ndarray, score: np.ndarray) -> float:
    r"""The threshold :math:`\tau` (alarm: ``score > tau``) with the largest per-second F1."""
    from sklearn.metrics import precision_recall_curve

    p, r, thr = precision_recall_curve(label, score)
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0.0)[:-1]
    k = int(np.argmax(f1))
    return float(np.nextafter(thr[k], -np.inf))  # score >= thr[k]  <=>  score > just below it


def detection_scores(label: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Per-second precision, recall, F1 at ``threshold``, ROC AUC and average precision."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    label = np.asarray(label)
    alarm = score > threshold
    tp, fp, fn = int((alarm & (label == 1)).sum()), int((alarm & (label == 0)).sum()), int((~alarm & (label == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    both = 0 < label.sum() < len(label)
    return dict(precision=precision, recall=recall, f1=f1,
                roc_auc=float(roc_auc_score(label, score)) if both else float("nan"),
                average_precision=float(average_precision_score(label, score)) if both else float("nan"),
                positives=int(label.sum()), seconds=int(len(label)), alarm_seconds=int(alarm.sum()))


def per_anomaly_detection(inj: Injection, score: np.ndarray, threshold: float, tolerance: int = 300) -> pd.DataFrame:
    """Per anomaly: the share of its seconds above threshold, whether it raised an alarm, the delay.

    An anomaly counts as *detected* when the score exceeds the threshold anywhere from its
    start to ``tolerance`` seconds after its end (the rule of :func:`match_alarms`).
    Returns the log with columns ``second_recall``, ``detected`` and ``delay`` (seconds
    from the start to the first second above threshold; NaN if not detected).
    """
    rows = []
    for r in inj.log.itertuples():
        hit = score[r.start:min(r.end + tolerance, len(score) - 1) + 1] > threshold
        rows.append(dict(second_recall=float((score[r.start:r.end + 1] > threshold).mean()),
                         detected=bool(hit.any()), delay=float(np.argmax(hit)) if hit.any() else np.nan))
    return pd.concat([inj.log.reset_index(drop=True), pd.DataFrame(rows, columns=["second_recall", "detected", "delay"])],
                     axis=1)


def detection_table(label_of: dict, scores: dict, groups: dict, threshold: float, leave_out: dict | None = None):
    """:func:`detection_scores` of several groups of spans, one row per group.

    ``label_of`` and ``scores`` map a span key to its labels and scores ``(n,)``; ``groups``
    maps a row name to ``(keys, drop)``: the spans pooled, and whether to leave out the
    seconds ``leave_out[key]`` (a boolean ``(n,)`` per span) of each.
    """
    rows = {}
    for name, (keys, drop) in groups.items():
        keep = np.concatenate([~leave_out[k] if drop else np.ones(len(scores[k]), bool) for k in keys])
        rows[name] = detection_scores(np.concatenate([label_of[k] for k in keys])[keep],
                                      np.concatenate([scores[k] for k in keys])[keep], threshold)
    return pd.DataFrame(rows).T


def per_kind_detection(per_anomaly: pd.DataFrame, kinds) -> pd.DataFrame:
    """:func:`per_anomaly_detection` rows summed up per kind (rows in the order of ``kinds``):
    anomalies, detected, mean share of seconds above threshold, median delay."""
    by_kind = per_anomaly.groupby("kind").agg(anomalies=("kind", "size"), detected=("detected", "sum"),
                                              second_recall=("second_recall", "mean"), median_delay=("delay", "median"))
    return by_kind.reindex([k for k in kinds if k in by_kind.index])
