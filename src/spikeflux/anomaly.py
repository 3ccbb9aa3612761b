r"""Anomalies injected into the ADL homes, a spiking detector, and explanations of its alarms.

The paper idea behind this book reads LRP in spiking networks as a conservative transport
scheme "with an illustrative anomaly-detection example". This module provides that
example on the UCI ADL homes (:mod:`spikeflux.data.adl`), in three parts.

Injection (exact ground truth)
    :func:`inject` modifies a span of one home's per-second inputs ``x`` ``(n, 14)`` with
    seeded, realistic anomalies (:data:`KINDS`) and returns an :class:`Injection`: the
    modified inputs, a ``(n, 14)`` boolean mask of every modified cell, a per-second label
    ``(n,)`` (1 inside an anomaly) and a tidy log, one row per anomaly
    ``(subject, kind, sensors, start, end)`` (seconds of the span, both inclusive). Only
    sensors that exist in the home are injected (:data:`HOME_SENSORS`: A has a cooktop and
    no door PIRs, B has door PIRs and neither a cooktop, a toaster nor a cabinet
    sensor); anomalies never overlap and are at least ``gap`` seconds apart.

Detector (a spiking network)
    A :class:`~spikeflux.snn.LIFNetwork` with two outputs (0 = normal, 1 = anomalous), a
    leaky readout and slow synapses (:data:`DETECTOR`), trained with the per-step NLL
    weighted so that both classes, and every anomaly, weigh the same (:func:`sample_weights`,
    :func:`train_detector`). Its anomaly score is the
    readout's log-odds :math:`s[t] = U^L_1[t] - U^L_0[t]` (:func:`score_series`); an
    *alarm* is a run of seconds with :math:`s[t] > \tau` (:func:`find_alarms`).

Explaining alarms
    :func:`explain_alarm` explains the score :math:`s[t^*]` at an alarm's onset :math:`t^*`
    (output 1 of the detector's :func:`contrast_network`, whose readout is
    :math:`U^L_1 - U^L_0` exactly) over the ``w`` seconds ending at :math:`t^*`, with any
    method of :data:`spikeflux.explain.METHODS`; :func:`localisation` scores the map
    against the ground-truth mask cut to the same window (:func:`window_mask`).

Everything random takes a seed; nothing is pickled (weights go through
:meth:`LIFNetwork.save`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .data.adl import CLASSES, INPUTS
from .snn import LIFNetwork
from . import training
from .training import History, TrainConfig, predict_series

__all__ = [
    "AnomalyKind", "KINDS", "HOME_SENSORS", "SPLIT_CODES", "LOG_COLUMNS", "Injection", "inject",
    "injection_rng", "spans", "DETECTOR", "build_detector", "concat_series", "sample_weights",
    "train_detector", "fit_detector", "score_series", "best_f1_threshold", "detection_scores",
    "per_anomaly_detection", "find_alarms", "match_alarms", "window_mask", "contrast_network",
    "explain_alarm", "localisation", "LOCALISATION_METRICS",
]

SLEEPING = CLASSES.index("Sleeping")
LEAVING = CLASSES.index("Leaving")

# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class AnomalyKind:
    """One kind of injected anomaly.

    Attributes
    ----------
    name : str
        Key in :data:`KINDS`.
    sensors : tuple of str
        Locations the anomaly turns on (``effect="add"``), or ``()`` for "every sensor"
        (``effect="remove"``: all sensor channels are silenced).
    when : {"sleep", "fridge", "home"}
        Where it may start: inside a ``Sleeping`` label, at least ``edge`` seconds from
        the label's start and end (the resident is asleep, as a rule on the bed sensor);
        at the end of a real fridge
        opening (the door is not closed again); or while the resident is at home and
        awake (no ``Sleeping`` or ``Leaving`` label anywhere in the anomaly).
    hours : (int, int)
        Local hours ``[first, last)`` in which the anomaly's first second must lie (for
        ``when="home"`` every second of the anomaly).
    duration : (int, int)
        Seconds, drawn uniformly from ``[low, high]``.
    effect : {"add", "remove"}
        Turn sensors on, or silence every sensor.
    description : str
    """

    name: str
    sensors: tuple[str, ...]
    when: str
    hours: tuple[int, int]
    duration: tuple[int, int]
    effect: str
    description: str


#: The anomaly kinds (each day schedules them in a random order).
KINDS: dict[str, AnomalyKind] = {k.name: k for k in [
    AnomalyKind("cooktop_night", ("Cooktop",), "sleep", (0, 6), (20 * 60, 45 * 60), "add",
                "the cooktop runs in the middle of the night while the resident is in bed (home A only)"),
    AnomalyKind("microwave_night", ("Microwave",), "sleep", (0, 6), (3 * 60, 12 * 60), "add",
                "the microwave runs in the middle of the night while the resident is in bed"),
    AnomalyKind("maindoor_night", ("Maindoor",), "sleep", (0, 6), (10, 60), "add",
                "the main door opens in the middle of the night while the resident is in bed"),
    AnomalyKind("fridge_open", ("Fridge",), "fridge", (7, 22), (45 * 60, 75 * 60), "add",
                "a real fridge opening is not closed again: the door stays open for about an hour"),
    AnomalyKind("no_motion", (), "home", (9, 17), (90 * 60, 150 * 60), "remove",
                "no sensor fires at all for hours in the daytime while the resident is at home"),
]}

#: Sensor locations that exist in each home (``SOURCE.md`` of the raw data; B's three door
#: PIRs share the ``Door`` channel). Kinds whose sensors a home lacks are not injected there.
HOME_SENSORS: dict[str, tuple[str, ...]] = {
    "A": ("Basin", "Bed", "Cabinet", "Cooktop", "Cupboard", "Fridge", "Maindoor", "Microwave",
          "Seat", "Shower", "Toaster", "Toilet"),
    "B": ("Basin", "Bed", "Cupboard", "Door", "Fridge", "Maindoor", "Microwave", "Seat", "Shower",
          "Toilet"),
}

#: Injection seeds differ by split: the random stream is ``default_rng([seed, SPLIT_CODES[split],
#: subject code])``, so training, validation and test days never share anomalies' draws.
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}

#: Columns of :attr:`Injection.log`.
LOG_COLUMNS = ["subject", "split", "kind", "sensors", "start", "end", "duration", "n_cells",
               "start_time", "end_time"]


def injection_rng(seed: int, split: str, subject: str) -> np.random.Generator:
    """The random stream of one (seed, split, subject): ``default_rng([seed, split code, ord(subject)])``."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {list(SPLIT_CODES)}, got {split!r}")
    return np.random.default_rng([int(seed), SPLIT_CODES[split], ord(subject.upper()[0])])


