"""The UCI ADL data set (binary sensors in two homes), from the raw files to arrays.

Ordóñez, de Toledo & Sanchis (2013), "Activity Recognition Using Hybrid
Generative/Discriminative Models on Home Environments Using Binary Sensors", *Sensors*
13(5):5460-5477, doi:10.3390/s130505460 (UCI data set 271).  Two subjects, ``"A"`` (14
labelled days) and ``"B"`` (21 labelled days); per subject a label file
``Ordonez?_ADLs.txt`` and a sensor file ``Ordonez?_Sensors.txt``.  How to obtain and
verify them: :mod:`spikeflux.data.uci` (re-exported here: :func:`fetch_adl`).

>>> s = load_subject("A")            # doctest: +SKIP
>>> s.x.shape, s.y.shape             # doctest: +SKIP
((1192430, 14), (1192430,))

Raw format (what the parser accepts)
------------------------------------
* Pure ASCII.  Lines end in CRLF; the last line has no line ending (a single final line
  ending, and bare LF endings, are tolerated).  Any non-ASCII byte or control character
  (other than the tab) is an error.
* Two header lines, both checked: the column names (``Start time``, ``End time``,
  ``Activity`` or ``Start time``, ``End time``, ``Location``, ``Type``, ``Place``), then a
  line of dashes with one dash group per column.
* Data rows: each line is stripped and split on the regex ``\\s*\\t\\s*``, which copes with
  the runs of 1-3 tabs, the separators mixed with spaces (``" \\t"``, ``"\\t \\t"``,
  ``"  \\t"``) and the trailing tabs of the raw files.  That must give exactly 3 fields
  (labels: start, end, activity) or 5 fields (sensors: start, end, location, type, place).
  Times are ``YYYY-MM-DD HH:MM:SS`` local times without a time zone, read as naive
  datetimes.  Activity, location, type and place must be known names (:data:`ACTIVITIES`,
  :data:`LOCATIONS`, :data:`SENSOR_TYPES`, :data:`PLACES`).
* Anything else raises :class:`ADLFormatError` (a ``ValueError``) whose message names the
  file and the line (1-based, counting the two header lines) and shows the offending line
  (``repr``, truncated): wrong field count, bad or impossible timestamp, unknown name,
  empty file, header only, wrong header, blank line, binary garbage, truncated last line.

Data-error policy
-----------------
The raw files have known errors (``SOURCE.md``).  Each is handled by an explicit rule, and
every row a rule touches gets one :class:`ReportEntry` in ``Subject.report`` (nothing is
dropped or changed silently; :func:`report_frame` turns the report into a table).  Issue
codes, and what the original files give:

``reversed_label``
    A label row that ends before it starts (A: lines 72, 81, 83) gets its end corrected:
    the end's date and hour are taken from the start, the end's minutes and seconds are
    kept (giving 19:29:59, 2011-12-02 12:20:59 and 2011-12-02 12:35:49).  If the corrected
    end still precedes the start, :class:`ADLDataError` is raised: no end is invented.
``unsorted_label``
    Label rows are processed sorted by start time (stable sort); each row whose start
    precedes that of an earlier row in the file is reported (none in A or B).
``overlapping_label``
    When a label row overlaps the next one (A: 2, B: 23, including B's lines 100/101 that
    start at the same second) the later row wins from its start on: the earlier row is
    truncated to end one second before the later one starts, or, if that leaves it empty
    (same start), it is removed and replaced by the later row.  The earlier row is
    reported.  If the earlier row ended after the later one, its part after the later
    row's end is no longer labelled by it; the report says how many seconds end up with no
    label at all (B: line 437, 180 s; line 251's tail is covered by line 253).
``unsorted_sensor``
    Sensor rows are sorted by start time (stable); each row whose start precedes that of
    an earlier row in the file is reported (B: lines 327, 1577, 2067, 2143).
``zero_length_sensor``
    A sensor event whose end equals its start (A: line 31) is kept, active for that one
    second, and reported.
``sensor_outside_period``
    A sensor event reaching outside the labelled period is clipped to it, or removed if it
    lies entirely outside (A: line 410 clipped, line 411 removed).

Anything else the policy does not expect, e.g. a sensor row that ends before it starts,
raises :class:`ADLDataError` (a ``ValueError``) naming the file and line.

Encoding
--------
One row per second over the subject's labelled period, from the earliest label start to
the latest label end (after the ``reversed_label`` correction), both inclusive; row ``i``
is ``Subject.start + i`` seconds (naive datetime arithmetic, so no time-zone or DST
shifts).  ``x`` (float32, ``(n, 14)``) has the columns :data:`INPUTS`: ``bias`` (always
1), then the 13 sensor locations of both homes in alphabetical order.  A sensor is
identified by its location, so B's three ``Door`` PIRs (Bedroom, Kitchen, Living) share
the ``Door`` channel.  A channel is 1 in every second from an event's start to its end,
both inclusive.  ``y`` (int64, ``(n,)``) indexes :data:`CLASSES`: the 10 activities in
alphabetical order, then ``Other`` (:data:`OTHER` = 10) for seconds no label covers.  A
label covers its start to its end, both inclusive.

:func:`split_subject` gives the chronological 60/20/20 train/validation/test slices and
:func:`windows` cuts non-overlapping windows of 900 steps.

Cache
-----
:func:`load_subject` stores ``x`` and ``y`` (as uint8), the report (JSON), the raw files'
SHA-256 and :data:`CACHE_VERSION` in ``derived_dir()/adl/ordonez_<subject>.npz`` (no
pickle anywhere), and reuses the file only when the format version and both raw digests
match the current raw files.

Command line
------------
``python -m spikeflux.data.adl fetch [--dest DIR] [--source DIR] [--no-verify] [--url URL]``
puts the raw files in place (see :func:`fetch_adl`); ``python -m spikeflux.data.adl report
[A B]`` loads the subjects and prints the data-error report and the class balance.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np

from spikeflux.config import derived_dir
from spikeflux.data.uci import (
    RAW_FILES,
    SHA256,
    UCI_URL,
    ADLDataNotFoundError,
    ADLDownloadError,
    ChecksumError,
    fetch_adl,
    file_digests,
    how_to_provide,
    missing_files,
    resolve_root,
    subject_files,
    two_ways,
)

__all__ = [
    "INPUTS",
    "LOCATIONS",
    "CLASSES",
    "ACTIVITIES",
    "OTHER",
    "SENSOR_TYPES",
    "PLACES",
    "CACHE_VERSION",
    "ISSUE_REVERSED",
    "ISSUE_UNSORTED_LABEL",
    "ISSUE_OVERLAP",
    "ISSUE_UNSORTED_SENSOR",
    "ISSUE_ZERO_LENGTH",
    "ISSUE_OUTSIDE",
    "UCI_URL",
    "RAW_FILES",
    "SHA256",
    "ADLFormatError",
    "ADLDataError",
    "ChecksumError",
    "ADLDataNotFoundError",
    "ADLDownloadError",
    "LabelRow",
    "SensorRow",
    "ReportEntry",
    "Subject",
    "parse_adls",
    "parse_sensors",
    "correct_reversed_labels",
    "sort_rows",
    "resolve_overlaps",
    "check_sensor_rows",
    "clip_sensors",
    "encode",
    "build_subject",
    "load_subject",
    "cache_path",
    "report_frame",
    "split_subject",
    "split_arrays",
    "windows",
    "fetch_adl",
    "main",
]

#: Sensor locations of both homes, in the order of the input channels 1..13.
LOCATIONS: tuple[str, ...] = (
    "Basin", "Bed", "Cabinet", "Cooktop", "Cupboard", "Door", "Fridge",
    "Maindoor", "Microwave", "Seat", "Shower", "Toaster", "Toilet",
)  # fmt: skip
#: The 14 input channels: a constant bias, then one channel per sensor location.
INPUTS: tuple[str, ...] = ("bias", *LOCATIONS)
#: The 10 activities of both homes (A has no Dinner rows), alphabetical.
ACTIVITIES: tuple[str, ...] = (
    "Breakfast", "Dinner", "Grooming", "Leaving", "Lunch",
    "Showering", "Sleeping", "Snack", "Spare_Time/TV", "Toileting",
)  # fmt: skip
#: The 11 classes: the activities, then ``Other`` for unlabelled seconds.
CLASSES: tuple[str, ...] = (*ACTIVITIES, "Other")
#: Class index of ``Other`` (no label covers the second).
OTHER = CLASSES.index("Other")
#: Sensor type vocabulary of the raw files.
SENSOR_TYPES: tuple[str, ...] = ("PIR", "Magnetic", "Flush", "Pressure", "Electric")
#: Place (room) vocabulary of the raw files.
PLACES: tuple[str, ...] = ("Bathroom", "Bedroom", "Entrance", "Kitchen", "Living")
#: Bump whenever parsing, policy or encoding change what the cache would hold.
CACHE_VERSION = 1

ISSUE_REVERSED = "reversed_label"
ISSUE_UNSORTED_LABEL = "unsorted_label"
ISSUE_OVERLAP = "overlapping_label"
ISSUE_UNSORTED_SENSOR = "unsorted_sensor"
ISSUE_ZERO_LENGTH = "zero_length_sensor"
ISSUE_OUTSIDE = "sensor_outside_period"

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_SPLIT_RE = re.compile(r"\s*\t\s*")
_DASHES_RE = re.compile(r"-+")
_CONTROL_RE = re.compile(r"[^\t\x20-\x7e]")
_HEADERS = {
    "labels": ("Start time", "End time", "Activity"),
    "sensors": ("Start time", "End time", "Location", "Type", "Place"),
}
_SECOND = timedelta(seconds=1)
_SHOW = 100  # characters of an offending line shown in an error message


# --------------------------------------------------------------------------- errors


def _show(text: str | bytes | None, limit: int = _SHOW) -> str:
    """``repr`` of an offending line or value, truncated to ``limit`` characters."""
    if text is None:
        return "(end of file)"
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class ADLFormatError(ValueError):
    """A raw file is malformed.

    Attributes
    ----------
    file : str
        The file's name.
    line : int
        1-based line number, counting the two header lines.
    text : str, bytes or None
        The offending line (``None``: past the end of the file).
    """

    def __init__(self, file: str, line: int, problem: str, text: str | bytes | None):
        self.file, self.line, self.text = file, line, text
        super().__init__(f"{file}, line {line}: {problem}: {_show(text)}")


class ADLDataError(ValueError):
    """The data contain an error that the data-error policy does not cover."""


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class LabelRow:
    """One row of an ``*_ADLs.txt`` file: an activity from ``start`` to ``end`` (inclusive)."""

    line: int
    start: datetime
    end: datetime
    activity: str

    def text(self) -> str:
        """The row as ``start .. end activity``."""
        return f"{self.start:{TIME_FORMAT}} .. {self.end:{TIME_FORMAT}} {self.activity}"


@dataclass(frozen=True)
class SensorRow:
    """One row of an ``*_Sensors.txt`` file: a sensor active from ``start`` to ``end`` inclusive."""

    line: int
    start: datetime
    end: datetime
    location: str
    type: str
    place: str

    def text(self) -> str:
        """The row as ``start .. end location/type/place``."""
        return (
            f"{self.start:{TIME_FORMAT}} .. {self.end:{TIME_FORMAT}} "
            f"{self.location}/{self.type}/{self.place}"
        )


@dataclass(frozen=True)
class ReportEntry:
    """One row touched by the data-error policy.

    Attributes
    ----------
    subject : str
        ``"A"`` or ``"B"``.
    file : str
        The raw file's name.
    line : int
        The row's 1-based line number in that file (counting the two header lines).
    issue : str
        Issue code (see the module docstring), e.g. ``"reversed_label"``.
    action : str
        What the policy did, in words.
    original, result : str
        The row before and after (``result`` says so when the row was removed).
    """

    subject: str
    file: str
    line: int
    issue: str
    action: str
    original: str
    result: str


# --------------------------------------------------------------------------- parsing


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """The numbered text lines of ``path``, CR/LF removed; checks ASCII and control characters."""
    name = path.name
    data = path.read_bytes()
    if not data:
        raise ADLFormatError(name, 1, "empty file (expected two header lines and data rows)", b"")
    chunks = data.split(b"\n")
    if chunks[-1] == b"":  # one final line ending is tolerated
        chunks.pop()
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        try:
            text = chunk.decode("ascii")
        except UnicodeDecodeError as exc:
            problem = f"not ASCII text (byte 0x{chunk[exc.start]:02x} at column {exc.start + 1})"
            raise ADLFormatError(name, number, problem, chunk) from None
        bad = _CONTROL_RE.search(text)
        if bad:
            problem = f"control character {bad.group()!r} at column {bad.start() + 1}"
            raise ADLFormatError(name, number, problem, text)
        lines.append((number, text))
    return lines


def _split(text: str) -> list[str]:
    """Fields of a line: strip, then split on tabs with any surrounding spaces."""
    stripped = text.strip()
    return _SPLIT_RE.split(stripped) if stripped else []


def _data_lines(path: Path, kind: str) -> list[tuple[int, str]]:
    """The data lines of ``path`` after checking its two header lines."""
    name, columns = path.name, _HEADERS[kind]
    lines = _read_lines(path)
    number, text = lines[0]
    if _split(text) != list(columns):
        problem = f"unexpected header line, expected the columns {' | '.join(columns)}"
        raise ADLFormatError(name, number, problem, text)
    if len(lines) < 2:
        raise ADLFormatError(name, 2, "missing the second header line (dashes)", None)
    number, text = lines[1]
    dashes = _split(text)
    if len(dashes) != len(columns) or not all(_DASHES_RE.fullmatch(d) for d in dashes):
        problem = f"unexpected second header line, expected {len(columns)} groups of dashes"
        raise ADLFormatError(name, number, problem, text)
    if len(lines) < 3:
        raise ADLFormatError(name, 3, "no data rows after the two header lines", None)
    return lines[2:]


def _fields(name: str, number: int, text: str, columns: Sequence[str]) -> list[str]:
    values = _split(text)
    if not values:
        raise ADLFormatError(name, number, "blank line", text)
    if len(values) != len(columns):
        problem = (
            f"expected {len(columns)} fields ({', '.join(columns)}) separated by tabs, "
            f"found {len(values)}"
        )
        raise ADLFormatError(name, number, problem, text)
    return values


def _timestamp(name: str, number: int, text: str, value: str, column: str) -> datetime:
    if not _TIME_RE.fullmatch(value):
        problem = f"bad {column} {_show(value, 40)}, expected YYYY-MM-DD HH:MM:SS"
        raise ADLFormatError(name, number, problem, text)
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        problem = f"impossible {column} {_show(value, 40)}"
        raise ADLFormatError(name, number, problem, text) from None


def _known(name: str, number: int, text: str, value: str, what: str, allowed: Sequence[str]):
    if value not in allowed:
        problem = f"unknown {what} {_show(value, 40)} (expected one of {', '.join(allowed)})"
        raise ADLFormatError(name, number, problem, text)
    return value


def parse_adls(path: str | os.PathLike) -> list[LabelRow]:
    """Parse a label file (``Ordonez?_ADLs.txt``).

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    list of LabelRow
        In file order, with their line numbers; times not checked against each other.

    Raises
    ------
    ADLFormatError
        The file is malformed (message: file, line, offending line).
    """
    path = Path(path)
    columns = ("start", "end", "activity")
    rows = []
    for number, text in _data_lines(path, "labels"):
        start, end, activity = _fields(path.name, number, text, columns)
        rows.append(
            LabelRow(
                number,
                _timestamp(path.name, number, text, start, "start time"),
                _timestamp(path.name, number, text, end, "end time"),
                _known(path.name, number, text, activity, "activity", ACTIVITIES),
            )
        )
    return rows


def parse_sensors(path: str | os.PathLike) -> list[SensorRow]:
    """Parse a sensor file (``Ordonez?_Sensors.txt``).

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    list of SensorRow
        In file order, with their line numbers; times not checked against each other.

    Raises
    ------
    ADLFormatError
        The file is malformed (message: file, line, offending line).
    """
    path = Path(path)
    columns = ("start", "end", "location", "type", "place")
    rows = []
    for number, text in _data_lines(path, "sensors"):
        start, end, location, kind, place = _fields(path.name, number, text, columns)
        rows.append(
            SensorRow(
                number,
                _timestamp(path.name, number, text, start, "start time"),
                _timestamp(path.name, number, text, end, "end time"),
                _known(path.name, number, text, location, "sensor location", LOCATIONS),
                _known(path.name, number, text, kind, "sensor type", SENSOR_TYPES),
                _known(path.name, number, text, place, "place", PLACES),
            )
        )
    return rows


# --------------------------------------------------------------------------- policy


def correct_reversed_labels(
    rows: Sequence[LabelRow], subject: str, file: str
) -> tuple[list[LabelRow], list[ReportEntry]]:
    """Correct label rows that end before they start (policy ``reversed_label``).

    The end's date and hour are taken from the start; its minutes and seconds are kept.

    Raises
    ------
    ADLDataError
        If the corrected end still precedes the start.
    """
    out, report = [], []
    for row in rows:
        if row.end >= row.start:
            out.append(row)
            continue
        end = row.start.replace(minute=row.end.minute, second=row.end.second)
        if end < row.start:
            raise ADLDataError(
                f"{file}, line {row.line}: label ends before it starts, and taking the end's "
                f"date and hour from the start still gives {end:{TIME_FORMAT}}, before the "
                f"start: {row.text()!r}"
            )
        fixed = replace(row, end=end)
        out.append(fixed)
        action = "end corrected: date and hour taken from the start, minutes and seconds kept"
        report.append(
            ReportEntry(subject, file, row.line, ISSUE_REVERSED, action, row.text(), fixed.text())
        )
    return out, report


def sort_rows(
    rows: Sequence, subject: str, file: str, issue: str
) -> tuple[list, list[ReportEntry]]:
    """Stable sort of label or sensor rows by start time, reporting each out-of-order row.

    A row is out of order when it starts before some row above it in the file.
    """
    ordered = sorted(rows, key=lambda row: row.start)
    previous = {row.line: prev.line for prev, row in zip(ordered, ordered[1:])}
    report, latest = [], None
    for row in rows:
        if latest is not None and row.start < latest.start:
            where = f"now after line {previous[row.line]}" if row.line in previous else "now first"
            action = f"sorted by start time (starts before line {latest.line}, above it)"
            report.append(
                ReportEntry(subject, file, row.line, issue, action, row.text(), where)
            )
        if latest is None or row.start >= latest.start:
            latest = row
    return ordered, report


def _uncovered(span: LabelRow, rows: Sequence[LabelRow]) -> int:
    """Seconds of ``span`` (inclusive) covered by none of the disjoint ``rows``."""
    covered = sum(
        (min(span.end, row.end) - max(span.start, row.start)) // _SECOND + 1
        for row in rows
        if row.start <= span.end and row.end >= span.start
    )
    return (span.end - span.start) // _SECOND + 1 - covered


def resolve_overlaps(
    rows: Sequence[LabelRow], subject: str, file: str
) -> tuple[list[LabelRow], list[ReportEntry]]:
    """Make start-sorted label rows disjoint (policy ``overlapping_label``).

    The later row wins from its start on: the earlier row is truncated to end one second
    before the later one starts, or removed when it starts at the same second.  The report
    entry (for the earlier row) says how many seconds of its original span end up covered
    by no label at all (when it extended past the later row and nothing follows).
    """
    kept: list[LabelRow] = []
    touched: list[tuple[LabelRow, LabelRow, LabelRow | None]] = []
    for row in rows:
        while kept and kept[-1].end >= row.start:
            earlier = kept.pop()
            cut = replace(earlier, end=row.start - _SECOND) if earlier.start < row.start else None
            if cut is not None:
                kept.append(cut)
            touched.append((earlier, row, cut))
        kept.append(row)
    report = []
    for earlier, later, cut in touched:
        if cut is not None:
            shared = (earlier.end - later.start) // _SECOND + 1
            action = (
                f"truncated to end 1 s before line {later.line} starts (they shared {shared} s)"
            )
            result = cut.text()
        else:
            action = f"replaced by line {later.line}, which starts at the same second"
            result = f"(removed; line {later.line}: {later.text()})"
        lost = _uncovered(earlier, kept)
        if lost:
            action += f"; {lost} s of its span, after line {later.line} ends, are left unlabelled"
        report.append(
            ReportEntry(subject, file, earlier.line, ISSUE_OVERLAP, action, earlier.text(), result)
        )
    return kept, report


def check_sensor_rows(
    rows: Sequence[SensorRow], subject: str, file: str
) -> list[ReportEntry]:
    """Report zero-length sensor events; reject events that end before they start.

    Raises
    ------
    ADLDataError
        A sensor row ends before it starts (not covered by the policy).
    """
    report = []
    for row in rows:
        if row.end < row.start:
            raise ADLDataError(
                f"{file}, line {row.line}: sensor event ends before it starts; the data-error "
                f"policy does not correct sensor rows: {row.text()!r}"
            )
        if row.end == row.start:
            action = "kept: active for that one second"
            text = row.text()
            report.append(
                ReportEntry(subject, file, row.line, ISSUE_ZERO_LENGTH, action, text, text)
            )
    return report


def clip_sensors(
    rows: Sequence[SensorRow], first: datetime, last: datetime, subject: str, file: str
) -> tuple[list[SensorRow], list[ReportEntry]]:
    """Clip sensor events to the labelled period ``first..last``, reporting each.

    Policy ``sensor_outside_period``: an event reaching outside is clipped; one entirely
    outside is removed.
    """
    period = f"{first:{TIME_FORMAT}} .. {last:{TIME_FORMAT}}"
    out, report = [], []
    for row in rows:
        if row.start >= first and row.end <= last:
            out.append(row)
            continue
        if row.end < first or row.start > last:
            action = f"removed: entirely outside the labelled period {period}"
            result = "(removed)"
        else:
            clipped = replace(row, start=max(row.start, first), end=min(row.end, last))
            out.append(clipped)
            action = f"clipped to the labelled period {period}"
            result = clipped.text()
        report.append(
            ReportEntry(subject, file, row.line, ISSUE_OUTSIDE, action, row.text(), result)
        )
    return out, report


# --------------------------------------------------------------------------- encoding


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


# --------------------------------------------------------------------------- subjects


@dataclass(frozen=True, eq=False)
class Subject:
    """One home, encoded at 1 s resolution over its labelled period.

    Attributes
    ----------
    name : str
        ``"A"`` or ``"B"``.
    x : ndarray of float32, shape (n_seconds, 14)
        Inputs :data:`INPUTS` (bias, then 13 sensor locations; 0/1).
    y : ndarray of int64, shape (n_seconds,)
        Class indices into :data:`CLASSES` (10 = ``Other``: unlabelled).
    start : datetime
        Local (naive) time of row 0; row ``i`` is ``start + i`` seconds.
    report : list of ReportEntry
        The rows the data-error policy touched, one entry per row and issue.
    digests : dict
        Raw file name -> SHA-256 of the files the arrays were built from.
    inputs, classes : tuple of str
        Names of the columns of ``x`` and of the values of ``y``.
    cached : bool
        Whether the arrays came from the cache.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    start: datetime
    report: list[ReportEntry]
    digests: dict[str, str]
    inputs: tuple[str, ...] = INPUTS
    classes: tuple[str, ...] = CLASSES
    cached: bool = field(default=False, repr=False)

    @property
    def n_seconds(self) -> int:
        """Number of encoded seconds (rows)."""
        return int(self.y.shape[0])

    @property
    def end(self) -> datetime:
        """Local time of the last row."""
        return self.start + (self.n_seconds - 1) * _SECOND

    def timestamps(self) -> np.ndarray:
        """``datetime64[s]`` time of every row."""
        return np.datetime64(self.start, "s") + np.arange(self.n_seconds).astype("timedelta64[s]")

    def class_counts(self) -> dict[str, int]:
        """Seconds per class, in :data:`CLASSES` order."""
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts)}


