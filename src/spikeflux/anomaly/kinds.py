"""The kinds of injected anomaly: where each may start and what it does to the inputs.

An :class:`AnomalyKind` is data (its sensors, placement rule, hours, durations, effect)
that knows how to apply itself: :meth:`AnomalyKind.starts` gives the seconds at which it
may start (by its placement rule, :data:`PLACEMENTS`) and :meth:`AnomalyKind.apply` writes
it into the inputs (by its effect, :data:`EFFECTS`).  :data:`KINDS` lists the five kinds of
the chapter; :data:`HOME_SENSORS` the sensors each home has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data.adl import CLASSES, INPUTS, runs

__all__ = ["AnomalyKind", "Placement", "KINDS", "HOME_SENSORS", "PLACEMENTS", "EFFECTS", "kinds_table"]

SLEEPING = CLASSES.index("Sleeping")
LEAVING = CLASSES.index("Leaving")


@dataclass(frozen=True)
class Placement:
    """What a placement rule sees of the span being injected (all arrays ``(n,)`` or ``(n, 14)``).

    Attributes
    ----------
    x : ndarray, shape (n, 14)
        The inputs with the anomalies placed so far.
    y : ndarray of int, shape (n,)
        The activity labels.
    hours : ndarray of int, shape (n,)
        Local hour of every second.
    day : ndarray of bool, shape (n,)
        The seconds of the calendar day being scheduled (the start must lie in it).
    free : ndarray of bool, shape (n,)
        The seconds at least ``gap`` away from every anomaly placed so far.
    edge, min_active : int
        See :func:`~spikeflux.anomaly.injection.inject`.
    """

    x: np.ndarray
    y: np.ndarray
    hours: np.ndarray
    day: np.ndarray
    free: np.ndarray
    edge: int
    min_active: int


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
        Where it may start (:data:`PLACEMENTS`): inside a ``Sleeping`` label, at least
        ``edge`` seconds from the label's start and end (the resident is asleep, as a rule
        on the bed sensor); at the end of a real fridge opening (the door is not closed
        again); or while the resident is at home and awake (no ``Sleeping`` or ``Leaving``
        label anywhere in the anomaly).
    hours : (int, int)
        Local hours ``[first, last)`` in which the anomaly's first second must lie (for
        ``when="home"`` every second of the anomaly).
    duration : (int, int)
        Seconds, drawn uniformly from ``[low, high]``.
    effect : {"add", "remove"}
        Turn sensors on, or silence every sensor (:data:`EFFECTS`).
    description : str
    """

    name: str
    sensors: tuple[str, ...]
    when: str
    hours: tuple[int, int]
    duration: tuple[int, int]
    effect: str
    description: str

    def __post_init__(self):
        if self.when not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.when!r} of kind {self.name!r}; known: {list(PLACEMENTS)}")
        if self.effect not in EFFECTS:
            raise ValueError(f"unknown effect {self.effect!r} of kind {self.name!r}; known: {list(EFFECTS)}")

    def missing(self, present: tuple[str, ...]) -> list[str]:
        """The sensors of this kind that a home with sensors ``present`` lacks."""
        return [s for s in self.sensors if s not in present]

    def draw_length(self, rng: np.random.Generator) -> int:
        """A duration in seconds, uniform on ``[low, high]``."""
        return int(rng.integers(self.duration[0], self.duration[1] + 1))

    def starts(self, at: Placement, length: int) -> np.ndarray:
        """First seconds ``s`` at which this kind may run for ``length`` seconds (``[s, s+length-1]``)."""
        in_hours = (at.hours >= self.hours[0]) & (at.hours < self.hours[1])
        starts, in_hours = PLACEMENTS[self.when](self, at, length, in_hours)
        return np.flatnonzero(starts & in_hours & at.day)

    def apply(self, x: np.ndarray, s: int, e: int) -> None:
        """Write the anomaly into ``x`` ``(n, 14)`` in place over the seconds ``s..e`` (inclusive)."""
        EFFECTS[self.effect](self, x, s, e)


# --------------------------------------------------------------------------- placement rules
# Each returns (admissible starts (n,) bool, the hour mask to apply to them).


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


def _deep_sleep(y: np.ndarray, edge: int) -> np.ndarray:
    """Seconds inside a ``Sleeping`` run and at least ``edge`` seconds from both of its ends."""
    ok = np.zeros(len(y), dtype=bool)
    for a, n in zip(*runs(y == SLEEPING)):
        if n > 2 * edge:
            ok[a + edge:a + n - edge] = True
    return ok


def _during_sleep(kind: AnomalyKind, at: Placement, length: int, in_hours: np.ndarray):
    starts = np.zeros(len(at.y), dtype=bool)
    starts[: len(at.y) - length + 1] = _window_all(_deep_sleep(at.y, at.edge) & at.free, length)
    return starts, in_hours


def _after_fridge(kind: AnomalyKind, at: Placement, length: int, in_hours: np.ndarray):
    n = len(at.y)
    first, count = runs(at.x[:, INPUTS.index("Fridge")] > 0)
    ends = (first + count - 1)[first + count + length <= n]
    ends = ends[np.array([_window_all(at.free[e + 1:e + 1 + length], length)[0] for e in ends], dtype=bool)]
    starts = np.zeros(n, dtype=bool)
    starts[ends + 1] = True
    in_hours = np.roll(in_hours, 1)  # the real opening (one second before the start) sets the hour
    in_hours[0] = False
    return starts, in_hours


def _at_home(kind: AnomalyKind, at: Placement, length: int, in_hours: np.ndarray):
    home = (at.y != SLEEPING) & (at.y != LEAVING) & at.free & in_hours
    active = _window_sum(at.x[:, 1:].sum(1) > 0, length) >= at.min_active
    starts = np.zeros(len(at.y), dtype=bool)
    starts[: len(at.y) - length + 1] = _window_all(home, length) & active
    return starts, in_hours


#: Placement rules by :attr:`AnomalyKind.when`.
PLACEMENTS: dict[str, Callable] = {"sleep": _during_sleep, "fridge": _after_fridge, "home": _at_home}


# --------------------------------------------------------------------------- effects


def _add(kind: AnomalyKind, x: np.ndarray, s: int, e: int) -> None:
    x[s:e + 1, [INPUTS.index(c) for c in kind.sensors]] = 1.0


def _silence(kind: AnomalyKind, x: np.ndarray, s: int, e: int) -> None:
    x[s:e + 1, 1:] = 0.0


#: Effects by :attr:`AnomalyKind.effect`: turn the kind's sensors on, or silence every sensor.
EFFECTS: dict[str, Callable] = {"add": _add, "remove": _silence}


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


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds} s"


def kinds_table():
    """:data:`KINDS` as a table: sensors, the homes that have them, start hours, durations, description."""
    import pandas as pd

    return pd.DataFrame([
        dict(kind=k.name, sensors="+".join(k.sensors) or "all (silenced)",
             homes=", ".join(h for h, present in HOME_SENSORS.items() if not k.missing(present)),
             start=f"{k.hours[0]:02d}:00–{k.hours[1]:02d}:00",
             duration=f"{_minutes(k.duration[0])} – {_minutes(k.duration[1])}", description=k.description)
        for k in KINDS.values()
    ]).set_index("kind")
