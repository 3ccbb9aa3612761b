"""Training throughput of the ADL-sized 2L network (14 -> 100 -> 11, batch 256, 900 steps).

Reports window steps x batch per second for the forward pass and for forward + backward,
and checks that the cost is linear in the window length (an O(T^2) backward, e.g. from
indexing a tensor that requires grad once per step, would show as a growing per-step cost).

    python benchmarks/bench_training.py [--repeats 3] [--batch 256] [--steps 900]
"""

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from spikeflux.snn import LIFNetwork


def timed(fn, repeats):
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=900)
    args = ap.parse_args()
    torch.manual_seed(0)
    net = LIFNetwork([14, 100, 11], dt=1e-3, tau_syn=1e-2, tau_mem=1e-3, seed=0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'T':>6} {'fwd s':>8} {'fwd+bwd s':>10} {'steps*batch/s (train)':>22} {'us/step (train)':>16}")
    for T in (args.steps // 2, args.steps, 2 * args.steps):
        x = (torch.rand(args.batch, T, 14) < 0.1).float()
        y = torch.randint(0, 11, (args.batch, T))

        def fwd():
            with torch.no_grad():
                net(x)

        def train_step():
            out = net(x).output
            loss = F.nll_loss(F.log_softmax(out, -1).flatten(0, 1), y.flatten())
            net.zero_grad()
            loss.backward()

        tf, tt = timed(fwd, args.repeats), timed(train_step, args.repeats)
        print(f"{T:>6} {tf:8.3f} {tt:10.3f} {args.batch * T / tt:22.0f} {1e6 * tt / T:16.1f}")


if __name__ == "__main__":
    main()
