"""A batch of sequences in one ``explain`` call against a loop of single-sequence calls.

The evaluation explains hundreds of *different* sequences (excerpts of a test series and
perturbed copies of them). ``explain(net, X, t)`` with ``X`` of shape ``(B, T, n_in)`` records
one forward pass for the whole batch and explains every row in one method call; the
baseline is ``B`` calls ``explain(net, X[k], t[k])``, each paying its own Python-loop
forward pass.

Setting: the ADL-sized 2L model (``LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2,
tau_mem=1e-3)``, random weights scaled so that the hidden layer spikes sometimes), ``B``
random sparse binary sequences (bias channel always on) of ``T`` steps, one explained step
per row in the last ``T - window + 1`` steps, windows of ``--window`` steps. The loop is
timed on ``--loop-rows`` rows and extrapolated to ``B``; its rows are compared with the
batched rows (max difference relative to the row's largest value).

Usage::

    python benchmarks/bench_batched.py                              # B=200, T=1200, window 1000
    python benchmarks/bench_batched.py --threads 1 0                # 1 thread, then torch's default
    python benchmarks/bench_batched.py --batch 40 --steps 300 --window 200 --loop-rows 5   # quick
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork

ADL_2L = dict(sizes=[14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)
METHODS = ("lrp-epsilon", "tsa-ns", "sam", "integrated-gradients", "saliency")


def model_and_batch(B: int, T: int, window: int, seed: int, weight_scale: float, rate: float, dtype):
    """The ADL-sized 2L network, ``B`` random sequences ``(B, T, 14)`` and one step per row."""
    cfg = dict(ADL_2L)
    net = LIFNetwork(cfg.pop("sizes"), **cfg, weight_scale=weight_scale, seed=seed, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    X = (torch.rand(B, T, net.sizes[0], generator=g) < rate).to(dtype)
    X[..., 0] = 1.0  # the constant bias channel
    t = torch.randint(window - 1, T, (B,), generator=g)
    return net, X, t


def options(name: str, ig_steps: int) -> dict:
    return {"n_steps": ig_steps} if name == "integrated-gradients" else {}


def bench(net, X, t, window, names, loop_rows, ig_steps):
    """Seconds for the batched call and the (extrapolated) loop per method, and their agreement."""
    B, rows = X.shape[0], []
    for name in names:
        opts = options(name, ig_steps)
        explain(net, X[:2], t[:2], method=name, window=window, **opts)  # warm-up (lazy imports, allocator)
        start = time.perf_counter()
        batched = explain(net, X, t, method=name, window=window, **opts)
        seconds = time.perf_counter() - start
        n = min(loop_rows, B)
        start, diff = time.perf_counter(), 0.0
        for k in range(n):
            one = explain(net, X[k], int(t[k]), method=name, window=window, target=int(batched.target[k]), **opts)
            scale = float(one.attribution.abs().max()) or 1.0
            diff = max(diff, float((batched.attribution[k] - one.attribution).abs().max()) / scale)
        loop = (time.perf_counter() - start) * B / n
        rows.append(dict(method=name, batched=seconds, loop=loop, speedup=loop / seconds, diff=diff,
                         extrapolated=n < B))
        print(f"  {name:22s} batched {seconds:8.2f} s   loop {loop:9.1f} s   x{loop / seconds:6.1f}   "
              f"max rel diff {diff:.1e}", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=200, help="sequences B (200)")
    parser.add_argument("--steps", type=int, default=1200, help="steps T per sequence (1200)")
    parser.add_argument("--window", type=int, default=1000, help="steps per explanation window (1000)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--ig-steps", type=int, default=16, help="integrated-gradients n_steps (16)")
    parser.add_argument("--loop-rows", type=int, default=10, help="rows the loop runs on, extrapolated to B (10)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 0],
                        help="torch.set_num_threads for each run; 0 = torch's default (1 0)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--weight-scale", type=float, default=0.5, help="weight init scale (0.5)")
    parser.add_argument("--input-rate", type=float, default=0.02, help="input spike probability per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    default_threads = torch.get_num_threads()
    net, X, t = model_and_batch(args.batch, args.steps, args.window, args.seed, args.weight_scale,
                                args.input_rate, getattr(torch, args.dtype))
    with torch.no_grad():
        rec = net(X, record=True).record
    print(f"model {net.sizes}, beta={net.beta:.4f}, alpha={net.alpha:.4f}, {args.dtype}; X {tuple(X.shape)}; "
          f"window {args.window}; torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"spike rates: input {float(rec.spikes[0][..., 1:].mean()):.3f}, hidden {float(rec.spikes[1].mean()):.3f}, "
          f"output {float(rec.spikes[2].mean()):.3f}")
    del rec

    tables = {}
    for threads in args.threads:
        torch.set_num_threads(threads or default_threads)
        print(f"\n{torch.get_num_threads()} thread(s)")
        tables[torch.get_num_threads()] = bench(net, X, t, args.window, args.methods, args.loop_rows,
                                                args.ig_steps)

    loop = f"{args.batch} single calls"
    if args.loop_rows < args.batch:
        loop += f", extrapolated from {args.loop_rows}"
    print(f"\nB={args.batch} sequences of {args.steps} steps, window {args.window}: seconds per call (loop: {loop})")
    print(f"{'method':22s} {'threads':>7s} {'batched s':>10s} {'loop s':>10s} {'speed-up':>9s} {'max rel diff':>13s}")
    for threads, rows in tables.items():
        for r in rows:
            print(f"{r['method']:22s} {threads:7d} {r['batched']:10.2f} {r['loop']:10.1f} {r['speedup']:8.1f}x "
                  f"{r['diff']:13.1e}")


if __name__ == "__main__":
    main()
