"""Closing the gap between the ADL SNNs and gradient boosting: named training attempts, measured.

Every attempt changes one thing against the configuration the ADL models had before this
benchmark (``spikeflux.models.HYPERPARAMS[("adl", depth)]`` with an unweighted loss, the
``class_weights`` key of the entry ignored; the full profile's ``max_epochs`` and ``patience``), is trained on the full data (``tasks.adl_splits`` of every day) for each seed
given, and is scored by the chapter's metric (per-step balanced accuracy) on the validation
span (what an attempt is chosen by) and on the test spans (A+B pooled, A, B). One CSV row per
(attempt, depth, seed), written as soon as the run ends, with wall and CPU seconds.

    python benchmarks/adl_gap.py OUT.csv [--seeds 0 1] [--depths 2L] [--attempts baseline plateau ...]

Attempts (:data:`ATTEMPTS`):

- ``baseline``: that configuration (the loss unweighted);
- ``plateau``: learning rate halved after every epoch without a lower validation loss
  (``TrainConfig.lr_schedule = "plateau"``, ``lr_patience = 0``);
- ``patience8``: ``max_epochs`` 40 and ``patience`` 8 instead of 25 and 4;
- ``class-weights`` (the book's configuration since): per-step loss weights ``n / (K n_c)`` of the step's class ``c`` (``n_c``
  its training steps, ``K`` classes present), on training and validation loss alike;
- ``time-of-day``: six extra input channels, one per four hours of the clock, on while the
  step's time of day lies in its block (the encoding has no clock; the boosting baseline has none either);
- ``tau_syn=0.1``: synaptic time constant 100 ms (alpha = 0.990 per step, a memory of about
  100 s, the longer of the boosting features' history time constants) instead of 10 ms;
- ``hidden=200`` / ``hidden=[100,50]``: wider hidden layers (2L / 3L).
"""

from __future__ import annotations

import argparse
import csv
import platform
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from spikeflux import models, tasks
from spikeflux.profiles import profile
from spikeflux.snn import LIFNetwork
from spikeflux.training import (TrainConfig, balanced_accuracy, class_weights, confusion, predict_series, train,
                                with_step_weights)

#: name -> changes: ``hp`` (HYPERPARAMS overrides), ``train`` (TrainConfig fields), ``class_weights``,
#: ``clock`` (number of time-of-day channels)
ATTEMPTS: dict[str, dict] = {
    "baseline": {},
    "plateau": dict(train=dict(lr_schedule="plateau", lr_factor=0.5, lr_patience=0)),
    "class-weights": dict(class_weights=True),
    "tau_syn=0.1": dict(hp=dict(tau_syn=1e-1)),
    "time-of-day": dict(clock=6),
    "hidden=200": dict(hp={"2L": dict(hidden=[200]), "1L": None, "3L": dict(hidden=[100, 50])}),
    "patience8": dict(train=dict(max_epochs=40, patience=8)),
}
N_CLASSES = models.SIZES["adl"][1]
COLUMNS = ("attempt", "depth", "seed", "epochs", "best_epoch", "best_val_nll", "val_ba", "test_ba_AB", "test_ba_A",
           "test_ba_B", "wall_s", "cpu_s", "s_per_epoch", "final_lr")


