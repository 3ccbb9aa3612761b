"""ESS for one explained step: all flip levels in one batched forward pass vs a loop over levels.

ADL-sized 2L network (14 -> 100 -> 11), an excerpt of burn-in 300 + window 1000 steps, a
random attribution map, 10 and 20 flip levels. The whole evaluation's wall time is printed by
the evaluation chapter itself (``make book``) and kept in ``data/derived/timings.csv``.

    python benchmarks/bench_evaluation.py [--levels 10] [--repeats 3]
"""

import argparse
import time

import numpy as np
import torch

from spikeflux import evaluation as ev
from spikeflux.snn import LIFNetwork


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="*", default=[10, 20])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    net = LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=2.0, seed=0).double()
    rng = np.random.default_rng(0)
    W, burn = 1000, 300
    X = (rng.random((1, burn + W, 14)) < 0.05).astype(np.float64)
    X[..., 0] = 1
    A = rng.normal(size=(1, 14, W))
    clean = ev.predict_last(net, torch.as_tensor(X)).numpy()
    print(f"{'levels':>7} {'batched s':>10} {'loop s':>8} {'speed-up':>9}")
    for n_levels in args.levels:
        levels = np.linspace(0, 1, n_levels + 1)

        def batched():
            ev.ess(net, X, A, clean, 11, W, n_levels=n_levels)

        def loop():
            for lv in levels:
                flipped = ev.deletion_inputs(X[0, -W:], A[0], np.array([lv]))
                ev.predict_last(net, torch.as_tensor(np.concatenate([X[:, :-W], flipped], 1)))

        times = []
        for fn in (batched, loop):
            fn()
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                fn()
            times.append((time.perf_counter() - t0) / args.repeats)
        print(f"{n_levels:>7} {times[0]:10.3f} {times[1]:8.3f} {times[1] / times[0]:9.1f}x")


if __name__ == "__main__":
    main()
