r"""The parser of the raw UCI ADL files: one table of columns per file kind, one parser for both.

A file kind (:class:`FileKind`) is its header columns (:class:`Column`) and the row type it
yields: :data:`LABELS` (``Ordonez?_ADLs.txt`` -> :class:`LabelRow`) and :data:`SENSORS`
(``Ordonez?_Sensors.txt`` -> :class:`SensorRow`).  :func:`parse` reads either;
:func:`parse_adls` and :func:`parse_sensors` are the two kinds by name.

What the parser accepts
-----------------------
* Pure ASCII.  Lines end in CRLF; the last line has no line ending (a single final line
  ending, and bare LF endings, are tolerated).  Any non-ASCII byte or control character
  (other than the tab) is an error.
* Two header lines, both checked: the column names (``Start time``, ``End time``,
  ``Activity`` or ``Start time``, ``End time``, ``Location``, ``Type``, ``Place``), then a
  line of dashes with one dash group per column.
* Data rows: each line is stripped and split on the regex ``\s*\t\s*``, which copes with
  the runs of 1-3 tabs, the separators mixed with spaces (``" \t"``, ``"\t \t"``,
  ``"  \t"``) and the trailing tabs of the raw files.  That must give exactly 3 fields
  (labels: start, end, activity) or 5 fields (sensors: start, end, location, type, place).
  Times are ``YYYY-MM-DD HH:MM:SS`` local times without a time zone, read as naive
  datetimes.  Activity, location, type and place must be known names
  (:mod:`spikeflux.data.adl.format`).
* Anything else raises :class:`ADLFormatError` (a ``ValueError``) whose message names the
  file and the line (1-based, counting the two header lines) and shows the offending line
  (``repr``, truncated): wrong field count, bad or impossible timestamp, unknown name,
  empty file, header only, wrong header, blank line, binary garbage, truncated last line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .format import ACTIVITIES, LOCATIONS, PLACES, SENSOR_TYPES, TIME_FORMAT

__all__ = ["ADLFormatError", "LabelRow", "SensorRow", "Column", "FileKind", "LABELS", "SENSORS", "parse",
           "parse_adls", "parse_sensors"]

_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_SPLIT_RE = re.compile(r"\s*\t\s*")
_DASHES_RE = re.compile(r"-+")
_CONTROL_RE = re.compile(r"[^\t\x20-\x7e]")
_SHOW = 100  # characters of an offending line shown in an error message


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
class Column:
    """One column of a raw file.

    Attributes
    ----------
    header : str
        Its name in the header line.
    field : str
        The attribute of the row type that holds it.
    what : str
        Its name in an error message.
    names : tuple of str, optional
        The known names it may hold; ``None``: a timestamp (:data:`~.format.TIME_FORMAT`).
    """

    header: str
    field: str
    what: str
    names: tuple[str, ...] | None = None

    def read(self, file: str, number: int, text: str, value: str):
        """The value as a naive ``datetime`` or a checked name, else :class:`ADLFormatError`."""
        if self.names is None:
            return _timestamp(file, number, text, value, self.what)
        if value not in self.names:
            problem = f"unknown {self.what} {_show(value, 40)} (expected one of {', '.join(self.names)})"
            raise ADLFormatError(file, number, problem, text)
        return value


@dataclass(frozen=True)
class FileKind:
    """A kind of raw file: its columns, in order, and the row type of its data lines."""

    name: str
    columns: tuple[Column, ...]
    row: type

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.columns)


_START = Column("Start time", "start", "start time")
_END = Column("End time", "end", "end time")
#: ``Ordonez?_ADLs.txt``: the activity labels.
LABELS = FileKind("labels", (_START, _END, Column("Activity", "activity", "activity", ACTIVITIES)), LabelRow)
#: ``Ordonez?_Sensors.txt``: the sensor events.
SENSORS = FileKind("sensors", (_START, _END, Column("Location", "location", "sensor location", LOCATIONS),
                               Column("Type", "type", "sensor type", SENSOR_TYPES),
                               Column("Place", "place", "place", PLACES)), SensorRow)


def parse(path: str | os.PathLike, kind: FileKind) -> list:
    """Parse a raw file of ``kind`` (:data:`LABELS` or :data:`SENSORS`).

    Returns
    -------
    list of ``kind.row``
        In file order, with their line numbers; times not checked against each other.

    Raises
    ------
    ADLFormatError
        The file is malformed (message: file, line, offending line).
    """
    path = Path(path)
    rows = []
    for number, text in _data_lines(path, kind):
        values = _fields(path.name, number, text, kind.fields)
        rows.append(kind.row(number, *(c.read(path.name, number, text, v) for c, v in zip(kind.columns, values))))
    return rows


def parse_adls(path: str | os.PathLike) -> list[LabelRow]:
    """Parse a label file (``Ordonez?_ADLs.txt``): :func:`parse` of :data:`LABELS`."""
    return parse(path, LABELS)


def parse_sensors(path: str | os.PathLike) -> list[SensorRow]:
    """Parse a sensor file (``Ordonez?_Sensors.txt``): :func:`parse` of :data:`SENSORS`."""
    return parse(path, SENSORS)


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


def _data_lines(path: Path, kind: FileKind) -> list[tuple[int, str]]:
    """The data lines of ``path`` after checking its two header lines against ``kind``."""
    name, columns = path.name, kind.headers
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


def _fields(name: str, number: int, text: str, columns: tuple[str, ...]) -> list[str]:
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
