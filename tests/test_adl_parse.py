"""Parser of the raw UCI ADL files: every quirk of SOURCE.md, and malformed inputs."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeflux.data.adl import (
    ADLFormatError,
    LabelRow,
    SensorRow,
    parse_adls,
    parse_sensors,
)

SHARED_ADL = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-adl"

HEAD_ADL = "Start time          \tEnd time            \tActivity\t"
DASH_ADL = "--------------------\t--------------------\t--------"
HEAD_SEN = "Start time          \tEnd time            \tLocation\tType\t\tPlace"
DASH_SEN = "--------------------\t--------------------\t--------\t--------\t-----"


def write(path: Path, lines: list[str], newline: str = "\r\n", final: bool = False) -> Path:
    """Write ``lines`` as ASCII bytes joined by ``newline`` (CRLF, no final newline by default)."""
    path.write_bytes((newline.join(lines) + (newline if final else "")).encode("ascii"))
    return path


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def shared() -> Path:
    if not all((SHARED_ADL / f"Ordonez{s}_{k}.txt").is_file() for s in "AB" for k in ("ADLs", "Sensors")):
        pytest.skip(f"raw UCI ADL files not found in {SHARED_ADL}")
    return SHARED_ADL


# ----------------------------------------------------------------------------- quirks


def test_label_quirks_crlf_no_final_newline_mixed_separators_trailing_tabs(tmp_path):
    path = write(
        tmp_path / "OrdonezA_ADLs.txt",
        [
            HEAD_ADL,
            DASH_ADL,
            "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping\t\t",  # trailing tabs
            "2012-11-12 00:24:00 \t2012-11-12 00:43:59\t\tSpare_Time/TV",  # " \t"
            "2012-11-12 00:44:00\t\t2012-11-12 00:50:59\t \tGrooming\t",  # "\t \t", trailing tab
            "2012-11-12 00:51:00\t\t2012-11-12 00:52:59  \tToileting",  # "  \t"
            "2012-11-12 00:53:00\t2012-11-12 00:53:00\t\t\tSnack",  # 1 and 3 tabs
        ],
    )
    assert path.read_bytes().count(b"\r\n") == 6 and not path.read_bytes().endswith(b"\n")
    assert parse_adls(path) == [
        LabelRow(3, t("2011-11-28 02:27:59"), t("2011-11-28 10:18:11"), "Sleeping"),
        LabelRow(4, t("2012-11-12 00:24:00"), t("2012-11-12 00:43:59"), "Spare_Time/TV"),
        LabelRow(5, t("2012-11-12 00:44:00"), t("2012-11-12 00:50:59"), "Grooming"),
        LabelRow(6, t("2012-11-12 00:51:00"), t("2012-11-12 00:52:59"), "Toileting"),
        LabelRow(7, t("2012-11-12 00:53:00"), t("2012-11-12 00:53:00"), "Snack"),
    ]


def test_sensor_quirks(tmp_path):
    path = write(
        tmp_path / "OrdonezA_Sensors.txt",
        [
            HEAD_SEN,
            DASH_SEN,
            "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tBed\t\t\tPressure\tBedroom",
            "2011-11-28 10:21:24 \t2011-11-28 10:21:31\t\tCabinet\t\tMagnetic\tBathroom\t",
            "2012-11-12 00:22:57\t\t2012-11-12 00:22:59\t\tDoor\t\tPIR\t\t\tLiving",
        ],
    )
    assert parse_sensors(path) == [
        SensorRow(3, t("2011-11-28 02:27:59"), t("2011-11-28 10:18:11"), "Bed", "Pressure", "Bedroom"),
        SensorRow(4, t("2011-11-28 10:21:24"), t("2011-11-28 10:21:31"), "Cabinet", "Magnetic", "Bathroom"),
        SensorRow(5, t("2012-11-12 00:22:57"), t("2012-11-12 00:22:59"), "Door", "PIR", "Living"),
    ]


@pytest.mark.parametrize(("newline", "final"), [("\r\n", True), ("\n", False), ("\n", True)])
def test_final_newline_and_bare_lf_are_tolerated(tmp_path, newline, final):
    rows = ["2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping"]
    path = write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL, DASH_ADL, *rows], newline, final)
    assert parse_adls(path) == [
        LabelRow(3, t("2011-11-28 02:27:59"), t("2011-11-28 10:18:11"), "Sleeping")
    ]


SEPARATORS = st.sampled_from(["\t", "\t\t", "\t\t\t", " \t", "\t \t", "  \t", "\t  ", " \t\t"])


SEPARATED = dict(seps=st.lists(st.tuples(SEPARATORS, SEPARATORS, SEPARATORS, SEPARATORS), min_size=1, max_size=4),
                 trailing=st.sampled_from(["", "\t", "\t\t", " ", " \t"]))


@settings(max_examples=40, deadline=None)
@given(**SEPARATED)
def test_any_mix_of_tab_runs_and_spaces_parses_the_same(seps, trailing):
    lines = [HEAD_SEN, DASH_SEN]
    for a, b, c, d in seps:
        lines.append(f"2012-11-12 00:22:57{a}2012-11-12 00:22:59{b}Door{c}PIR{d}Living{trailing}")
    with tempfile.TemporaryDirectory() as folder:
        rows = parse_sensors(write(Path(folder) / "OrdonezB_Sensors.txt", lines))
    start, end = t("2012-11-12 00:22:57"), t("2012-11-12 00:22:59")
    assert rows == [SensorRow(n, start, end, "Door", "PIR", "Living") for n in range(3, 3 + len(seps))]


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(**SEPARATED)
def test_any_mix_of_tab_runs_and_spaces_parses_the_same_exhaustively(seps, trailing):
    """The expensive variant (``--runslow``): 2000 separator mixes instead of 40."""
    test_any_mix_of_tab_runs_and_spaces_parses_the_same.hypothesis.inner_test(seps, trailing)


# ----------------------------------------------------------------------------- malformed

GOOD = "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping"


def _error(path: Path, parse=parse_adls) -> ADLFormatError:
    with pytest.raises(ADLFormatError) as info:
        parse(path)
    assert isinstance(info.value, ValueError)
    assert path.name in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("2011-11-28 10:21:24\t\t2011-11-28 10:23:36", "expected 3 fields"),  # too few
        ("2011-11-28 10:21:24\t\t2011-11-28 10:23:36\tToileting\tBathroom", "found 4"),  # too many
        ("2011-11-28 10:21:24 2011-11-28 10:23:36\t\tToileting", "found 2"),  # space separator
        ("2011-11-28T10:21:24\t\t2011-11-28 10:23:36\t\tToileting", "bad start time"),
        ("2011-11-28 10:21:24\t\t28/11/2011 10:23:36\t\tToileting", "bad end time"),
        ("2011-02-30 10:21:24\t\t2011-11-28 10:23:36\t\tToileting", "impossible start time"),
        ("2011-11-28 25:21:24\t\t2011-11-28 10:23:36\t\tToileting", "impossible start time"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:23:36\t\tCooking", "unknown activity 'Cooking'"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:23:36\t\ttoileting", "unknown activity"),
        ("", "blank line"),
        ("\t \t", "blank line"),
    ],
)
def test_malformed_label_row(tmp_path, bad, problem):
    path = write(tmp_path / "OrdonezB_ADLs.txt", [HEAD_ADL, DASH_ADL, GOOD, bad, GOOD])
    error = _error(path)
    assert error.line == 4
    assert "OrdonezB_ADLs.txt, line 4: " in str(error)
    assert problem in str(error)
    assert repr(bad) in str(error)  # the offending line is shown


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("2011-11-28 10:21:24\t\t2011-11-28 10:21:31\t\tCabinet\t\tMagnetic", "expected 5 fields"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:21:31\t\tOven\t\tElectric\tKitchen", "unknown sensor location 'Oven'"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:21:31\t\tCabinet\t\tLaser\tBathroom", "unknown sensor type"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:21:31\t\tCabinet\t\tMagnetic\tGarage", "unknown place"),
    ],
)
def test_malformed_sensor_row(tmp_path, bad, problem):
    good = "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tBed\t\t\tPressure\tBedroom"
    path = write(tmp_path / "OrdonezA_Sensors.txt", [HEAD_SEN, DASH_SEN, good, good, bad])
    error = _error(path, parse_sensors)
    assert error.line == 5 and "OrdonezA_Sensors.txt, line 5: " in str(error)
    assert problem in str(error) and repr(bad) in str(error)


def test_empty_file(tmp_path):
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(b"")
    error = _error(path)
    assert error.line == 1 and "line 1: empty file" in str(error)


@pytest.mark.parametrize("final", [False, True])
def test_header_only(tmp_path, final):
    path = write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL, DASH_ADL], final=final)
    error = _error(path)
    assert error.line == 3 and "no data rows" in str(error)


def test_missing_second_header_line(tmp_path):
    error = _error(write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL]))
    assert error.line == 2 and "second header line" in str(error)


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        ([HEAD_SEN, DASH_ADL, GOOD], 1),  # sensor header in a label file
        (["Start\tEnd\tActivity", DASH_ADL, GOOD], 1),
        ([GOOD, GOOD, GOOD], 1),  # no header at all
        ([HEAD_ADL, "----\t----", GOOD], 2),  # two dash groups, three columns
        ([HEAD_ADL, "====\t====\t====", GOOD], 2),
    ],
)
def test_wrong_header(tmp_path, lines, line):
    error = _error(write(tmp_path / "OrdonezA_ADLs.txt", lines))
    assert error.line == line and f"line {line}: unexpected" in str(error)


def test_label_header_in_sensor_file(tmp_path):
    error = _error(write(tmp_path / "OrdonezA_Sensors.txt", [HEAD_ADL, DASH_ADL, GOOD]), parse_sensors)
    assert error.line == 1 and "Location" in str(error)


def test_binary_garbage(tmp_path):
    path = tmp_path / "OrdonezA_ADLs.txt"
    head = f"{HEAD_ADL}\r\n{DASH_ADL}\r\n{GOOD}\r\n".encode("ascii")
    path.write_bytes(head + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8" + b"\r\n" + GOOD.encode())
    error = _error(path)
    assert error.line == 4 and "not ASCII" in str(error) and "0x89" in str(error)
    assert "\\x89PNG" in str(error)


def test_control_character(tmp_path):
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(f"{HEAD_ADL}\r\n{DASH_ADL}\r\n{GOOD}\r\n{GOOD}\x00\x00".encode("ascii"))
    error = _error(path)
    assert error.line == 4 and "control character" in str(error)


def test_non_ascii_text(tmp_path):
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(f"{HEAD_ADL}\r\n{DASH_ADL}\r\n{GOOD.replace('Sleeping', 'Sleeping·')}".encode("utf-8"))
    error = _error(path)
    assert error.line == 3 and "not ASCII" in str(error)


def test_bom_is_rejected(tmp_path):
    path = tmp_path / "OrdonezA_ADLs.txt"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEAD_ADL}\r\n{DASH_ADL}\r\n{GOOD}".encode("ascii"))
    assert _error(path).line == 1


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        ("2011-11-28 10:2", "expected 3 fields"),  # cut mid-timestamp
        ("2011-11-28 10:21:24\t\t2011-11-28 10:2", "expected 3 fields"),
        ("2011-11-28 10:21:24\t\t2011-11-28 10:23:36\t\tToil", "unknown activity 'Toil'"),
    ],
)
def test_truncated_file(tmp_path, cut, problem):
    path = write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL, DASH_ADL, GOOD, GOOD, cut])
    error = _error(path)
    assert error.line == 5 and problem in str(error)


def test_truncated_mid_timestamp_in_the_second_field(tmp_path):
    cut = "2011-11-28 10:21:24\t\t2011-11-28 10:23:3\tToileting"
    error = _error(write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL, DASH_ADL, cut]))
    assert error.line == 3 and "bad end time '2011-11-28 10:23:3'" in str(error)


def test_long_offending_line_is_truncated_in_the_message(tmp_path):
    bad = GOOD + "x" * 5000
    error = _error(write(tmp_path / "OrdonezA_ADLs.txt", [HEAD_ADL, DASH_ADL, bad]))
    assert len(str(error)) < 400 and str(error).endswith("...")


# ----------------------------------------------------------------------------- real files


def test_real_files_parse_with_the_counts_of_source_md():
    root = shared()
    a_labels, b_labels = parse_adls(root / "OrdonezA_ADLs.txt"), parse_adls(root / "OrdonezB_ADLs.txt")
    a_sensors = parse_sensors(root / "OrdonezA_Sensors.txt")
    b_sensors = parse_sensors(root / "OrdonezB_Sensors.txt")
    assert [len(a_labels), len(a_sensors), len(b_labels), len(b_sensors)] == [248, 409, 493, 2334]
    assert [r.line for r in a_labels] == list(range(3, 251))
    assert [r.line for r in b_sensors] == list(range(3, 2337))
    assert Counter(r.activity for r in a_labels) == {
        "Breakfast": 14, "Grooming": 51, "Leaving": 14, "Lunch": 9, "Showering": 14,
        "Sleeping": 14, "Snack": 11, "Spare_Time/TV": 77, "Toileting": 44,
    }  # fmt: skip
    assert Counter(r.activity for r in b_labels) == {
        "Breakfast": 22, "Dinner": 11, "Grooming": 113, "Leaving": 38, "Lunch": 13,
        "Showering": 11, "Sleeping": 29, "Snack": 47, "Spare_Time/TV": 116, "Toileting": 93,
    }  # fmt: skip
    b_triples = Counter((r.location, r.type, r.place) for r in b_sensors)
    assert b_triples[("Door", "PIR", "Living")] == 814
    assert b_triples[("Door", "PIR", "Kitchen")] == 558
    assert b_triples[("Door", "PIR", "Bedroom")] == 362
    assert len(b_triples) == 12 and len(Counter((r.location, r.type, r.place) for r in a_sensors)) == 12
    assert min(r.start for r in a_labels) == t("2011-11-28 02:27:59")
    assert max(r.end for r in a_labels) == t("2011-12-11 21:41:48")
    assert a_labels[72 - 3] == LabelRow(72, t("2011-12-01 19:28:51"), t("2011-12-01 16:29:59"), "Toileting")
    assert a_sensors[31 - 3].start == a_sensors[31 - 3].end == t("2011-11-28 16:10:05")


def test_one_parser_for_both_kinds_from_their_column_tables(tmp_path):
    from spikeflux.data.adl import LABELS, SENSORS, parse

    assert LABELS.headers == ("Start time", "End time", "Activity") and LABELS.row is LabelRow
    assert SENSORS.fields == ("start", "end", "location", "type", "place") and SENSORS.row is SensorRow
    path = write(tmp_path / "a.txt", [HEAD_ADL, DASH_ADL, "2011-11-28 02:27:59\t2011-11-28 10:18:11\tSleeping"])
    assert parse(path, LABELS) == parse_adls(path)
    with pytest.raises(ADLFormatError, match="line 1: unexpected header line"):
        parse(path, SENSORS)  # a label file read as a sensor file
