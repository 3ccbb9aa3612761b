"""Data-error policy, encoding, splits, windows and cache of the UCI ADL data set."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from spikeflux.config import ADL_ENV, DERIVED_ENV
from spikeflux.data import adl
from spikeflux.data.adl import (
    CLASSES,
    INPUTS,
    OTHER,
    ADLDataError,
    ChecksumError,
    Subject,
    cache_path,
    load_subject,
    parse_adls,
    parse_sensors,
    report_frame,
    split_subject,
    windows,
)

SHARED_ADL = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-adl"

HEAD_ADL = "Start time          \tEnd time            \tActivity\t"
DASH_ADL = "--------------------\t--------------------\t--------"
HEAD_SEN = "Start time          \tEnd time            \tLocation\tType\t\tPlace"
DASH_SEN = "--------------------\t--------------------\t--------\t--------\t-----"


def write(path: Path, lines: list[str]) -> Path:
    """CRLF line endings, no final newline: as in the raw files."""
    path.write_bytes("\r\n".join(lines).encode("ascii"))
    return path


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def shared() -> Path:
    if not all((SHARED_ADL / f"Ordonez{s}_{k}.txt").is_file() for s in "AB" for k in ("ADLs", "Sensors")):
        pytest.skip(f"raw UCI ADL files not found in {SHARED_ADL}")
    return SHARED_ADL


@pytest.fixture(autouse=True)
def derived(tmp_path, monkeypatch):
    """Keep caches out of the repository."""
    monkeypatch.setenv(DERIVED_ENV, str(tmp_path / "derived"))
    return tmp_path / "derived"


# ----------------------------------------------------------------------------- tiny home

TINY_LABELS = [
    HEAD_ADL,
    DASH_ADL,
    "2020-01-01 10:00:00\t\t2020-01-01 10:00:09\t\tSleeping\t\t",  # 3: overlaps 4 -> ends at :04
    "2020-01-01 10:00:05 \t2020-01-01 10:00:12\t\tToileting",  # 4
    "2020-01-01 10:00:15\t\t2020-01-01 10:00:20\t \tGrooming\t",  # 5: same start as 6 -> replaced
    "2020-01-01 10:00:15\t\t2020-01-01 10:00:24  \tSnack",  # 6
    "2020-01-01 10:00:30\t\t2020-01-01 09:00:35\t\tBreakfast",  # 7: reversed -> ends 10:00:35
    "2020-01-01 10:00:38\t\t2020-01-01 10:00:39\t\tLeaving\t",  # 8: last second of the period
]
TINY_SENSORS = [
    HEAD_SEN,
    DASH_SEN,
    "2020-01-01 09:59:58\t\t2020-01-01 10:00:02\t\tBed\t\t\tPressure\tBedroom",  # 3: clipped
    "2020-01-01 10:00:06 \t2020-01-01 10:00:06\t\tToilet\t\tFlush\t\tBathroom",  # 4: zero length
    "2020-01-01 10:00:16\t\t2020-01-01 10:00:18\t\tFridge\t\tMagnetic\tKitchen\t",  # 5
    "2020-01-01 10:00:10\t\t2020-01-01 10:00:11\t\tBasin\t\tPIR\t\t\tBathroom",  # 6: unsorted
    "2020-01-01 10:00:17\t\t2020-01-01 10:00:20\t\tDoor\t\tPIR\t\t\tKitchen",  # 7
    "2020-01-01 10:00:19\t\t2020-01-01 10:00:22\t\tDoor\t\tPIR\t\t\tLiving",  # 8: same channel
    "2020-01-01 10:00:37\t\t2020-01-01 10:00:45\t\tMaindoor\tMagnetic\tEntrance",  # 9: clipped
    "2020-01-01 10:00:50\t\t2020-01-01 10:00:52\t\tSeat\t\tPressure\tLiving",  # 10: removed
]

# Expected encoding, second by second from 10:00:00 (row 0) to 10:00:39 (row 39).
#                        0         1         2         3
#                        0123456789012345678901234567890123456789
TINY_Y = "SSSSSTTTTTTTT--NNNNNNNNNN-----BBBBBB--LL"
TINY_X = {
    "Bed": "111.....................................",
    "Toilet": "......1.................................",
    "Basin": "..........11............................",
    "Fridge": "................111.....................",
    "Door": ".................111111.................",
    "Maindoor": ".....................................111",
}
LEGEND = {"S": "Sleeping", "T": "Toileting", "N": "Snack", "B": "Breakfast", "L": "Leaving", "-": "Other"}


def make_home(folder: Path, labels=TINY_LABELS, sensors=TINY_SENSORS, subject="A") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / f"Ordonez{subject}_ADLs.txt", labels)
    write(folder / f"Ordonez{subject}_Sensors.txt", sensors)
    return folder


def test_tiny_home_second_by_second(tmp_path):
    s = load_subject("A", root=make_home(tmp_path / "home"), verify=False, cache=False)
    assert isinstance(s, Subject) and s.name == "A" and s.start == t("2020-01-01 10:00:00")
    assert s.n_seconds == 40 and s.end == t("2020-01-01 10:00:39")
    assert s.x.dtype == np.float32 and s.x.shape == (40, 14)
    assert s.y.dtype == np.int64 and s.y.shape == (40,)
    assert s.inputs == INPUTS and s.classes == CLASSES
    expected_y = np.array([CLASSES.index(LEGEND[c]) for c in TINY_Y])
    np.testing.assert_array_equal(s.y, expected_y)
    expected_x = np.zeros((40, 14), np.float32)
    expected_x[:, 0] = 1
    for location, timeline in TINY_X.items():
        expected_x[:, INPUTS.index(location)] = [c == "1" for c in timeline]
    np.testing.assert_array_equal(s.x, expected_x)
    assert s.timestamps()[39] == np.datetime64("2020-01-01T10:00:39")


def test_tiny_home_report(tmp_path):
    s = load_subject("A", root=make_home(tmp_path / "home"), verify=False, cache=False)
    got = {(e.file, e.line, e.issue) for e in s.report}
    assert len(s.report) == len(got) == 8
    assert got == {
        ("OrdonezA_ADLs.txt", 7, "reversed_label"),
        ("OrdonezA_ADLs.txt", 3, "overlapping_label"),
        ("OrdonezA_ADLs.txt", 5, "overlapping_label"),
        ("OrdonezA_Sensors.txt", 4, "zero_length_sensor"),
        ("OrdonezA_Sensors.txt", 6, "unsorted_sensor"),
        ("OrdonezA_Sensors.txt", 3, "sensor_outside_period"),
        ("OrdonezA_Sensors.txt", 9, "sensor_outside_period"),
        ("OrdonezA_Sensors.txt", 10, "sensor_outside_period"),
    }
    entries = {(e.file, e.line): e for e in s.report}
    assert all(e.subject == "A" for e in s.report)
    reversed_ = entries["OrdonezA_ADLs.txt", 7]
    assert reversed_.original == "2020-01-01 10:00:30 .. 2020-01-01 09:00:35 Breakfast"
    assert reversed_.result == "2020-01-01 10:00:30 .. 2020-01-01 10:00:35 Breakfast"
    assert entries["OrdonezA_ADLs.txt", 3].result == "2020-01-01 10:00:00 .. 2020-01-01 10:00:04 Sleeping"
    assert "truncated" in entries["OrdonezA_ADLs.txt", 3].action
    assert "replaced by line 6" in entries["OrdonezA_ADLs.txt", 5].action
    assert "removed" in entries["OrdonezA_ADLs.txt", 5].result
    assert entries["OrdonezA_Sensors.txt", 3].result.startswith("2020-01-01 10:00:00 .. 2020-01-01 10:00:02 Bed")
    assert "removed" in entries["OrdonezA_Sensors.txt", 10].result
    frame = report_frame(s.report)
    assert list(frame.columns) == ["subject", "file", "line", "issue", "action", "original", "result"]
    assert len(frame) == 8 and frame["issue"].value_counts()["sensor_outside_period"] == 3


def test_contained_label_leaves_the_earlier_rows_tail_unlabelled(tmp_path):
    labels = [
        HEAD_ADL,
        DASH_ADL,
        "2020-01-01 10:00:00\t\t2020-01-01 10:00:09\t\tToileting",
        "2020-01-01 10:00:03\t\t2020-01-01 10:00:05\t\tGrooming",
    ]
    s = load_subject("A", root=make_home(tmp_path / "h", labels), verify=False, cache=False)
    T, G, O = CLASSES.index("Toileting"), CLASSES.index("Grooming"), OTHER
    np.testing.assert_array_equal(s.y, [T, T, T, G, G, G, O, O, O, O])
    (entry,) = [e for e in s.report if e.issue == "overlapping_label"]
    assert entry.line == 3 and "4 s of its span" in entry.action and "unlabelled" in entry.action


def test_unsorted_labels_are_sorted_and_reported(tmp_path):
    labels = [
        HEAD_ADL,
        DASH_ADL,
        "2020-01-01 10:00:05\t\t2020-01-01 10:00:06\t\tSnack",
        "2020-01-01 10:00:00\t\t2020-01-01 10:00:01\t\tLunch",
        "2020-01-01 10:00:08\t\t2020-01-01 10:00:09\t\tDinner",
    ]
    s = load_subject("A", root=make_home(tmp_path / "h", labels), verify=False, cache=False)
    L, N, D, O = (CLASSES.index(c) for c in ("Lunch", "Snack", "Dinner", "Other"))
    np.testing.assert_array_equal(s.y, [L, L, O, O, O, N, N, O, D, D])
    assert [(e.line, e.issue) for e in s.report if e.file.endswith("ADLs.txt")] == [(4, "unsorted_label")]


def test_reversed_label_that_the_rule_cannot_fix_is_an_error(tmp_path):
    labels = [
        HEAD_ADL,
        DASH_ADL,
        "2020-01-01 10:00:00\t\t2020-01-01 10:00:09\t\tSleeping",
        "2020-01-01 10:30:20\t\t2020-01-01 09:10:05\t\tBreakfast",  # 10:10:05 < 10:30:20
    ]
    with pytest.raises(ADLDataError, match=r"OrdonezA_ADLs\.txt, line 4: .*10:30:20") as info:
        load_subject("A", root=make_home(tmp_path / "h", labels), verify=False, cache=False)
    assert isinstance(info.value, ValueError)


def test_reversed_sensor_row_is_an_error(tmp_path):
    sensors = [*TINY_SENSORS[:4], "2020-01-01 10:00:16\t\t2020-01-01 10:00:12\t\tFridge\t\tMagnetic\tKitchen"]
    with pytest.raises(ADLDataError, match=r"OrdonezA_Sensors\.txt, line 5: sensor event ends before"):
        load_subject("A", root=make_home(tmp_path / "h", sensors=sensors), verify=False, cache=False)


def test_subject_name_is_checked(tmp_path):
    with pytest.raises(ValueError, match="'C'"):
        load_subject("C", root=tmp_path)


# ----------------------------------------------------------------------------- splits, windows


def _subject(n: int) -> Subject:
    x = np.zeros((n, 14), np.float32)
    x[:, 0] = 1
    x[:, 1] = np.arange(n) % 2
    return Subject("A", x, np.arange(n) % 11, t("2020-01-01 00:00:00"), [], {})


@pytest.mark.parametrize(("n", "sizes"), [(10, (6, 2, 2)), (7, (4, 1, 2)), (1000, (600, 200, 200)), (3, (1, 1, 1))])
def test_split_is_chronological_with_floor_boundaries(n, sizes):
    s = _subject(n)
    parts = split_subject(s)
    assert list(parts) == ["train", "val", "test"]
    assert tuple(len(parts[k][1]) for k in parts) == sizes
    np.testing.assert_array_equal(np.concatenate([parts[k][1] for k in parts]), s.y)
    np.testing.assert_array_equal(np.concatenate([parts[k][0] for k in parts]), s.x)


def test_split_custom_fractions_and_errors():
    parts = split_subject(_subject(10), (0.5, 0.25, 0.25))
    assert [len(parts[k][1]) for k in parts] == [5, 2, 3]
    with pytest.raises(ValueError, match="sum to 1"):
        split_subject(_subject(10), (0.6, 0.2, 0.1))
    with pytest.raises(ValueError):
        split_subject(_subject(10), (0.6, 0.4))


def test_windows_non_overlapping_drop_incomplete_tail():
    s = _subject(2000)
    xw, yw, dropped = windows(s.x, s.y, 900)
    assert xw.shape == (2, 900, 14) and yw.shape == (2, 900) and dropped == 200
    np.testing.assert_array_equal(yw.reshape(-1), s.y[:1800])
    np.testing.assert_array_equal(xw[1, 0], s.x[900])
    xw, yw, dropped = windows(s.x[:1800], s.y[:1800])
    assert xw.shape == (2, 900, 14) and dropped == 0
    xw, yw, dropped = windows(s.x[:899], s.y[:899])
    assert xw.shape == (0, 900, 14) and yw.shape == (0, 900) and dropped == 899
    with pytest.raises(ValueError):
        windows(s.x, s.y[:-1])


# ----------------------------------------------------------------------------- real files


@pytest.fixture(scope="module")
def real():
    root = shared()
    return {name: load_subject(name, root=root, cache=False) for name in "AB"}


def test_real_shapes_and_period(real):
    periods = {
        "A": (t("2011-11-28 02:27:59"), t("2011-12-11 21:41:48")),
        "B": (t("2012-11-11 21:14:00"), t("2012-12-03 01:03:59")),
    }
    for name, s in real.items():
        first, last = periods[name]
        n = int((last - first).total_seconds()) + 1
        assert s.n_seconds == n and s.start == first and s.end == last
        assert s.x.shape == (n, 14) and s.x.dtype == np.float32
        assert s.y.shape == (n,) and s.y.dtype == np.int64
        assert np.all(s.x[:, 0] == 1) and set(np.unique(s.x[:, 1:])) == {0.0, 1.0}
        assert s.y.min() >= 0 and s.y.max() <= OTHER
        assert set(s.digests) == {f"Ordonez{name}_ADLs.txt", f"Ordonez{name}_Sensors.txt"}
    assert real["A"].n_seconds == 1192430 and real["B"].n_seconds == 1828200
    assert 13.5 * 86400 < real["A"].n_seconds < 14 * 86400
    assert 21 * 86400 < real["B"].n_seconds < 21.5 * 86400


def test_real_report_a(real):
    report = real["A"].report
    by_issue = Counter(e.issue for e in report)
    assert by_issue == {
        "reversed_label": 3, "overlapping_label": 2, "zero_length_sensor": 1, "sensor_outside_period": 2,
    }  # fmt: skip
    reversed_ = {e.line: e.result for e in report if e.issue == "reversed_label"}
    assert sorted(reversed_) == [72, 81, 83]
    assert reversed_[72].startswith("2011-12-01 19:28:51 .. 2011-12-01 19:29:59")
    assert reversed_[81].startswith("2011-12-02 12:20:41 .. 2011-12-02 12:20:59")
    assert reversed_[83].startswith("2011-12-02 12:27:47 .. 2011-12-02 12:35:49")
    assert sorted(e.line for e in report if e.issue == "overlapping_label") == [67, 101]
    (zero,) = [e for e in report if e.issue == "zero_length_sensor"]
    assert (zero.file, zero.line) == ("OrdonezA_Sensors.txt", 31) and "Basin" in zero.original
    outside = {e.line: e for e in report if e.issue == "sensor_outside_period"}
    assert sorted(outside) == [410, 411] and "removed" in outside[411].result


def test_real_report_b(real):
    report = real["B"].report
    assert Counter(e.issue for e in report) == {"overlapping_label": 23, "unsorted_sensor": 4}
    overlaps = {e.line: e for e in report if e.issue == "overlapping_label"}
    assert len(overlaps) == 23 and {72, 100, 251, 437, 482} <= set(overlaps)
    assert "replaced by line 101" in overlaps[100].action
    assert "180 s of its span" in overlaps[437].action and "unlabelled" not in overlaps[251].action
    assert sorted(e.line for e in report if e.issue == "unsorted_sensor") == [327, 1577, 2067, 2143]


def _row(s: Subject, when: str) -> int:
    return int((t(when) - s.start).total_seconds())


def test_real_spot_checks(real):
    a, b = real["A"], real["B"]
    c = CLASSES.index
    assert a.y[0] == c("Sleeping") and a.x[0, INPUTS.index("Bed")] == 1
    assert a.y[_row(a, "2011-12-01 19:29:59")] == c("Toileting")  # corrected line 72
    assert a.y[_row(a, "2011-12-01 19:30:00")] == OTHER
    assert a.y[_row(a, "2011-12-01 16:27:02")] == c("Toileting")  # line 67, truncated
    assert a.y[_row(a, "2011-12-01 16:27:03")] == c("Spare_Time/TV")  # line 68 wins
    assert a.x[_row(a, "2011-11-28 16:10:05"), INPUTS.index("Basin")] == 1  # zero-length event
    assert a.x[_row(a, "2011-11-28 16:10:04"), INPUTS.index("Basin")] == 0
    assert a.x[-1, INPUTS.index("Seat")] == 1  # line 410, clipped at the end
    assert a.class_counts()["Dinner"] == 0
    assert b.y[_row(b, "2012-11-15 00:10:30")] == c("Sleeping")  # line 100 replaced by 101
    assert b.y[_row(b, "2012-11-30 10:26:59")] == c("Toileting")  # line 437, truncated
    assert b.y[_row(b, "2012-11-30 10:28:59")] == c("Grooming")  # line 438
    assert b.y[_row(b, "2012-11-30 10:29:00")] == OTHER  # tail of line 437
    assert b.y[_row(b, "2012-11-22 11:56:59")] == c("Snack")  # line 251's tail: line 253
    assert b.x[_row(b, "2012-11-26 20:00:00"), INPUTS.index("Seat")] == 1  # line 1577, unsorted
    for name in ("Cabinet", "Cooktop", "Toaster"):  # not in home B
        assert b.x[:, INPUTS.index(name)].sum() == 0
    assert sum(a.class_counts().values()) == a.n_seconds


@pytest.mark.parametrize("name", ["A", "B"])
def test_real_encoding_matches_a_slow_reference(real, name):
    """Per-event slice assignment over the parsed rows gives the same x."""
    s, root = real[name], shared()
    reference = np.zeros_like(s.x)
    reference[:, 0] = 1
    for row in parse_sensors(root / f"Ordonez{name}_Sensors.txt"):
        lo = max(0, int((row.start - s.start).total_seconds()))
        hi = min(s.n_seconds - 1, int((row.end - s.start).total_seconds()))
        reference[lo : hi + 1, INPUTS.index(row.location)] = 1
    np.testing.assert_array_equal(s.x, reference)
    labelled = np.zeros(s.n_seconds, bool)
    for row in parse_adls(root / f"Ordonez{name}_ADLs.txt"):
        end = row.end if row.end >= row.start else row.start.replace(minute=row.end.minute, second=row.end.second)
        labelled[_row(s, f"{row.start}") : _row(s, f"{end}") + 1] = True
    if name == "B":  # line 437 ends after line 438, which truncates it: its tail is lost
        labelled[_row(s, "2012-11-30 10:29:00") : _row(s, "2012-11-30 10:31:59") + 1] = False
    np.testing.assert_array_equal(s.y != OTHER, labelled)


# ----------------------------------------------------------------------------- cache


def test_env_var_root_and_cache_roundtrip(monkeypatch, derived):
    root = shared()
    monkeypatch.setenv(ADL_ENV, str(root))
    first = load_subject("A")
    assert not first.cached
    path = cache_path("A")
    assert path.is_file() and path.parent == derived / "adl" and "A" in path.name
    second = load_subject("A")
    assert second.cached
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, second.y)
    assert second.x.dtype == np.float32 and second.y.dtype == np.int64
    assert first.report == second.report and first.digests == second.digests
    assert first.start == second.start
    with np.load(path, allow_pickle=False) as npz:  # no pickled objects inside
        assert all(npz[key].dtype != object for key in npz.files)
        assert int(npz["format_version"]) == adl.CACHE_VERSION
        assert json.loads(str(npz["digests"])) == first.digests
    assert not load_subject("A", cache=False).cached


def test_cache_invalidated_by_a_changed_raw_file(tmp_path):
    root = tmp_path / "copy"
    root.mkdir()
    for kind in ("ADLs", "Sensors"):
        shutil.copy(shared() / f"OrdonezA_{kind}.txt", root)
    original = load_subject("A", root=root)
    assert not original.cached and load_subject("A", root=root).cached
    path = root / "OrdonezA_ADLs.txt"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"10:18:11\t\tSleeping", b"10:18:11\t\tToileting", 1))
    with pytest.raises(ChecksumError):
        load_subject("A", root=root)
    changed = load_subject("A", root=root, verify=False)
    assert not changed.cached
    assert changed.digests["OrdonezA_ADLs.txt"] != original.digests["OrdonezA_ADLs.txt"]
    assert changed.digests["OrdonezA_Sensors.txt"] == original.digests["OrdonezA_Sensors.txt"]
    assert original.y[0] == CLASSES.index("Sleeping") and changed.y[0] == CLASSES.index("Toileting")
    again = load_subject("A", root=root, verify=False)
    assert again.cached and again.y[0] == CLASSES.index("Toileting")


def test_cache_version_and_corrupt_cache(tmp_path, monkeypatch):
    root = make_home(tmp_path / "home")
    assert not load_subject("A", root=root, verify=False).cached
    assert load_subject("A", root=root, verify=False).cached
    monkeypatch.setattr(adl.subject, "CACHE_VERSION", adl.CACHE_VERSION + 1)  # where load_subject reads it
    assert not load_subject("A", root=root, verify=False).cached
    assert load_subject("A", root=root, verify=False).cached
    cache_path("A").write_bytes(b"not a zip file")
    s = load_subject("A", root=root, verify=False)
    assert not s.cached and s.n_seconds == 40
    assert load_subject("A", root=root, verify=False).cached


def test_cache_disabled_writes_nothing(tmp_path, derived):
    load_subject("A", root=make_home(tmp_path / "home"), verify=False, cache=False)
    assert not (derived / "adl").exists()


def test_report_frame_of_an_empty_report():
    frame = report_frame([])
    assert len(frame) == 0 and "issue" in frame.columns


def test_timestamps_use_naive_arithmetic():
    s = Subject("A", np.ones((3, 14), np.float32), np.full(3, OTHER), t("2011-10-30 01:59:59"), [], {})
    assert s.end == t("2011-10-30 01:59:59") + timedelta(seconds=2)
    assert str(s.timestamps()[-1]) == "2011-10-30T02:00:01"


def test_issue_table_counts_the_report_by_rule():
    entry = adl.ReportEntry("B", "OrdonezB_ADLs.txt", 7, adl.ISSUE_OVERLAP, "cut", "x", "y")
    table = adl.issue_table([entry, entry])
    assert list(table.index) == list(adl.ISSUES) and list(table.columns) == ["rule", "A", "B", "total"]
    assert table.loc[adl.ISSUE_OVERLAP, "B"] == 2 and table.loc[adl.ISSUE_OVERLAP, "total"] == 2
    assert table["total"].sum() == 2 and table.loc[adl.ISSUE_REVERSED, "rule"] == adl.ISSUES[adl.ISSUE_REVERSED]


def test_runs_are_the_events_of_a_channel():
    starts, lengths = adl.runs(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool))
    assert starts.tolist() == [0, 4, 6] and lengths.tolist() == [2, 1, 3]
    assert [a.size for a in adl.runs(np.zeros(4, dtype=bool))] == [0, 0]