# --------------------------------------------------------------------------- injection


@dataclass(frozen=True, eq=False)
class Injection:
    """A span of one home with anomalies injected.

    Attributes
    ----------
    subject, split : str
    x : ndarray of float32, shape (n, 14)
        The inputs with the anomalies (columns :data:`~spikeflux.data.adl.INPUTS`).
    x_clean : ndarray of float32, shape (n, 14)
        The original inputs.
    mask : ndarray of bool, shape (n, 14)
        ``x != x_clean``: exactly the modified cells.
    label : ndarray of int64, shape (n,)
        1 for every second from an anomaly's start to its end (inclusive), else 0.
    anomaly : ndarray of int64, shape (n,)
        Row of :attr:`log` that covers each second, -1 outside anomalies.
    y : ndarray of int64, shape (n,)
        The activity labels of the span (unchanged; used only to place anomalies).
    timestamps : ndarray of datetime64[s], shape (n,)
    log : DataFrame
        One row per anomaly, :data:`LOG_COLUMNS`; ``start``/``end`` index the span's seconds,
        ``sensors`` joins the modified locations with ``+``.
    skipped : DataFrame
        One row per (day, kind) that was not injected, with the reason.
    """

    subject: str
    split: str
    x: np.ndarray
    x_clean: np.ndarray
    mask: np.ndarray
    label: np.ndarray
    anomaly: np.ndarray
    y: np.ndarray
    timestamps: np.ndarray
    log: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["subject", "day", "kind", "reason"]))


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (inclusive) ends of the runs of True in a 1-d boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _window_all(ok: np.ndarray, length: int) -> np.ndarray:
    """``out[s]`` = all of ``ok[s : s + length]``, for ``s`` in ``0 .. len(ok) - length``."""
    if length > len(ok):
        return np.zeros(0, dtype=bool)
    c = np.concatenate([[0], np.cumsum(~ok)])
    return (c[length:] - c[:-length]) == 0


