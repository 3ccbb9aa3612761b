r"""Alarms: runs of seconds with the anomaly score above the threshold, matched to the injected anomalies.

An *alarm* is a run of seconds with :math:`s[t] > \tau`, runs less than ``merge`` seconds
apart merged (:func:`find_alarms`); :func:`match_alarms` labels each alarm true (it starts
inside an anomaly or shortly after one) or false; :func:`alarms_of` does both for several
spans and :func:`pick_alarms` draws the alarms a chapter explains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.adl import runs
from .injection import Injection

__all__ = ["find_alarms", "match_alarms", "alarms_of", "pick_alarms"]


def find_alarms(score: np.ndarray, threshold: float, merge: int = 300) -> pd.DataFrame:
    """Alarms: runs of ``score > threshold``, runs less than ``merge`` seconds apart merged.

    Returns a DataFrame with ``onset`` (first second), ``end`` (last second, inclusive),
    ``peak`` (second of the highest score) and ``peak_score``.
    """
    first, length = runs(score > threshold)
    last = first + length - 1
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


def alarms_of(scores: dict, injections: dict, keys, threshold: float, **options) -> pd.DataFrame:
    """:func:`find_alarms` and :func:`match_alarms` on every span ``key`` (a ``(subject, split)``),
    concatenated, with a ``subject`` column; ``options`` go to :func:`find_alarms`."""
    out = [match_alarms(find_alarms(scores[k], threshold, **options), injections[k]).assign(subject=k[0])
           for k in keys]
    return pd.concat(out, ignore_index=True)


def pick_alarms(alarms: pd.DataFrame, per_kind: int, n_false: int, seed: int) -> pd.DataFrame:
    """The alarms to explain: up to ``per_kind`` true alarms of each kind, drawn without
    replacement with ``default_rng(seed)`` (kept in time order), then the ``n_false`` false
    alarms with the highest peak score. Index ``0..``."""
    rng = np.random.default_rng(seed)
    chosen = [group.iloc[np.sort(rng.choice(len(group), size=min(per_kind, len(group)), replace=False))]
              for _, group in alarms[alarms.true].groupby("kind", sort=False)]
    false_alarms = alarms[~alarms.true].sort_values("peak_score", ascending=False).head(n_false)
    return pd.concat(chosen + [false_alarms]).reset_index(drop=True)
