"""Time per explained step of every registered explanation method, and TSA against its loop.

An ADL-sized 2L model (``LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)``,
random weights scaled so that the hidden layer spikes sometimes) explains steps of a
random sparse binary input (bias channel always on) with windows of ``--window`` steps:

- ``single``: one ``explain`` call for one step;
- ``batched``: one ``explain`` call for ``--steps`` steps (spread over the second half of a
  ``2 * window`` sequence, so windows overlap as in the ADL evaluation), time / steps.

Then TSA (``tsa_map``, vectorised over time and explained steps) is timed against a
direct transcription of its formula as a loop over explained steps, window steps and
layers: the baseline to beat (target: at least 50x faster for 180 steps over 3600-step
windows). The loop can be timed on a subset (``--loop-steps``) and extrapolated.

Usage::

    python benchmarks/bench_explainers.py                       # full ADL-sized run (minutes)
    python benchmarks/bench_explainers.py --window 500 --steps 20 --ig-steps 8   # quick
    python benchmarks/bench_explainers.py --methods tsa-s tsa-ns sam --out tsa.csv
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import platform
import sys
import time

import torch

from spikeflux.explain import METHODS, explain
from spikeflux.explain.tsa import tsa_map
from spikeflux.snn import LIFNetwork

if __package__ in (None, ""):  # run as a script: the repository root holds the tests' reference package
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tests.references.tsa import tsa_loop  # noqa: E402  (the loop the tests check against)

ADL_2L = dict(sizes=[14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)


def model_and_input(window: int, seed: int, weight_scale: float, rate: float):
    """The ADL-sized 2L network and a random sparse binary input of ``2 * window`` steps."""
    cfg = dict(ADL_2L)
    net = LIFNetwork(cfg.pop("sizes"), **cfg, weight_scale=weight_scale, seed=seed)
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(2 * window, net.sizes[0], generator=g) < rate).float()
    x[:, 0] = 1.0  # the constant bias channel
    return net, x


def explained_steps(window: int, n: int) -> list[int]:
    """``n`` distinct steps spread over ``[window - 1, 2 * window - 1]``."""
    return torch.linspace(window - 1, 2 * window - 1, n).round().long().unique().tolist()


def time_call(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_methods(net, x, steps, window, names, modes, ig_steps, repeat):
    rows = []
    for name in names:
        if name not in METHODS:
            rows.append(dict(method=name, family="-", mode="-", n=0, seconds=float("nan"),
                             per_step=float("nan"), status="not registered"))
            continue
        options = {"n_steps": ig_steps} if name == "integrated-gradients" else {}
        for mode in modes:
            t = steps[-1] if mode == "single" else steps
            n = 1 if mode == "single" else len(steps)
            try:
                seconds = time_call(lambda: explain(net, x, t, method=name, window=window, **options), repeat)
                status = "ok"
            except Exception as err:  # a method being written may raise: report it and go on
                seconds, status = float("nan"), f"error: {type(err).__name__}: {err}"[:80]
            rows.append(dict(method=name, family=METHODS[name].family, mode=mode, n=n, seconds=seconds,
                             per_step=seconds / n, status=status))
            print(f"  {name:22s} {mode:8s} {seconds / n:10.4f} s/step  ({status})", flush=True)
    return rows


def bench_tsa_loop(net, x, steps, window, loop_steps, repeat):
    """Vectorised ``tsa_map`` (all classes, all steps) against the loop; returns rows and the check."""
    with torch.no_grad():
        rec = net(x[None, : max(steps) + 1], record=True).record
        spikes = [rec.spikes[l][0] for l in range(net.n_layers)]
        weights = [W.detach() for W in net.weights]
        P = rec.mem[-1][0, steps].softmax(-1)
        rows, errors = [], []
        for variant in ("s", "ns"):
            fast = time_call(lambda: tsa_map(spikes, weights, net.beta, P, variant, t=steps, window=window), repeat)
            A = tsa_map(spikes, weights, net.beta, P, variant, t=steps, window=window)
            subset = steps[:loop_steps]
            start = time.perf_counter()
            for k, t_star in enumerate(subset):
                ref = tsa_loop(spikes, weights, net.beta, P[k], variant, t_star, window)
                errors.append(float((A[k] - ref).abs().max() / ref.abs().max()))
            loop = (time.perf_counter() - start) * len(steps) / len(subset)
            rows.append(dict(variant=variant, n=len(steps), vectorised=fast, loop=loop,
                             extrapolated=len(subset) < len(steps), speedup=loop / fast))
    return rows, max(errors)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=3600, help="steps per explanation window (3600)")
    parser.add_argument("--steps", type=int, default=180, help="explained steps in the batched call (180)")
    parser.add_argument("--methods", nargs="*", default=None, help="methods to time (default: all registered)")
    parser.add_argument("--modes", nargs="*", default=["single", "batched"], choices=["single", "batched"])
    parser.add_argument("--ig-steps", type=int, default=50, help="integrated-gradients n_steps (50)")
    parser.add_argument("--loop-steps", type=int, default=None,
                        help="explained steps the TSA loop runs on (default all; fewer: extrapolated)")
    parser.add_argument("--skip-loop", action="store_true", help="do not time the TSA loop baseline")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per timing")
    parser.add_argument("--weight-scale", type=float, default=0.5, help="weight init scale (0.5)")
    parser.add_argument("--input-rate", type=float, default=0.02, help="input spike probability per step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--out", default=None, help="write the method timings (and TSA rows) to this CSV")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    net, x = model_and_input(args.window, args.seed, args.weight_scale, args.input_rate)
    steps = explained_steps(args.window, args.steps)
    with torch.no_grad():
        rec = net(x[None], record=True).record
    print(f"model {net.sizes}, beta={net.beta:.4f}, alpha={net.alpha:.4f}; input {tuple(x.shape)}; "
          f"window {args.window}; {len(steps)} explained steps; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"spike rates: input {float(rec.spikes[0][..., 1:].mean()):.3f}, hidden {float(rec.spikes[1].mean()):.3f}, "
          f"output {float(rec.spikes[2].mean()):.3f}")

    with torch.no_grad():  # what every explain() call pays first: the recorded forward pass
        fwd = time_call(lambda: net(x[None, : max(steps) + 1], record=True), args.repeat)
    print(f"recorded forward pass of the {max(steps) + 1} steps (inside every explain call): {fwd:.3f} s")

    names = args.methods if args.methods is not None else sorted(METHODS)
    missing = [m for m in ("lrp-0", "lrp-epsilon", "lrp-zplus", "lrp-alphabeta") if m not in METHODS]
    if missing and args.methods is None:
        print(f"not registered (yet): {', '.join(missing)}")
    print("\ntime per explained step")
    rows = bench_methods(net, x, steps, args.window, names, args.modes, args.ig_steps, args.repeat)
    print(f"\n{'method':22s} {'family':9s} " + " ".join(f"{m + ' s/step':>16s}" for m in args.modes) + "  status")
    for name in names:
        mine = {r["mode"]: r for r in rows if r["method"] == name}
        cells = " ".join(f"{mine[m]['per_step']:16.4g}" if m in mine else f"{'-':>16s}" for m in args.modes)
        family = next(iter(mine.values()))["family"] if mine else "-"
        status = "; ".join(sorted({r["status"] for r in mine.values()}))
        print(f"{name:22s} {family:9s} {cells}  {status}")

    tsa_rows = []
    if not args.skip_loop:
        print(f"\nTSA vectorised (tsa_map, all classes) vs loop over steps and layers, {len(steps)} steps, "
              f"window {args.window}")
        tsa_rows, err = bench_tsa_loop(net, x, steps, args.window, args.loop_steps or len(steps), args.repeat)
        print(f"{'variant':8s} {'vectorised s':>13s} {'loop s':>12s} {'speed-up':>10s}")
        for r in tsa_rows:
            print(f"{r['variant']:8s} {r['vectorised']:13.4f} {r['loop']:12.2f} {r['speedup']:9.0f}x"
                  f"{'  (loop extrapolated)' if r['extrapolated'] else ''}")
        print(f"max relative difference vectorised vs loop: {err:.2e}")

    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["kind", "method", "family", "mode", "n_explained", "window", "seconds",
                             "seconds_per_step", "status"])
            for r in rows:
                writer.writerow(["method", r["method"], r["family"], r["mode"], r["n"], args.window,
                                 r["seconds"], r["per_step"], r["status"]])
            for r in tsa_rows:
                for impl in ("vectorised", "loop"):
                    writer.writerow(["tsa-" + impl, "tsa-" + r["variant"], "tsa", "batched", r["n"], args.window,
                                     r[impl], r[impl] / r["n"],
                                     "extrapolated" if impl == "loop" and r["extrapolated"] else "ok"])
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