def with_clock(s, n_blocks: int):
    """Subject ``s`` with ``n_blocks`` time-of-day channels appended: channel ``k`` is 1 while the step's hour
    lies in ``[24 k / n_blocks, 24 (k + 1) / n_blocks)`` (row ``i`` is ``s.start + i`` seconds)."""
    t0 = s.start - s.start.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = ((t0 // timedelta(seconds=1) + np.arange(len(s.y))) % 86_400) / 3600.0
    block = (hour * n_blocks / 24).astype(int)
    clock = (block[:, None] == np.arange(n_blocks)).astype(s.x.dtype)
    return replace(s, x=np.concatenate([s.x, clock], 1))


def ba(y, pred) -> float:
    return balanced_accuracy(confusion(y, pred, N_CLASSES))


def run(name: str, depth: str, seed: int, splits: dict, base: dict) -> dict | None:
    spec = ATTEMPTS[name]
    hp_over = spec.get("hp", {})
    if depth in hp_over or any(k in hp_over for k in models.DEPTHS):
        hp_over = hp_over.get(depth, {})
        if hp_over is None:
            return None  # the attempt does not apply to this depth (1L has no hidden layer)
    hp = {**models.HYPERPARAMS[("adl", depth)], **hp_over}
    tr, va = splits["train"], splits["val"]
    if spec.get("class_weights"):
        w = class_weights(tr[1], N_CLASSES)  # as models.fit does with HYPERPARAMS[...]["class_weights"]
        tr, va = with_step_weights(tr, w), with_step_weights(va, w)
    n_in = tr[0].shape[1]
    net = LIFNetwork([n_in, *hp["hidden"], N_CLASSES], dt=hp["dt"], tau_syn=hp["tau_syn"], tau_mem=hp["tau_mem"],
                     seed=seed, **{k: hp[k] for k in models.LIF_OPTIONS if k in hp})
    cfg = TrainConfig(lr=hp["lr"], batch_size=hp["batch_size"], seed=seed,
                      **{**dict(max_epochs=base["max_epochs"], patience=base["patience"]), **spec.get("train", {})})
    t0, c0 = time.perf_counter(), time.process_time()
    hist = train(net, tr, va, cfg, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    row = dict(attempt=name, depth=depth, seed=seed, epochs=len(hist.val_loss), best_epoch=hist.best_epoch + 1,
               best_val_nll=hist.best_val_loss, wall_s=wall, cpu_s=cpu, s_per_epoch=wall / len(hist.val_loss),
               final_lr=hist.lr[-1])
    row["val_ba"] = ba(va[1], predict_series(net, va[0]).argmax(1))
    preds = {k: predict_series(net, x).argmax(1) for k, (x, _) in splits["test_by_subject"].items()}
    row["test_ba_AB"] = ba(splits["test"][1], np.concatenate([preds["A"], preds["B"]]))
    for k, (_, y) in splits["test_by_subject"].items():
        row[f"test_ba_{k}"] = ba(y, preds[k])
    return row


def header(args) -> list[str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    return [f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}",
            f"# commit: {commit}{' (uncommitted changes)' if dirty else ''}",
            f"# machine: {platform.node()}, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
            f"1 thread (a shared machine: wall seconds are inflated by other processes, CPU seconds less so)",
            f"# baseline: HYPERPARAMS[('adl', depth)], full profile max_epochs/patience; max_days {args.max_days} "
            f"(None: every day)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="CSV file to write (appended to with --append)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--depths", nargs="+", default=["2L"], choices=models.DEPTHS)
    ap.add_argument("--attempts", nargs="+", default=list(ATTEMPTS), choices=list(ATTEMPTS))
    ap.add_argument("--append", action="store_true", help="add rows to an existing CSV")
    ap.add_argument("--max-days", type=float, default=None, help="smoke test: the first days only (default: all)")
    ap.add_argument("--max-epochs", type=int, default=None, help="smoke test: fewer epochs (default: full profile)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = dict(profile("full", "adl"), max_days=args.max_days)
    if args.max_epochs is not None:
        base["max_epochs"] = args.max_epochs
    subjects = tasks.adl_subjects(max_days=base["max_days"])
    plain = tasks.adl_splits(subjects)
    clocked = {}
    if args.append and not args.out.is_file():
        raise FileNotFoundError(f"--append: {args.out} does not exist")
    mode = "a" if args.append else "w"
    jobs = [(s, d, a) for s in args.seeds for d in args.depths for a in args.attempts]  # every attempt on a seed first
    with open(args.out, mode, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if not args.append:
            f.write("\n".join(header(args)) + "\n")
            writer.writeheader()
        for seed, depth, name in tqdm(jobs, desc="attempts"):
            n_clock = ATTEMPTS[name].get("clock")
            if n_clock and n_clock not in clocked:
                clocked[n_clock] = tasks.adl_splits({k: with_clock(s, n_clock) for k, s in subjects.items()})
            row = run(name, depth, seed, clocked[n_clock] if n_clock else plain, base)
            if row is None:
                continue
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
            f.flush()
            tqdm.write(f"{name:14s} {depth} seed {seed}: val {row['val_ba']:.3f} test {row['test_ba_AB']:.3f} "
                       f"(A {row['test_ba_A']:.3f}, B {row['test_ba_B']:.3f}), {row['epochs']} epochs, "
                       f"{row['wall_s']:.0f} s wall, {row['cpu_s']:.0f} s CPU")


if __name__ == "__main__":
    main()
