"""Benchmark of the transport engine on an ADL-sized network (``spec/transport.md``).

Network ``LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3)`` with random
weights scaled so that hidden neurons spike now and then; a random sparse binary input of
``T`` steps (3600 by default). Measured in one process, interleaved, min and median of
``--repeat`` runs:

- ``fwd+bwd``: one forward pass with autograd plus one backward of the logit
  :math:`U^L_c[t^*]`, :math:`t^* = T-1` (the gradient over the same window);
- ``explain 1 step``: ``explain(net, x, T-1, method="lrp-epsilon")`` over the full window
  (its recorded forward pass included), and the engine alone (:func:`transport` on a record);
- ``explain K steps``: the last ``K`` steps (180) at once, common window ``T-K+1``.

Targets: explain 1 step <= 2 x fwd+bwd; K steps <= 10 x 1 step. Prints a table; writes JSON
only with ``--out PATH``. Usage: ``python benchmarks/bench_transport.py [--T 3600] [--K 180]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from spikeflux.explain import explain
from spikeflux.snn import LIFNetwork
from spikeflux.transport import transport


def timed(fns: dict, repeat: int) -> dict:
    """Wall times of each ``fn()`` in seconds, ``{name: [t_1, ..., t_repeat]}``.

    One warm-up run each, then the functions are interleaved round by round, so that a
    change in machine load hits every row alike.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def setup(T: int, dtype, device, seed: int = 0):
    """The ADL-sized network and a sparse binary input ``(T, 14)``."""
    net = LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, weight_scale=1.5, seed=seed,
                     dtype=dtype, device=device)
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, 14, generator=gen) < 0.05).to(dtype=dtype, device=device)
    return net, x


def fwd_bwd(net, x, t: int, c: int):
    """One forward pass with autograd and the backward of :math:`U^L_c[t]`."""
    net.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    out = net(x[None]).output
    out[0, t, c].backward()
    return x.grad


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, default=3600)
    p.add_argument("--K", type=int, default=180)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    net, x = setup(args.T, dtype, args.device)
    t = args.T - 1
    with torch.no_grad():
        fwd = net(x[None], record=True)
    c = int(fwd.output[0, t].argmax())
    rate = float(fwd.record.spikes[1].mean())
    steps = list(range(args.T - args.K, args.T))
    sync = (lambda: torch.cuda.synchronize()) if x.is_cuda else (lambda: None)  # noqa: E731

    def run(fn):
        return lambda: (fn(), sync())

    times = timed({
        "fwd+bwd": run(lambda: fwd_bwd(net, x, t, c)),
        "forward (no grad, record)": run(lambda: net(x[None], record=True)),
        "explain 1 step": run(lambda: explain(net, x, t, method="lrp-epsilon")),
        "engine 1 step": run(lambda: transport(net, fwd.record, [t], [c], args.T)),
        f"explain {args.K} steps": run(lambda: explain(net, x, steps, method="lrp-epsilon")),
    }, args.repeat)
    rows = {k: (min(v), statistics.median(v)) for k, v in times.items()}
    one, many = "explain 1 step", f"explain {args.K} steps"
    ratios = {
        f"{one} / fwd+bwd": (rows[one][0] / rows["fwd+bwd"][0], rows[one][1] / rows["fwd+bwd"][1]),
        f"{many} / {one}": (rows[many][0] / rows[one][0], rows[many][1] / rows[one][1]),
    }
    print(f"ADL-sized net [14, 100, 11], T={args.T}, {args.dtype}, {args.device}, "
          f"hidden spike rate {rate:.4f}, threads {torch.get_num_threads()}, {args.repeat} runs")
    print(f"{'measurement':<36}{'min s':>10}{'median s':>10}")
    for k, (lo, med) in rows.items():
        print(f"{k:<36}{lo:>10.4f}{med:>10.4f}")
    for k, (lo, med) in ratios.items():
        print(f"{k:<36}{lo:>9.2f}x{med:>9.2f}x")
    result = {"T": args.T, "K": args.K, "dtype": args.dtype, "device": args.device, "hidden_spike_rate": rate,
              "seconds_min_median": rows, "ratios_min_median": ratios,
              "threads": torch.get_num_threads()}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