def _window_sum(v: np.ndarray, length: int) -> np.ndarray:
    """``out[s] = sum(v[s : s + length])``."""
    if length > len(v):
        return np.zeros(0)
    c = np.concatenate([[0], np.cumsum(v)])
    return c[length:] - c[:-length]


def _hours(timestamps: np.ndarray) -> np.ndarray:
    """Local hour of day ``(n,)`` of ``datetime64[s]`` times."""
    return ((timestamps - timestamps.astype("datetime64[D]")) // np.timedelta64(1, "h")).astype(int)


def _deep_sleep(y: np.ndarray, edge: int) -> np.ndarray:
    """Seconds inside a ``Sleeping`` run and at least ``edge`` seconds from both of its ends."""
    ok = np.zeros(len(y), dtype=bool)
    for a, b in zip(*_runs(y == SLEEPING)):
        if b - a + 1 > 2 * edge:
            ok[a + edge:b - edge + 1] = True
    return ok


def _candidates(kind: AnomalyKind, x: np.ndarray, y: np.ndarray, hours: np.ndarray, day: np.ndarray,
                free: np.ndarray, length: int, edge: int, min_active: int) -> np.ndarray:
    """First seconds ``s`` at which ``kind`` may run for ``length`` seconds (``[s, s+length-1]``).

    ``day`` marks the seconds of the calendar day being scheduled (the start must lie in
    it), ``free`` the seconds at least ``gap`` away from every anomaly placed so far.
    """
    n = len(y)
    starts = np.zeros(n, dtype=bool)
    in_hours = (hours >= kind.hours[0]) & (hours < kind.hours[1])
    if kind.when == "sleep":
        ok = _deep_sleep(y, edge) & free
        starts[: n - length + 1] = _window_all(ok, length)
    elif kind.when == "fridge":
        ch = INPUTS.index("Fridge")
        first, last = _runs(x[:, ch] > 0)
        ends = last[(last + 1 + length <= n)]
        ends = ends[np.array([_window_all(free[e + 1:e + 1 + length], length)[0] for e in ends], dtype=bool)]
        starts[ends + 1] = True
        in_hours = np.roll(in_hours, 1)  # the real opening (one second before the start) sets the hour
        in_hours[0] = False
    elif kind.when == "home":
        home = (y != SLEEPING) & (y != LEAVING) & free & in_hours
        active = _window_sum(x[:, 1:].sum(1) > 0, length) >= min_active
        starts[: n - length + 1] = _window_all(home, length) & active
    else:
        raise ValueError(f"unknown placement {kind.when!r} of kind {kind.name!r}")
    return np.flatnonzero(starts & in_hours & day)


def inject(x: np.ndarray, y: np.ndarray, timestamps: np.ndarray, subject: str, seed: int, *,
           split: str = "test", kinds: list[str] | None = None, gap: int = 1800, edge: int = 1800,
           min_active: int = 60) -> Injection:
    """Inject seeded anomalies into one span of a home, at most one of each kind per day.

    Days are the calendar days the span touches, scheduled in order; within a day the
    kinds go in a random order (so that a crowded night does not always lose the same
    kind). For each (day, kind) a duration is drawn from the kind's range, then a start
    uniformly among the valid ones (see :class:`AnomalyKind`);
    a valid start keeps the anomaly at least ``gap`` seconds away from every anomaly
    already placed, so no two anomalies overlap and an explanation window shorter than
    ``gap`` that ends inside one anomaly sees no other. When no start is valid the
    (day, kind) is recorded in :attr:`Injection.skipped`, as is every kind whose sensors the
    home lacks (:data:`HOME_SENSORS`).

    Parameters
    ----------
    x : ndarray, shape (n, 14)
        Inputs of the span (bias, then the 13 locations of :data:`~spikeflux.data.adl.LOCATIONS`).
    y : ndarray of int, shape (n,)
        Activity labels of the span (used to find sleep and time at home).
    timestamps : ndarray of datetime64[s], shape (n,)
        Local time of every second.
    subject : {"A", "B"}
        The home (selects :data:`HOME_SENSORS`).
    seed : int
        With ``split`` and ``subject`` it seeds :func:`injection_rng`.
    split : {"train", "val", "test"}
    kinds : list of str, optional
        Kinds to inject (default all of :data:`KINDS`).
    gap : int
        Minimum number of seconds between two anomalies.
    edge : int
        Night anomalies stay this many seconds inside the ``Sleeping`` label.
    min_active : int
        A ``no_motion`` anomaly must silence at least this many seconds with some sensor on.

    Returns
    -------
    Injection
    """
    x_clean = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    n = len(y)
    if x_clean.shape != (n, len(INPUTS)) or timestamps.shape != (n,):
        raise ValueError(f"x must be (n, {len(INPUTS)}) and y, timestamps (n,), got {x_clean.shape}, "
                         f"{y.shape}, {timestamps.shape}")
    subject = subject.upper()
    present = HOME_SENSORS[subject]
    rng = injection_rng(seed, split, subject)
    xi = x_clean.copy()
    hours = _hours(timestamps)
    days = timestamps.astype("datetime64[D]")
    occupied = np.zeros(n, dtype=bool)
    rows, skipped = [], []
    for d in np.unique(days):
        in_day = days == d
        for name in map(str, rng.permutation(kinds or list(KINDS))):
            kind = KINDS[name]
            missing = [s for s in kind.sensors if s not in present]
            if missing:
                skipped.append(dict(subject=subject, day=str(d), kind=name,
                                    reason=f"no {'/'.join(missing)} sensor in home {subject}"))
                continue
            length = int(rng.integers(kind.duration[0], kind.duration[1] + 1))
            free = ~_dilate(occupied, gap)
            cand = _candidates(kind, xi, y, hours, in_day, free, length, edge, min_active)
            if len(cand) == 0:
                skipped.append(dict(subject=subject, day=str(d), kind=name, reason="no valid start"))
                continue
            s = int(rng.choice(cand))
            e = s + length - 1
            if kind.effect == "add":
                cols = [INPUTS.index(c) for c in kind.sensors]
                xi[s:e + 1, cols] = 1.0
            else:
                cols = [c for c in range(1, len(INPUTS)) if xi[s:e + 1, c].any()]
                xi[s:e + 1, 1:] = 0.0
            occupied[s:e + 1] = True
            changed = xi[s:e + 1] != x_clean[s:e + 1]
            sensors = "+".join(INPUTS[c] for c in range(len(INPUTS)) if changed[:, c].any())
            rows.append(dict(subject=subject, split=split, kind=name, sensors=sensors, start=s, end=e,
                             duration=length, n_cells=int(changed.sum()), start_time=timestamps[s],
                             end_time=timestamps[e]))
    log = pd.DataFrame(rows, columns=LOG_COLUMNS)
    label = np.zeros(n, dtype=np.int64)
    anomaly = np.full(n, -1, dtype=np.int64)
    for i, r in enumerate(log.itertuples()):
        label[r.start:r.end + 1] = 1
        anomaly[r.start:r.end + 1] = i
    return Injection(subject, split, xi, x_clean, xi != x_clean, label, anomaly, y, timestamps, log,
                     pd.DataFrame(skipped, columns=["subject", "day", "kind", "reason"]))


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Seconds within ``r`` seconds of a True second of ``mask``."""
    if r <= 0 or not mask.any():
        return mask.copy()
    c = np.concatenate([[0], np.cumsum(mask)])
    i = np.arange(len(mask))
    return (c[np.minimum(i + r + 1, len(mask))] - c[np.maximum(i - r, 0)]) > 0


def spans(subject, max_days: float | None = None) -> dict[str, tuple[int, int]]:
    """The ADL chapter's chronological 60/20/20 spans of a subject as ``{split: (lo, hi)}``.

    The same boundaries as :func:`spikeflux.data.adl.split_subject` (so the detector's
    test days are the activity models' test days); with ``max_days`` every span is cut to
    its first ``max_days`` days.
    """
    from .data.adl import split_subject

    lengths = [len(y) for _, y in split_subject(subject).values()]
    cuts = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    out = {}
    for split, lo, hi in zip(("train", "val", "test"), cuts.tolist(), cuts[1:].tolist()):
        if max_days is not None:
            hi = min(hi, lo + int(max_days * 86_400))
        out[split] = (lo, hi)
    return out


# --------------------------------------------------------------------------- detector

#: The detector: 14 inputs -> ``hidden`` LIF neurons -> 2 leaky readout neurons (normal,
#: anomalous), one step per second (``dt = 1``). ``tau_syn`` sets the memory: the synaptic
#: current forgets with :math:`\alpha = e^{-\Delta t/\tau_{syn}}` per second, so a minute-long
#: fridge opening or microwave run builds up a current that a ten-second one does not.
#: The values were set by hand on the training and validation days (no search on the test
#: days); ``weight_scale`` is the initial weight scale of :class:`~spikeflux.snn.LIFNetwork`.
DETECTOR: dict = dict(hidden=[32], dt=1.0, tau_syn=60.0, tau_mem=10.0, readout="leaky", weight_scale=0.5,
                      lr=5e-3, batch_size=256, window=900)


def build_detector(seed: int = 0, device=None, **overrides) -> LIFNetwork:
    """A fresh detector network (:data:`DETECTOR` updated by ``overrides``), weights seeded."""
    hp = {**DETECTOR, **overrides}
    net = LIFNetwork([len(INPUTS), *hp["hidden"], 2], dt=hp["dt"], tau_syn=hp["tau_syn"], tau_mem=hp["tau_mem"],
                     readout=hp["readout"], weight_scale=hp["weight_scale"], seed=seed)
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
                 device=None, **overrides) -> tuple[LIFNetwork, History, TrainConfig]:
    """Build (:func:`build_detector`) and train (:func:`train_detector`) a detector.

    ``train``, ``val``: ``(x, label, weight)`` as for :func:`train_detector`; ``overrides``
    update :data:`DETECTOR`. Returns the trained network (best validation epoch), its
    history and the :class:`~spikeflux.training.TrainConfig` used.
    """
    hp = {**DETECTOR, **overrides}
    net = build_detector(seed=seed, device=device, **overrides)
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


def find_alarms(score: np.ndarray, threshold: float, merge: int = 300) -> pd.DataFrame:
    """Alarms: runs of ``score > threshold``, runs less than ``merge`` seconds apart merged.

    Returns a DataFrame with ``onset`` (first second), ``end`` (last second, inclusive),
    ``peak`` (second of the highest score) and ``peak_score``.
    """
    first, last = _runs(score > threshold)
    if len(first) > 1:
        new = np.flatnonzero(np.concatenate([[True], first[1:] - last[:-1] - 1 >= merge]))  # runs opening an alarm
        first, last = first[new], last[np.concatenate([new[1:] - 1, [len(last) - 1]])]
    peaks = [a + int(np.argmax(score[a:b + 1])) for a, b in zip(first, last)]
    return pd.DataFrame(dict(onset=first, end=last, peak=np.array(peaks, dtype=int),
                             peak_score=score[np.array(peaks, dtype=int)] if peaks else np.zeros(0)))


def match_alarms(alarms: pd.DataFrame, inj: Injection, tolerance: int = 300) -> pd.DataFrame:
    """Label each alarm true or false.

    An alarm is *true* when its onset lies inside an anomaly or at most ``tolerance``
    seconds after its end (the detector's memory outlasts the anomaly); it then gets the
    anomaly's row in the log (``anomaly``) and ``kind``. Otherwise ``anomaly = -1``,
    ``kind = "none"``.
    """
    late = np.full(len(inj.label), -1, dtype=np.int64)
    for i, r in enumerate(inj.log.itertuples()):
        lo, hi = r.start, min(r.end + tolerance, len(late) - 1)
        late[lo:hi + 1] = np.where(late[lo:hi + 1] < 0, i, late[lo:hi + 1])
    out = alarms.copy()
    out["anomaly"] = late[alarms.onset.to_numpy(int)] if len(alarms) else np.zeros(0, dtype=int)
    out["true"] = out.anomaly >= 0
    out["kind"] = [inj.log.kind.iloc[a] if a >= 0 else "none" for a in out.anomaly]
    return out


# --------------------------------------------------------------------------- explaining alarms


def window_mask(mask: np.ndarray, t: int, window: int) -> np.ndarray:
    """The ground-truth cells of the ``window`` seconds ending at ``t``, as a map ``(14, window)``.

    ``mask`` is :attr:`Injection.mask` ``(n, 14)``; seconds before the series start are
    False. Column ``window - 1`` is second ``t``, as in an explanation map.
    """
    out = np.zeros((mask.shape[1], window), dtype=bool)
    lo = t - window + 1
    out[:, max(0, -lo):] = mask[max(lo, 0):t + 1].T
    return out


def contrast_network(net: LIFNetwork) -> LIFNetwork:
    r"""A copy of a leaky-readout detector whose output 1 is the score :math:`s = U^L_1 - U^L_0`.

    With a leaky readout the output membrane is linear in the output weights,
    :math:`U^L_c[t] = \sum_{k \le t} \beta^{t-k} \sum_{j \le k} \alpha^{k-j} (W^L S^{L-1}[j])_c`
    (zero initial state), so replacing the output rows by :math:`w_1 - w_0` and
    :math:`w_0 - w_1` gives outputs :math:`s` and :math:`-s` exactly, with every hidden
    spike unchanged. Explaining class 1 of the copy explains the log-odds the alarm is
    raised on, not the anomalous logit alone (which may well be negative at an alarm).
    """
    if net.readout != "leaky" or net.sizes[-1] != 2:
        raise ValueError("contrast_network needs a two-output network with readout='leaky'")
    out = copy.deepcopy(net)
    with torch.no_grad():
        W = net.weights[-1]
        out.weights[-1].copy_(torch.stack([W[0] - W[1], W[1] - W[0]]))
    return out


def explain_alarm(net: LIFNetwork, x: np.ndarray, t: int, method: str = "lrp-epsilon", window: int = 1200,
                  history: int = 3600, **options):
    """Explain output 1 of ``net`` at second ``t`` of the series ``x`` ``(n, 14)``.

    Pass the :func:`contrast_network` of the detector to explain the score
    :math:`s[t] = U^L_1[t] - U^L_0[t]`. The network runs from a zero state over the
    excerpt of the ``history`` seconds ending at ``t`` (cut at the series start), so the
    state at the window's start is what the detector had built up; the map covers the
    last ``window`` seconds. The excerpt does not depend on ``window``, so maps of two
    window lengths agree on the seconds both cover (LRP: up to the boundary sink).

    Returns
    -------
    Explanation
        ``attribution`` of shape ``(14, w)`` with ``w = min(window, t + 1, history)``,
        column ``w - 1`` being second ``t``; the ledger for LRP methods.
    """
    from .explain import explain

    if window > history:
        raise ValueError(f"window={window} is longer than the excerpt history={history}")
    lo = max(0, t - history + 1)
    xe = torch.as_tensor(x[lo:t + 1], dtype=net.dtype, device=net.device)
    return explain(net, xe, t - lo, method=method, window=min(window, t - lo + 1), target=1, **options)


#: The localisation scores of :func:`localisation`: name -> (higher is better, description).
LOCALISATION_METRICS: dict[str, tuple[bool, str]] = {
    "gt_pr_auc": (True, "average precision of |A| ranking the modified cells of the window"),
    "gt_positive_share": (True, "share of the positive attribution on the modified cells"),
    "sensor_share": (True, "share of |A| on the injected sensors' rows (any second of the window)"),
    "cell_share": (True, "share of |A| on the modified cells"),
}


def localisation(A: np.ndarray, mask: np.ndarray, sensors: list[str] | tuple[str, ...]) -> dict:
    """How well a map ``A`` ``(14, w)`` points at the injected cells ``mask`` ``(14, w)``.

    Returns the scores of :data:`LOCALISATION_METRICS`: ``gt_pr_auc`` and
    ``gt_positive_share`` from :func:`spikeflux.evaluation.ground_truth_scores` (NaN when
    the window holds no modified cell or only modified cells, resp. no positive
    attribution), ``sensor_share`` (rows of the locations in ``sensors``) and
    ``cell_share``; both shares are NaN for an all-zero map. 1 is a perfect score.
    """
    from .evaluation import ground_truth_scores

    A, mask = np.asarray(A, dtype=float), np.asarray(mask, dtype=bool)
    if A.shape != mask.shape:
        raise ValueError(f"map and mask differ in shape: {A.shape} != {mask.shape}")
    gt = ground_truth_scores(A[None], mask[None])
    total = np.abs(A).sum()
    rows = [INPUTS.index(s) for s in sensors]
    return dict(gt_pr_auc=float(gt["gt_pr_auc"][0]), gt_positive_share=float(gt["gt_positive_share"][0]),
                sensor_share=float(np.abs(A[rows]).sum() / total) if total > 0 else float("nan"),
                cell_share=float(np.abs(A[mask]).sum() / total) if total > 0 else float("nan"))
