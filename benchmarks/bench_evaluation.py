"""Evaluation speed: ESS for one explained step, forward chunk size, and the whole suite.

1. ESS for one explained step: all budget levels in one batched forward pass vs a loop over
   levels (ADL-sized 2L network 14 -> 100 -> 11, burn-in 300 + window 1000 steps, a random
   attribution map; the book's grid of cell shares ``evaluation.LEVELS`` and a linear grid of 21).
2. ``--chunks``: prediction of 1024 excerpts of 1300 steps, simulated 32..1024 at a time
   (why :func:`spikeflux.evaluation.predict_last` uses 128).
3. ``--suite PROFILE``: the evaluation chapter's whole suite (``evaluation.suite``: same
   points, methods and models; needs the trained models of that profile, i.e. the synthetic
   and ADL chapters executed first) with ``--workers`` processes; prints the total and the
   seconds per method. The target: under 10 minutes for ``full`` on a 2-core CPU.

    python benchmarks/bench_evaluation.py [--levels 10] [--repeats 3] [--chunks] [--suite full --workers 2]
"""

import argparse
import time

import numpy as np
import torch

from spikeflux import evaluation as ev
from spikeflux.snn import LIFNetwork


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="*", default=[0, 20], help="0: the book's grid, n: n+1 linear levels")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunks", action="store_true")
    ap.add_argument("--suite", choices=["quick", "full"])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.suite:
        return suite(args.suite, args.workers)
    torch.set_num_threads(1)
    net = LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=2.0, seed=0).double()
    rng = np.random.default_rng(0)
    W, burn = 1000, 300
    X = (rng.random((1, burn + W, 14)) < 0.05).astype(np.float64)
    X[..., 0] = 1
    A = rng.normal(size=(1, 14, W))
    clean = ev.predict_last(net, torch.as_tensor(X)).numpy()
    print(f"{'levels':>7} {'batched s':>10} {'loop s':>8} {'speed-up':>9}")
    for n_levels in args.levels:
        levels = ev.LEVELS if n_levels == 0 else tuple(np.linspace(0, 1, n_levels + 1))

        def batched():
            ev.ess(net, X, A, clean, 11, W, levels=levels, bias_channel=0)

        def loop():
            for lv in levels:
                flipped = ev.deletion_inputs(X[0, -W:], A[0], [lv], np.random.default_rng(0), bias_channel=0)
                ev.predict_last(net, torch.as_tensor(np.concatenate([X[:, :-W], flipped], 1)))

        times = []
        for fn in (batched, loop):
            fn()
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                fn()
            times.append((time.perf_counter() - t0) / args.repeats)
        print(f"{len(levels):>7} {times[0]:10.3f} {times[1]:8.3f} {times[1] / times[0]:9.1f}x")
    if args.chunks:
        Xb = torch.as_tensor((rng.random((1024, burn + W, 14)) < 0.05).astype(np.float64))
        print(f"{'chunk':>7} {'seconds':>8}  (1024 excerpts of {burn + W} steps, float64, one thread)")
        for chunk in (32, 128, 256, 1024):
            t0 = time.perf_counter()
            ev.predict_last(net, Xb, chunk=chunk)
            print(f"{chunk:>7} {time.perf_counter() - t0:8.2f}")


def suite(profile: str, workers: int) -> None:
    """Time the evaluation chapter's whole suite under ``profile``."""
    import pandas as pd

    t0 = time.perf_counter()
    points, jobs = ev.suite(profile)
    t1 = time.perf_counter()
    P = __import__("spikeflux.profiles", fromlist=["profile"]).profile(profile, "evaluation")
    _, _, timing = ev.run_suite(points, ev.N_CLASSES, jobs, workers=workers, options=ev.SUITE_OPTIONS,
                                n_perturb=P["n_perturb"], n_draws=P["n_draws"])
    t2 = time.perf_counter()
    per_method = pd.DataFrame(timing).groupby("method").seconds.sum().sort_values(ascending=False)
    print(per_method.round(1).to_string())
    print(f"points: {t1 - t0:.1f} s; suite ({len(jobs)} jobs, {workers} workers): {t2 - t1:.1f} s wall, "
          f"{per_method.sum():.1f} s in jobs")


if __name__ == "__main__":
    main()