def build_subject(
    name: str, root: str | os.PathLike | None = None, verify: bool = True
) -> Subject:
    """Parse, apply the data-error policy and encode one subject (no cache).

    Parameters
    ----------
    name : {"A", "B"}
        The subject.
    root : path, optional
        Folder with the raw files (default: see :func:`load_subject`).
    verify : bool
        Check the raw files' SHA-256 against the published digests.
    """
    name = name.strip().upper()
    label_file, sensor_file = subject_files(name)
    folder = resolve_root(root, (label_file, sensor_file))
    digests = file_digests(folder, (label_file, sensor_file), verify=verify)

    labels, report = correct_reversed_labels(parse_adls(folder / label_file), name, label_file)
    labels, unsorted = sort_rows(labels, name, label_file, ISSUE_UNSORTED_LABEL)
    first, last = min(r.start for r in labels), max(r.end for r in labels)
    labels, overlaps = resolve_overlaps(labels, name, label_file)

    sensors = parse_sensors(folder / sensor_file)
    zero = check_sensor_rows(sensors, name, sensor_file)
    sensors, shuffled = sort_rows(sensors, name, sensor_file, ISSUE_UNSORTED_SENSOR)
    sensors, outside = clip_sensors(sensors, first, last, name, sensor_file)

    n = (last - first) // _SECOND + 1
    x, y = encode(labels, sensors, first, n)
    report = report + unsorted + overlaps + zero + shuffled + outside
    return Subject(name, x, y, first, report, digests)


