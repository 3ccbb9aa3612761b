"""Cost of LRP, TSA, integrated gradients and DeepLIFT against window length, targets and width.

Runs :func:`spikeflux.cost.measure` (one size varied at a time around
``spikeflux.cost.BASE``, best of ``--repeat`` calls, one math thread by default) and prints
the fitted log-log slopes (:func:`spikeflux.cost.slopes`). The reproducibility appendix
measures the same on the grid of the book's profile (``profiles.py``, section ``cost``);
this script is for larger grids.

Usage::

    python benchmarks/bench_cost.py                                   # the full profile's grid
    python benchmarks/bench_cost.py --window 250 500 1000 2000 4000 --repeat 5 --out cost.csv
    python benchmarks/bench_cost.py --methods lrp-epsilon deeplift --threads 2
"""

from __future__ import annotations

import argparse
import csv

import torch

from spikeflux import cost
from spikeflux.profiles import profile


def main(argv=None) -> int:
    grid = profile("full", "cost")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(cost.METHODS))
    for axis in cost.AXES:
        ap.add_argument(f"--{axis}", nargs="+", type=int, default=list(grid[axis]), help=f"values of {axis}")
    ap.add_argument("--repeat", type=int, default=grid["repeat"], help="calls per size (the best is kept)")
    ap.add_argument("--threads", type=int, default=1, help="torch math threads (1)")
    ap.add_argument("--out", default=None, help="CSV of the measurements")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = cost.measure(args.methods, {a: getattr(args, a) for a in cost.AXES}, repeat=args.repeat)
    for r in cost.slopes(rows):
        print(f"{r['method']:<22s} {r['axis']:<8s} slope {r['slope']:5.2f}  (r2 {r['r2']:.3f})")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
