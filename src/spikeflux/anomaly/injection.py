"""Injection: seeded anomalies written into a span of one home, with exact ground truth.

:func:`inject` modifies a span of one home's per-second inputs ``x`` ``(n, 14)`` with
seeded, realistic anomalies (:data:`~spikeflux.anomaly.kinds.KINDS`) and returns an
:class:`Injection`: the modified inputs, a ``(n, 14)`` boolean mask of every modified
cell, a per-second label ``(n,)`` (1 inside an anomaly) and a tidy log, one row per anomaly
``(subject, kind, sensors, start, end)`` (seconds of the span, both inclusive). Only
sensors that exist in the home are injected (:data:`~spikeflux.anomaly.kinds.HOME_SENSORS`);
anomalies never overlap and are at least ``gap`` seconds apart. :func:`inject_homes`
injects every split of both homes as the chapter does, :func:`injection_counts` counts
the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.adl import INPUTS, split_subject
from .kinds import HOME_SENSORS, KINDS, Placement

__all__ = ["SPLIT_CODES", "LOG_COLUMNS", "Injection", "injection_rng", "inject", "spans", "inject_homes",
           "check_injection", "injection_counts", "busiest_day"]

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


def _hours(timestamps: np.ndarray) -> np.ndarray:
    """Local hour of day ``(n,)`` of ``datetime64[s]`` times."""
    return ((timestamps - timestamps.astype("datetime64[D]")) // np.timedelta64(1, "h")).astype(int)


def inject(x: np.ndarray, y: np.ndarray, timestamps: np.ndarray, subject: str, seed: int, *,
           split: str = "test", kinds: list[str] | None = None, gap: int = 1800, edge: int = 1800,
           min_active: int = 60) -> Injection:
    """Inject seeded anomalies into one span of a home, at most one of each kind per day.

    Days are the calendar days the span touches, scheduled in order; within a day the
    kinds go in a random order (so that a crowded night does not always lose the same
    kind). For each (day, kind) a duration is drawn from the kind's range, then a start
    uniformly among the valid ones (:meth:`AnomalyKind.starts`);
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
            missing = kind.missing(present)
            if missing:
                skipped.append(dict(subject=subject, day=str(d), kind=name,
                                    reason=f"no {'/'.join(missing)} sensor in home {subject}"))
                continue
            length = kind.draw_length(rng)
            at = Placement(xi, y, hours, in_day, ~_dilate(occupied, gap), edge, min_active)
            cand = kind.starts(at, length)
            if len(cand) == 0:
                skipped.append(dict(subject=subject, day=str(d), kind=name, reason="no valid start"))
                continue
            s = int(rng.choice(cand))
            e = s + length - 1
            kind.apply(xi, s, e)
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
    lengths = [len(y) for _, y in split_subject(subject).values()]
    cuts = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    out = {}
    for split, lo, hi in zip(("train", "val", "test"), cuts.tolist(), cuts[1:].tolist()):
        if max_days is not None:
            hi = min(hi, lo + int(max_days * 86_400))
        out[split] = (lo, hi)
    return out


def inject_homes(subjects: dict, seed: int, max_days: float | None = None, **options) -> dict[tuple[str, str], Injection]:
    """Every split of every home injected: ``{(subject, split): Injection}``.

    ``subjects`` maps a name to its :class:`~spikeflux.data.adl.Subject`; the spans are
    :func:`spans` (cut to ``max_days`` days); ``options`` go to :func:`inject`. Each
    result passes :func:`check_injection`.
    """
    out = {}
    for name, s in subjects.items():
        ts = s.timestamps()
        for split, (lo, hi) in spans(s, max_days).items():
            out[(name, split)] = check_injection(inject(s.x[lo:hi], s.y[lo:hi], ts[lo:hi], name, seed, split=split,
                                                        **options))
    return out


def check_injection(inj: Injection) -> Injection:
    """``inj`` if its ground truth is exact: the mask is every changed cell, the log counts them
    all, and only sensors of the home were used; else ``ValueError``."""
    if not np.array_equal(inj.mask, inj.x != inj.x_clean) or inj.mask.sum() != inj.log.n_cells.sum():
        raise ValueError(f"injection {inj.subject}/{inj.split}: the mask is not the set of modified cells")
    used = {c for cs in inj.log.sensors for c in cs.split("+")}
    if not used <= set(HOME_SENSORS[inj.subject]):
        raise ValueError(f"injection {inj.subject}/{inj.split} used sensors the home lacks: {used}")
    return inj


def injection_counts(injections: dict[tuple[str, str], Injection], subjects) -> pd.DataFrame:
    """Anomalies per kind (rows) and (split, home) (columns), an ``all kinds`` row and the days of each span."""
    log = pd.concat([inj.log for inj in injections.values()], ignore_index=True)
    columns = pd.MultiIndex.from_product([list(SPLIT_CODES), list(subjects)], names=["split", "home"])
    counts = (log.groupby(["kind", "split", "subject"]).size().unstack(["split", "subject"], fill_value=0)
              .reindex(index=list(KINDS), columns=columns, fill_value=0))
    counts = counts.astype(float)
    counts.loc["all kinds"] = counts.sum()
    counts.loc["days in the span"] = [len(injections[(h, sp)].label) / 86_400 for sp, h in columns]
    return counts


def busiest_day(inj: Injection) -> tuple[int, int, str]:
    """First and last+1 second of the calendar day holding the most anomalies of a span, and its date."""
    day = inj.timestamps.astype("datetime64[D]")
    best = pd.Series(day[inj.log.start.to_numpy(int)]).value_counts().index[0]
    idx = np.flatnonzero(day == best)
    return int(idx[0]), int(idx[-1]) + 1, str(pd.Timestamp(best).date())