def cache_path(name: str) -> Path:
    """Where :func:`load_subject` caches subject ``name`` (under ``derived_dir()/adl``)."""
    return derived_dir() / "adl" / f"ordonez_{name.strip().upper()}.npz"


def _save_cache(path: Path, subject: Subject) -> None:
    """Write the subject to ``path`` atomically (npz, no pickled objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "format_version": np.array(CACHE_VERSION),
        "subject": np.array(subject.name),
        "start": np.array(subject.start.strftime(TIME_FORMAT)),
        "digests": np.array(json.dumps(subject.digests, sort_keys=True)),
        "report": np.array(json.dumps([asdict(entry) for entry in subject.report])),
        "inputs": np.array(subject.inputs),
        "classes": np.array(subject.classes),
        "x": subject.x.astype(np.uint8),
        "y": subject.y.astype(np.uint8),
    }
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez_compressed(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_cache(path: Path, name: str, digests: dict[str, str]) -> Subject | None:
    """The cached subject if ``path`` holds one built from files with ``digests``, else ``None``."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if (
                int(npz["format_version"]) != CACHE_VERSION
                or str(npz["subject"]) != name
                or json.loads(str(npz["digests"])) != digests
                or tuple(npz["inputs"].tolist()) != INPUTS
                or tuple(npz["classes"].tolist()) != CLASSES
            ):
                return None
            x, y = npz["x"], npz["y"]
            start = datetime.strptime(str(npz["start"]), TIME_FORMAT)
            report = [ReportEntry(**entry) for entry in json.loads(str(npz["report"]))]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # unreadable or foreign cache: rebuild it
    if x.ndim != 2 or x.shape != (y.shape[0], len(INPUTS)):
        return None
    return Subject(
        name, x.astype(np.float32), y.astype(np.int64), start, report, dict(digests), cached=True
    )


