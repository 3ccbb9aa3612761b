"""One home as arrays (:class:`Subject`), built from the raw files or read from the cache.

:func:`build_subject` runs the parser (:mod:`~spikeflux.data.adl.parser`), the data-error
policy (:mod:`~spikeflux.data.adl.policy`) and the encoding
(:mod:`~spikeflux.data.adl.encoding`).  :func:`load_subject` does the same through a cache:
it stores ``x`` and ``y`` (as uint8), the report (JSON), the raw files' SHA-256 and
:data:`CACHE_VERSION` in ``derived_dir()/adl/ordonez_<subject>.npz`` (no pickle anywhere),
and reuses the file only when the format version and both raw digests match the current
raw files.

>>> s = load_subject("A")            # doctest: +SKIP
>>> s.x.shape, s.y.shape             # doctest: +SKIP
((1192430, 14), (1192430,))
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from spikeflux.config import derived_dir

from .encoding import encode
from .fetch import file_digests, resolve_root, subject_files
from .format import CLASSES, INPUTS, TIME_FORMAT
from .format import SECOND as _SECOND
from .parser import parse_adls, parse_sensors
from .policy import (
    ISSUE_UNSORTED_LABEL,
    ISSUE_UNSORTED_SENSOR,
    ReportEntry,
    check_sensor_rows,
    clip_sensors,
    correct_reversed_labels,
    resolve_overlaps,
    sort_rows,
)

__all__ = ["CACHE_VERSION", "Subject", "build_subject", "load_subject", "cache_path"]

#: Bump whenever parsing, policy or encoding change what the cache would hold.
CACHE_VERSION = 1


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

    def first_full_day(self) -> tuple[int, str]:
        """``(row, date)``: the row of the first midnight after the first second, and its date
        (``YYYY-MM-DD``); a whole calendar day (86,400 rows) must follow, else :class:`ValueError`."""
        t0 = self.timestamps()[0]
        midnight = (t0.astype("datetime64[D]") + 1).astype("datetime64[s]")
        i0 = int((midnight - t0) // np.timedelta64(1, "s"))
        if i0 + 86_400 > self.n_seconds:
            raise ValueError(f"subject {self.name} has no whole calendar day")
        return i0, str(midnight.astype("datetime64[D]"))


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

