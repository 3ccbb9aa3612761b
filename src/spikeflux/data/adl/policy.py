"""The data-error policy: one explicit rule per known error of the raw files, each reported.

The raw files have known errors (``SOURCE.md``).  Each is handled by an explicit rule, and
every row a rule touches gets one :class:`ReportEntry` in ``Subject.report`` (nothing is
dropped or changed silently; :func:`report_frame` turns the report into a table and
:func:`issue_table` counts it by issue).  Issue codes (:data:`ISSUES` gives each its rule
in a few words), and what the original files give:

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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime

from .format import SECOND as _SECOND
from .format import TIME_FORMAT
from .parser import LabelRow, SensorRow

__all__ = ["ADLDataError", "ReportEntry", "ISSUE_REVERSED", "ISSUE_UNSORTED_LABEL", "ISSUE_OVERLAP",
           "ISSUE_UNSORTED_SENSOR", "ISSUE_ZERO_LENGTH", "ISSUE_OUTSIDE", "ISSUES", "correct_reversed_labels",
           "sort_rows", "resolve_overlaps", "check_sensor_rows", "clip_sensors", "report_frame", "issue_table"]

ISSUE_REVERSED = "reversed_label"
ISSUE_UNSORTED_LABEL = "unsorted_label"
ISSUE_OVERLAP = "overlapping_label"
ISSUE_UNSORTED_SENSOR = "unsorted_sensor"
ISSUE_ZERO_LENGTH = "zero_length_sensor"
ISSUE_OUTSIDE = "sensor_outside_period"

#: Every issue code with its rule in a few words, in the order the policy applies them.
ISSUES: dict[str, str] = {
    ISSUE_REVERSED: "end corrected: date and hour from the start, minutes and seconds kept",
    ISSUE_UNSORTED_LABEL: "labels processed in start order",
    ISSUE_OVERLAP: "the later label wins from its start on",
    ISSUE_UNSORTED_SENSOR: "events sorted by start time",
    ISSUE_ZERO_LENGTH: "kept, active for one second",
    ISSUE_OUTSIDE: "clipped to the labelled period (removed if entirely outside)",
}


class ADLDataError(ValueError):
    """The data contain an error that the data-error policy does not cover."""


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



def report_frame(report: Iterable[ReportEntry]):
    """The report as a :class:`pandas.DataFrame`, one row per entry (columns = entry fields)."""
    import pandas as pd

    columns = [f.name for f in fields(ReportEntry)]
    return pd.DataFrame([asdict(entry) for entry in report], columns=columns)



def issue_table(report: Iterable[ReportEntry], subjects: Sequence[str] = ("A", "B")):
    """Rows touched per issue (rows of :data:`ISSUES`) and subject, a ``total`` and the ``rule``."""
    counts = (report_frame(report).groupby(["issue", "subject"]).size().unstack(fill_value=0)
              .reindex(index=list(ISSUES), columns=list(subjects), fill_value=0))
    counts["total"] = counts.sum(axis=1)
    counts.insert(0, "rule", [ISSUES[i] for i in counts.index])
    return counts


def minute_overlaps(report: Iterable[ReportEntry], subject: str) -> tuple[int, int]:
    """``(overlaps, minute)``: the overlapping-label entries of ``subject`` in ``report``, and how many of
    them are a label ending at ``:59`` of the minute in which the next one starts at ``:00`` (the rule cut
    the earlier label's end by exactly 60 s): an artefact of labelling in whole minutes."""
    def end_of(row_text: str) -> datetime:  # a row written as ``start .. end name``
        return datetime.strptime(row_text.split(" .. ")[1][:19], TIME_FORMAT)

    overlaps = [e for e in report if e.subject == subject and e.issue == ISSUE_OVERLAP]
    minute = [e for e in overlaps if " .. " in e.result and end_of(e.original).second == 59
              and (end_of(e.original) - end_of(e.result)).total_seconds() == 60]
    return len(overlaps), len(minute)
