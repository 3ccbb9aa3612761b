"""Execute the book's notebooks headless with papermill, in dependency order.

The jupytext MyST files in ``notebooks/`` are the source of truth. For each one this
runner writes a plain ``.ipynb``, executes it with papermill (parameters ``profile``,
``seed``, ``device``) and writes the executed notebook to ``book/notebooks/``, where
Jupyter Book reads it (the book never executes anything itself). A failing cell stops
the run with an error that names the notebook; the partly executed notebook is left
in ``book/notebooks/`` for inspection. ``<derived>/timings.csv`` is rewritten after each
notebook with the wall times of this run so far (so a late chapter, the reproducibility
appendix, can read those of the chapters before it); a summary is printed at the end.

Usage::

    python -m spikeflux.pipeline --profile quick            # every notebook
    python -m spikeflux.pipeline --profile full --only synthetic
    python -m spikeflux.pipeline --profile full --only evaluation --no-deps   # reuse trained models
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .config import derived_dir, project_root


@dataclass(frozen=True)
class Notebook:
    """A chapter: its source name in ``notebooks/`` and the chapters it reads results from."""

    name: str
    needs: tuple[str, ...] = ()


#: Every chapter, in an order that respects ``needs``.
NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("synthetic"),
    Notebook("adl"),
    Notebook("theory"),
    Notebook("conservation", needs=("synthetic", "adl")),
    Notebook("explanations", needs=("synthetic", "adl")),
    Notebook("evaluation", needs=("synthetic", "adl")),
    Notebook("anomaly"),
    Notebook("beyond_lif", needs=("synthetic",)),
    Notebook("tuning", needs=("adl",)),  # it reads the ADL training times
    Notebook("reproducibility"),  # last: it reports the versions, digests and timings of this run
)


class NotebookFailed(RuntimeError):
    """A notebook raised while executing; the message names it."""


def ordered(names: list[str] | None = None, deps: bool = True) -> list[Notebook]:
    """The notebooks to run (all by default, or ``names`` plus, with ``deps``, what they need), in order."""
    known = {nb.name: nb for nb in NOTEBOOKS}
    if not names:
        return list(NOTEBOOKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown notebook(s) {unknown}; known: {', '.join(known)}")
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for dep in known[name].needs if deps else ():
                add(dep)

    for n in names:
        add(n)
    return [nb for nb in NOTEBOOKS if nb.name in wanted]


def execute(nb: Notebook, parameters: dict, root: Path | None = None, out_dir: Path | None = None) -> float:
    """Execute one notebook into ``out_dir`` (default ``book/notebooks``); returns its wall time in seconds."""
    import jupytext
    import papermill as pm

    root = root or project_root()
    src = root / "notebooks" / f"{nb.name}.md"
    if not src.is_file():
        raise FileNotFoundError(f"notebook source {src} is missing")
    out_dir = Path(out_dir or root / "book" / "notebooks")
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = out_dir / f".{nb.name}.input.ipynb"
    jupytext.write(jupytext.read(src), plain)
    out = out_dir / f"{nb.name}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(plain), str(out), parameters=parameters, kernel_name="python3",
                            cwd=str(root / "notebooks"), progress_bar=False)
    except pm.PapermillExecutionError as err:
        raise NotebookFailed(f"notebook {src.relative_to(root)} failed in cell {err.exec_count}: "
                             f"{err.ename}: {err.evalue} (executed copy: {out})") from None
    finally:
        plain.unlink(missing_ok=True)
    _hide_default_parameters(out)
    return time.perf_counter() - t0


def _hide_default_parameters(path: Path) -> None:
    """Tag the notebook's own ``parameters`` cell ``remove-cell``: the book shows papermill's
    injected cell, which holds the values this run actually used."""
    import json

    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def run(profile: str = "quick", seed: int = 0, device: str = "cpu", only: list[str] | None = None,
        jobs: int = 1, deps: bool = True, out_dir: Path | None = None) -> list[tuple[str, float]]:
    """Execute the notebooks, ``jobs`` at a time in dependency order; print and save a timing summary.

    With ``jobs > 1`` notebooks that do not need each other run in parallel processes, each
    kernel limited to one math thread (``OMP_NUM_THREADS=1``): on a small CPU, two
    single-threaded kernels beat one kernel with two threads on these small tensors.
    ``reproducibility`` always runs alone, last. ``deps=False`` runs just ``only``, reading
    the results its notebooks need from an earlier run. Executed notebooks go to ``out_dir``
    (default ``book/notebooks``).
    """
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    params = dict(profile=profile, seed=seed, device=device)
    todo = ordered(only, deps)
    timings: list[tuple[str, float]] = []
    write_timings(timings, profile)  # a fresh table: only this run's notebooks are listed
    if jobs > 1:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
    names = {nb.name for nb in todo}

    def finished(nb: Notebook, seconds: float) -> None:
        timings.append((nb.name, seconds))
        write_timings(timings, profile)
        print(f"[pipeline] {nb.name} done in {seconds:.1f} s", flush=True)

    if jobs <= 1:  # in this process, one after the other
        for nb in todo:
            print(f"[pipeline] executing {nb.name} (profile={profile}) ...", flush=True)
            finished(nb, execute(nb, params, out_dir=out_dir))
        todo = []
    done: set[str] = set()
    running: dict = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        while todo or running:
            for nb in list(todo):
                needs = set(nb.needs) & names
                if nb.name == "reproducibility":
                    needs = names - {nb.name}
                if len(running) < jobs and needs <= done and (nb.name != "reproducibility" or not running):
                    print(f"[pipeline] executing {nb.name} (profile={profile}) ...", flush=True)
                    running[pool.submit(execute, nb, params, None, out_dir)] = nb
                    todo.remove(nb)
            completed, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in completed:
                nb = running.pop(fut)
                done.add(nb.name)
                finished(nb, fut.result())  # result() re-raises NotebookFailed naming the notebook
    total = sum(s for _, s in timings)
    print("\n[pipeline] timing summary (profile={}, jobs={}):".format(profile, jobs))
    for name, s in timings:
        print(f"  {name:<24s} {s:8.1f} s")
    print(f"  {'sum of notebooks':<24s} {total:8.1f} s")
    return timings


def write_timings(timings: list[tuple[str, float]], profile: str) -> Path:
    """Write ``<derived>/timings.csv`` (notebook, profile, seconds) for the notebooks run so far."""
    path = derived_dir() / "timings.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["notebook", "profile", "seconds"])
        w.writerows((n, profile, f"{s:.2f}") for n, s in timings)
    tmp.replace(path)  # readers never see a half-written table
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=["quick", "full"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", nargs="*", default=None, help="run these notebooks (and what they need)")
    ap.add_argument("--no-deps", action="store_true",
                    help="with --only: do not re-run the notebooks they need (use the saved results)")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (each single-threaded)")
    args = ap.parse_args(argv)
    try:
        t0 = time.perf_counter()
        run(args.profile, args.seed, args.device, args.only, jobs=args.jobs, deps=not args.no_deps)
        print(f"[pipeline] wall time {time.perf_counter() - t0:.1f} s", flush=True)
    except (NotebookFailed, FileNotFoundError, ValueError) as err:
        print(f"[pipeline] ERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