def load_subject(
    name: str,
    root: str | os.PathLike | None = None,
    verify: bool = True,
    cache: bool = True,
) -> Subject:
    """Load subject ``"A"`` or ``"B"`` as arrays at 1 s resolution.

    Parameters
    ----------
    name : {"A", "B"}
        The subject (case-insensitive).
    root : path, optional
        Folder with the raw files.  Default: ``SPIKEFLUX_ADL_DIR`` if set, else
        :func:`spikeflux.config.raw_adl_dir`.
    verify : bool
        Check the raw files' SHA-256 against the published digests (``False`` for a copy
        modified on purpose).
    cache : bool
        Reuse / write the encoded arrays in ``derived_dir()/adl`` (valid only for the same
        raw-file digests and :data:`CACHE_VERSION`).

    Returns
    -------
    Subject

    Raises
    ------
    ADLDataNotFoundError
        The raw files are not there (the message gives the two ways to provide them).
    ChecksumError
        ``verify`` and a raw file differs from the original.
    ADLFormatError, ADLDataError
        A raw file is malformed, or holds an error the policy does not cover.
    """
    name = str(name).strip().upper()
    files = subject_files(name)
    folder = resolve_root(root, files)
    if not cache:
        return build_subject(name, folder, verify)
    digests = file_digests(folder, files, verify=verify)
    path = cache_path(name)
    cached = _load_cache(path, name, digests)
    if cached is not None:
        return cached
    subject = build_subject(name, folder, verify)
    if subject.digests == digests:  # files unchanged while we read them
        _save_cache(path, subject)
    return subject


