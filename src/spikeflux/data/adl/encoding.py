"""The encoding: one row per second, a 0/1 channel per sensor location, a class per second.

One row per second over the subject's labelled period, from the earliest label start to
the latest label end (after the ``reversed_label`` correction of
:mod:`spikeflux.data.adl.policy`), both inclusive; row ``i`` is ``Subject.start + i``
seconds (naive datetime arithmetic, so no time-zone or DST shifts).  ``x`` (float32,
``(n, 14)``) has the columns :data:`~.format.INPUTS`: ``bias`` (always 1), then the 13
sensor locations of both homes in alphabetical order.  A sensor is identified by its
location, so B's three ``Door`` PIRs (Bedroom, Kitchen, Living) share the ``Door``
channel.  A channel is 1 in every second from an event's start to its end, both
inclusive.  ``y`` (int64, ``(n,)``) indexes :data:`~.format.CLASSES`: the 10 activities
in alphabetical order, then ``Other`` (:data:`~.format.OTHER` = 10) for seconds no label
covers.  A label covers its start to its end, both inclusive.

:func:`runs` reads the encoding back as events: the runs of a channel (or of a class).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from .format import CLASSES, INPUTS, LOCATIONS, OTHER
from .format import SECOND as _SECOND
from .parser import LabelRow, SensorRow

__all__ = ["encode", "runs"]


def _offsets(times: Iterable[datetime], start: datetime) -> np.ndarray:
    """Whole seconds from ``start`` (naive datetime arithmetic: no DST or time-zone shifts)."""
    return np.array([(t - start) // _SECOND for t in times], dtype=np.int64)


def _coverage(starts: np.ndarray, ends: np.ndarray, n: int, weights=None) -> np.ndarray:
    """Sum over intervals ``[start, end]`` (inclusive) of ``weights`` at each of ``n`` steps."""
    delta = np.zeros(n + 1, dtype=np.int64)
    weights = np.ones(len(starts), np.int64) if weights is None else weights
    np.add.at(delta, starts, weights)
    np.add.at(delta, ends + 1, -weights)
    return np.cumsum(delta[:-1])


def encode(
    labels: Sequence[LabelRow], sensors: Sequence[SensorRow], start: datetime, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Encode disjoint labels and in-period sensor events at 1 s resolution.

    Parameters
    ----------
    labels : sequence of LabelRow
        Sorted, pairwise disjoint, inside ``start .. start + n - 1 s``.
    sensors : sequence of SensorRow
        Events inside the same period (any order, may overlap).
    start : datetime
        Time of row 0.
    n : int
        Number of seconds.

    Returns
    -------
    x : ndarray of float32, shape (n, 14)
        Columns :data:`INPUTS`: bias (1), then 1 while any sensor at that location is active.
    y : ndarray of int64, shape (n,)
        Class index into :data:`CLASSES`; :data:`OTHER` where no label applies.
    """
    x = np.zeros((n, len(INPUTS)), dtype=np.float32)
    x[:, 0] = 1.0
    s_start = _offsets((r.start for r in sensors), start)
    s_end = _offsets((r.end for r in sensors), start)
    channel = np.array([LOCATIONS.index(r.location) for r in sensors], dtype=np.int64)
    if len(sensors) and (s_start.min() < 0 or s_end.max() >= n or (s_end < s_start).any()):
        raise ValueError("sensor events must lie inside the encoded period, start <= end")
    for c in range(len(LOCATIONS)):
        mine = channel == c
        if mine.any():
            x[:, c + 1] = _coverage(s_start[mine], s_end[mine], n) > 0
    y = np.full(n, OTHER, dtype=np.int64)
    if labels:
        l_start = _offsets((r.start for r in labels), start)
        l_end = _offsets((r.end for r in labels), start)
        outside = l_start.min() < 0 or l_end.max() >= n or (l_end < l_start).any()
        if outside or (l_start[1:] <= l_end[:-1]).any():
            raise ValueError("labels must be sorted, disjoint and inside the encoded period")
        code = np.array([CLASSES.index(r.activity) for r in labels], dtype=np.int64)
        y += _coverage(l_start, l_end, n, code - OTHER)
    return x, y



def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a 1-d boolean array ``(n,)``.

    The run ``k`` covers ``mask[starts[k] : starts[k] + lengths[k]]``: for a channel
    ``x[:, c] > 0`` the events, for ``y == c`` the labels of class ``c``.
    """
    edges = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts
