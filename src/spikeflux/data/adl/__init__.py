"""The UCI ADL data set (binary sensors in two homes), from the raw files to arrays.

Ordóñez, de Toledo & Sanchis (2013), "Activity Recognition Using Hybrid
Generative/Discriminative Models on Home Environments Using Binary Sensors", *Sensors*
13(5):5460-5477, doi:10.3390/s130505460 (UCI data set 271).  Two subjects, ``"A"`` (14
labelled days) and ``"B"`` (21 labelled days); per subject a label file
``Ordonez?_ADLs.txt`` and a sensor file ``Ordonez?_Sensors.txt``.

>>> s = load_subject("A")            # doctest: +SKIP
>>> s.x.shape, s.y.shape             # doctest: +SKIP
((1192430, 14), (1192430,))

One module per step, each documented in its own docstring:

:mod:`~spikeflux.data.adl.format`
    the vocabularies of the raw files and the channels and classes of the encoding;
:mod:`~spikeflux.data.adl.fetch`
    obtaining the four raw files (copy or download from UCI) and checking their SHA-256;
:mod:`~spikeflux.data.adl.parser`
    one table-driven parser for both file kinds, :class:`ADLFormatError` for bad input;
:mod:`~spikeflux.data.adl.policy`
    the data-error policy: one rule per known error of the raw files, each reported;
:mod:`~spikeflux.data.adl.encoding`
    one row per second, a 0/1 channel per sensor location, a class per second;
:mod:`~spikeflux.data.adl.subject`
    :class:`Subject` and :func:`load_subject`, with the cache;
:mod:`~spikeflux.data.adl.splits`
    the chronological 60/20/20 splits and the windows;
:mod:`~spikeflux.data.adl.cli`
    ``python -m spikeflux.data.adl fetch|report``.

Every name is importable from this package.
"""

from __future__ import annotations

from .cli import main
from .encoding import encode, runs
from .fetch import (
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
from .format import ACTIVITIES, CLASSES, INPUTS, LOCATIONS, OTHER, PLACES, SENSOR_TYPES, TIME_FORMAT
from .parser import LABELS, SENSORS, ADLFormatError, Column, FileKind, LabelRow, SensorRow, parse, parse_adls, parse_sensors
from .policy import (
    ISSUE_OUTSIDE,
    ISSUE_OVERLAP,
    ISSUE_REVERSED,
    ISSUE_UNSORTED_LABEL,
    ISSUE_UNSORTED_SENSOR,
    ISSUE_ZERO_LENGTH,
    ISSUES,
    ADLDataError,
    ReportEntry,
    check_sensor_rows,
    clip_sensors,
    correct_reversed_labels,
    issue_table,
    minute_overlaps,
    report_frame,
    resolve_overlaps,
    sort_rows,
)
from .splits import split_arrays, split_subject, windows
from .subject import CACHE_VERSION, Subject, build_subject, cache_path, load_subject

__all__ = [
    "INPUTS", "LOCATIONS", "CLASSES", "ACTIVITIES", "OTHER", "SENSOR_TYPES", "PLACES", "TIME_FORMAT",
    "CACHE_VERSION", "ISSUE_REVERSED", "ISSUE_UNSORTED_LABEL", "ISSUE_OVERLAP", "ISSUE_UNSORTED_SENSOR",
    "ISSUE_ZERO_LENGTH", "ISSUE_OUTSIDE", "ISSUES", "minute_overlaps", "UCI_URL", "RAW_FILES", "SHA256",
    "ADLFormatError", "ADLDataError", "ChecksumError", "ADLDataNotFoundError", "ADLDownloadError",
    "LabelRow", "SensorRow", "Column", "FileKind", "LABELS", "SENSORS", "ReportEntry", "Subject",
    "parse", "parse_adls", "parse_sensors", "correct_reversed_labels", "sort_rows", "resolve_overlaps",
    "check_sensor_rows", "clip_sensors", "encode", "runs", "build_subject", "load_subject", "cache_path",
    "report_frame", "issue_table", "split_subject", "split_arrays", "windows", "fetch_adl",
    "file_digests", "how_to_provide", "missing_files", "resolve_root", "subject_files", "two_ways", "main",
]