def report_frame(report: Iterable[ReportEntry]):
    """The report as a :class:`pandas.DataFrame`, one row per entry (columns = entry fields)."""
    import pandas as pd

    columns = [f.name for f in fields(ReportEntry)]
    return pd.DataFrame([asdict(entry) for entry in report], columns=columns)


# --------------------------------------------------------------------------- splits


def _boundaries(n: int, fractions: Sequence[float]) -> list[int]:
    """Cut points ``floor(cumulative fraction * n)``, computed exactly from the decimals given."""
    exact = [Fraction(repr(float(f))) for f in fractions]
    if any(f < 0 for f in exact) or abs(float(sum(exact)) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {tuple(fractions)}")
    cuts, total = [0], Fraction(0)
    for f in exact[:-1]:
        total += f
        cuts.append(int(total * n // 1))
    cuts.append(n)
    return cuts


def split_arrays(
    x: np.ndarray, y: np.ndarray, fractions: Sequence[float] = (0.6, 0.2, 0.2)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chronological train/val/test slices (views) of ``x`` and ``y``.

    Boundaries are ``floor(0.6 n)`` and ``floor(0.8 n)`` for the default fractions.
    """
    if len(fractions) != 3:
        raise ValueError("expected three fractions (train, val, test)")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    cuts = _boundaries(len(y), fractions)
    return {
        part: (x[lo:hi], y[lo:hi])
        for part, lo, hi in zip(("train", "val", "test"), cuts, cuts[1:])
    }


def split_subject(
    subject: Subject, fractions: Sequence[float] = (0.6, 0.2, 0.2)
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chronological split of a subject: ``{"train": (x, y), "val": (x, y), "test": (x, y)}``.

    Contiguous slices in time order (no shuffling); boundaries ``floor(fraction * n)``,
    cumulative.
    """
    return split_arrays(subject.x, subject.y, fractions)


def windows(
    x: np.ndarray, y: np.ndarray, length: int = 900
) -> tuple[np.ndarray, np.ndarray, int]:
    """Non-overlapping windows of ``length`` steps.

    Returns
    -------
    xw : ndarray, shape (n_windows, length, n_inputs)
    yw : ndarray, shape (n_windows, length)
    dropped : int
        Steps at the end that did not fill a window (``len(y) % length``).
    """
    if length <= 0:
        raise ValueError(f"window length must be positive, got {length}")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
    count = len(y) // length
    used = count * length
    xw = x[:used].reshape(count, length, *x.shape[1:])
    yw = y[:used].reshape(count, length)
    return xw, yw, len(y) - used


# --------------------------------------------------------------------------- CLI


def _summary(subject: Subject) -> str:
    issues = Counter(entry.issue for entry in subject.report)
    counts = subject.class_counts()
    lines = [
        f"subject {subject.name}: {subject.n_seconds} s from {subject.start} to {subject.end}"
        f" ({'cached' if subject.cached else 'encoded'})",
        "  data-error report: "
        + (", ".join(f"{issue} {count}" for issue, count in sorted(issues.items())) or "empty"),
    ]
    lines += [
        f"    line {e.line:>5} {e.file}: {e.issue}: {e.action}" for e in subject.report
    ]
    lines.append("  class balance (seconds, share):")
    lines += [
        f"    {name:<14} {count:>8}  {count / subject.n_seconds:7.2%}"
        for name, count in counts.items()
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``fetch`` or ``report``); returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m spikeflux.data.adl", description="The UCI ADL data set (raw files, report)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="put the four raw files in place (copy or download)")
    fetch.add_argument(
        "--dest", type=Path, default=None, help="target folder (default: data/raw/uci-adl)"
    )
    fetch.add_argument("--source", type=Path, default=None, help="copy from this folder instead")
    fetch.add_argument("--url", default=UCI_URL, help="archive address (default: UCI)")
    fetch.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server")
    report = commands.add_parser("report", help="load subjects, print the data-error report")
    report.add_argument("subjects", nargs="*", default=["A", "B"], help="A and/or B")
    report.add_argument("--root", type=Path, default=None, help="folder with the raw files")
    report.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check")
    report.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            folder = fetch_adl(args.dest, args.source, args.url, not args.no_verify, args.timeout)
            missing = missing_files(folder)
            if missing:  # cannot happen unless the folder changed under us
                raise ADLDataNotFoundError(how_to_provide(folder, missing))
            print(f"UCI ADL raw files are in {folder}")
            for file in RAW_FILES:
                print(f"  {file}")
        else:
            for name in args.subjects:
                subject = load_subject(name, args.root, not args.no_verify, not args.no_cache)
                print(_summary(subject))
    except ADLDataNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        hint = f"\n{two_ways()}" if args.command == "fetch" else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
