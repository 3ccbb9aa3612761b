"""The command line of the ADL data: ``python -m spikeflux.data.adl fetch|report``.

``python -m spikeflux.data.adl fetch [--dest DIR] [--source DIR] [--no-verify] [--url URL]``
puts the raw files in place (see :func:`~spikeflux.data.adl.fetch.fetch_adl`);
``python -m spikeflux.data.adl report [A B]`` loads the subjects and prints the data-error
report and the class balance.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .fetch import RAW_FILES, UCI_URL, ADLDataNotFoundError, fetch_adl, how_to_provide, missing_files, two_ways
from .subject import Subject, load_subject

__all__ = ["main"]


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


