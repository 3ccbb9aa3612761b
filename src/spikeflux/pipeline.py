"""Execute the book's notebooks headless with papermill, in dependency order.

The jupytext MyST files in ``notebooks/`` are the source of truth. For each one this
runner writes a plain ``.ipynb``, executes it with papermill (parameters ``profile``,
``seed``, ``device``) and writes the executed notebook to ``book/notebooks/``, where
Jupyter Book reads it (the book never executes anything itself). A failing cell stops
the run with an error that names the notebook; the partly executed notebook is left
in ``book/notebooks/`` for inspection. ``<derived>/timings.csv`` is rewritten after each
notebook with the wall times of this run so far (so a late chapter, the reproducibility
appendix, can read those of the chapters before it); a summary is printed at the end.

A notebook whose code did not change is not executed again (:func:`reuse`, on
jupyter-cache, cache in ``<derived>/notebook-cache``): the key covers its code cells, the
parameters, the package modules it imports, the library versions and the cache keys of the
notebooks it needs; a prose edit merges the new text with the cached outputs. ``--no-cache``
executes everything; ``make clean`` removes the cache. The summary says which notebooks ran
and which were reused.

Usage::

    python -m spikeflux.pipeline --profile quick            # every notebook
    python -m spikeflux.pipeline --profile full --only synthetic
    python -m spikeflux.pipeline --profile full --only evaluation --no-deps   # reuse trained models
"""

from __future__ import annotations

import argparse
import csv
import os
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


#: Every chapter, in an order that respects ``needs``. With ``--jobs 2`` a free slot takes the
#: first chapter in this order whose needs are done, so the order is also the schedule: the
#: longest chain (``adl`` then ``evaluation``, about 50 of the full book's minutes) starts each of
#: its links first, and the chapters that need neither run beside ``adl``.
NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("adl"),
    Notebook("synthetic"),
    Notebook("evaluation", needs=("synthetic", "adl")),
    Notebook("theory"),
    Notebook("conservation", needs=("synthetic", "adl")),
    Notebook("explanations", needs=("synthetic", "adl")),
    Notebook("anomaly"),
    Notebook("beyond_lif"),
    Notebook("shapley", needs=("synthetic",)),
    Notebook("cue"),
    Notebook("uea"),
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


# ---------------------------------------------------------------------------------------------
# The execution cache: a notebook whose code did not change is not executed again.
#
# jupyter-cache (the library behind Jupyter Book's own cache) stores each executed notebook
# under a hash of its code cells; a prose edit merges the new Markdown with the cached outputs
# (``merge_match_into_notebook``). The hash here covers the code cells (papermill's injected
# ``parameters`` cell included, so the profile, seed and device) and one notebook-metadata
# entry, :data:`INPUTS_KEY`: a SHA-256 over the other inputs (:func:`notebook_inputs`): the
# package modules the notebook imports (followed transitively), the versions of the numerical
# libraries, and the current bytes of the files the notebooks it ``needs`` wrote.
# ---------------------------------------------------------------------------------------------

#: Folder of the execution cache, under the derived-data folder (``make clean`` removes it).
CACHE_DIRNAME = "notebook-cache"
#: Notebook-metadata key holding the digest of a notebook's non-code inputs.
INPUTS_KEY = "spikeflux_inputs"
#: Environment variables that change what a notebook outputs (figures as images or as text,
#: math threads: bit-level results), part of every notebook's inputs.
ENVIRONMENT = ("MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Libraries whose version is part of every notebook's inputs.
VERSIONED = ("torch", "numpy", "scipy", "pandas", "matplotlib", "captum", "snntorch")
#: Files of the derived folder that are no notebook's output (the pipeline's own bookkeeping).
NOT_OUTPUTS = ("timings.csv",)
#: Notebooks that report on the whole derived folder (digests of every file): the bytes of
#: every file in it are among their inputs, except those they write themselves (listed here).
REPORTS_ON_DERIVED = {"reproducibility": ("manifest.csv", "cost_timings.csv")}


def cache_dir() -> Path:
    """``<derived>/notebook-cache``: the executed notebooks jupyter-cache keeps."""
    return derived_dir() / CACHE_DIRNAME


def open_cache(path: Path | None = None):
    """The jupyter-cache of executed notebooks at ``path`` (default :func:`cache_dir`).

    Its hash covers the code cells' sources and the notebook metadata :data:`INPUTS_KEY`
    only: cell tags (``hide-input``) and papermill's timing metadata change no result.
    """
    from jupyter_cache.cache.main import JupyterCacheBase

    class BookCache(JupyterCacheBase):
        def create_hashed_notebook(self, nb, nb_metadata=(INPUTS_KEY,), cell_metadata=()):
            return super().create_hashed_notebook(nb, nb_metadata=(INPUTS_KEY,), cell_metadata=())

    return BookCache(str(path or cache_dir()))


def _spikeflux_imports(source: str, module: str = "__main__", is_package: bool = False) -> set[str]:
    """Names of the ``spikeflux`` modules (and possible submodules) ``source`` imports anywhere."""
    import ast

    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    found: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the importing module's package
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(pkg[:len(pkg) - node.level + 1] + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "spikeflux" or m.startswith("spikeflux.")}


def _module_file(name: str) -> Path | None:
    base = Path(__file__).resolve().parent.parent.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None  # an attribute (``from spikeflux.tasks import synthetic``), not a module


def package_files(code: str) -> list[Path]:
    """The package's source files that ``code`` imports, directly or through other modules."""
    seen: dict[str, Path | None] = {}
    todo = sorted(_spikeflux_imports(code))
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            name = ".".join(parts[:i])
            if name in seen:
                continue
            seen[name] = path = _module_file(name)
            if path is not None:
                todo.extend(_spikeflux_imports(path.read_text(), name, path.name == "__init__.py"))
    return sorted({p for p in seen.values() if p is not None})


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def source_notebook(nb: Notebook, parameters: dict, root: Path | None = None):
    """The notebook as papermill executes it: the jupytext source with the injected parameters cell."""
    import tempfile

    import jupytext
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    root = root or project_root()
    src = root / "notebooks" / f"{nb.name}.md"
    if not src.is_file():
        raise FileNotFoundError(f"notebook source {src} is missing")
    with tempfile.TemporaryDirectory() as tmp:  # papermill's own loader, as execute() has it read
        plain = Path(tmp) / f"{nb.name}.ipynb"
        jupytext.write(jupytext.read(src), plain)
        notebook = load_notebook_node(str(plain))
    notebook = parameterize_notebook(notebook, parameters, kernel_name="python3", language="python")
    for i, cell in enumerate(notebook.cells):  # nbformat draws random cell ids: fixed ones, same bytes every time
        cell.id = f"{nb.name}-{i}"
    return notebook


def notebook_inputs(code: str, parameters: dict, upstream: dict[str, str | None] | None) -> dict:
    """What a notebook's results depend on besides its code cells, as a JSON-able dict.

    ``upstream`` maps each notebook it needs to that notebook's cache key (``None`` when not
    known: never executed under the cache, or its outputs changed since). An upstream key
    stands for its outputs: the chapters are deterministic for a seed (``test_reproducible``),
    and an upstream notebook is reused only while the files it wrote are byte for byte those
    its cached execution wrote (:func:`outputs_intact`).
    """
    pkg = Path(__file__).resolve().parent.parent
    return {
        "parameters": dict(sorted(parameters.items())),
        "package": {p.relative_to(pkg).as_posix(): _sha256(p) for p in package_files(code)},
        "versions": _versions(),
        "environment": {k: os.environ.get(k) for k in ENVIRONMENT},
        "upstream": dict(sorted((upstream or {}).items())),
    }


def _digest(inputs: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _uri(name: str, parameters: dict) -> str:
    return f"{name}|" + "|".join(f"{k}={parameters[k]}" for k in sorted(parameters))


def _latest_record(cache, name: str, parameters: dict):
    from jupyter_cache.cache.db import NbCacheRecord

    records = NbCacheRecord.records_from_uri(_uri(name, parameters), cache.db)
    return max(records, key=lambda r: r.created) if records else None


def _written(since_ns: int, until_ns: int) -> dict[str, str]:
    """Files of the derived folder last written in ``[since_ns, until_ns]`` with their SHA-256
    (a notebook's outputs; the cache and :data:`NOT_OUTPUTS` excluded)."""
    derived = derived_dir()
    out = {}
    for p in sorted(derived.rglob("*")):
        rel = p.relative_to(derived)
        if p.is_file() and rel.parts[0] != CACHE_DIRNAME and rel.name not in NOT_OUTPUTS \
                and since_ns <= p.stat().st_mtime_ns <= until_ns:
            out[rel.as_posix()] = _sha256(p)
    return out


def outputs_intact(outputs: dict[str, str]) -> bool:
    """Whether every file a cached execution wrote is still there with the same bytes."""
    derived = derived_dir()
    return all((derived / f).is_file() and _sha256(derived / f) == h for f, h in outputs.items())


def reuse(cache, nb: Notebook, parameters: dict, upstream: dict, root: Path | None = None,
          out_dir: Path | None = None) -> tuple[dict | None, str, str]:
    """Look ``nb`` up in the cache; on a hit write the merged notebook (current prose, cached
    outputs) to ``out_dir`` (default ``book/notebooks``).

    Returns ``(record data or None, key, digest)``: the key is the cache hash of the notebook
    (code cells and the ``digest`` of :func:`notebook_inputs`), ``""`` when an upstream key is unknown (the
    notebook must run and is not cached). A hit also needs :func:`outputs_intact`: a file the
    cached execution wrote that is gone or was overwritten (by a run with another seed, say)
    is written again by executing the notebook.
    """
    import nbformat

    root = root or project_root()
    source = source_notebook(nb, parameters, root)
    code = "\n".join(c.source for c in source.cells if c.cell_type == "code")
    inputs = notebook_inputs(code, parameters, upstream)
    if nb.name in REPORTS_ON_DERIVED:
        own = set(REPORTS_ON_DERIVED[nb.name])
        inputs["derived"] = {f: h for f, h in _written(0, 2 ** 63).items() if Path(f).name not in own}
    if any(v is None for v in inputs["upstream"].values()):
        return None, "", ""
    source.metadata[INPUTS_KEY] = digest = _digest(inputs)
    key = cache.create_hashed_notebook(source)[1]
    try:
        pk, merged = cache.merge_match_into_notebook(source, cell_meta=())
    except KeyError:
        return None, key, digest
    data = dict(cache.get_cache_record(pk).data)
    if not outputs_intact(data.get("outputs", {})):
        return None, key, digest
    out_dir = Path(out_dir or root / "book" / "notebooks")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{nb.name}.ipynb"
    merged.metadata.pop(INPUTS_KEY, None)
    tmp = out.with_name(f".{nb.name}.merged.ipynb")
    nbformat.write(merged, str(tmp))
    _hide_default_parameters(tmp)
    if out.is_file() and out.read_bytes() == tmp.read_bytes():
        tmp.unlink()  # unchanged: the book's incremental build (Sphinx) need not read it again
    else:
        tmp.replace(out)
    return data, key, digest


def store(cache, nb: Notebook, parameters: dict, key: str, digest: str, seconds: float, window: tuple[int, int],
          out_dir: Path | None = None, root: Path | None = None) -> dict[str, str]:
    """Cache the executed notebook of ``nb`` (when it was written and ``key`` is set) with the
    files it wrote during ``window`` (ns); returns those files and their SHA-256."""
    import nbformat
    from jupyter_cache.cache.main import CacheBundleIn

    outputs = _written(*window)
    out = Path(out_dir or (root or project_root()) / "book" / "notebooks") / f"{nb.name}.ipynb"
    if key and out.is_file():
        executed = nbformat.read(str(out), nbformat.NO_CONVERT)
        executed.metadata[INPUTS_KEY] = digest
        if cache.create_hashed_notebook(executed)[1] != key:  # the notebook changed while it ran
            return outputs
        cache.cache_notebook_bundle(
            CacheBundleIn(executed, _uri(nb.name, parameters),
                          data=dict(notebook=nb.name, seconds=round(seconds, 2), outputs=outputs)),
            check_validity=True, overwrite=True)
    return outputs


def run(profile: str = "quick", seed: int = 0, device: str = "cpu", only: list[str] | None = None,
        jobs: int = 1, deps: bool = True, out_dir: Path | None = None,
        cache: bool = True) -> list[tuple[str, float]]:
    """Execute the notebooks, ``jobs`` at a time in dependency order; print and save a timing summary.

    With ``jobs > 1`` notebooks that do not need each other run in parallel processes, each
    kernel limited to one math thread (``OMP_NUM_THREADS=1``): on a small CPU, two
    single-threaded kernels beat one kernel with two threads on these small tensors.
    ``reproducibility`` always runs alone, last. ``deps=False`` runs just ``only``, reading
    the results its notebooks need from an earlier run. Executed notebooks go to ``out_dir``
    (default ``book/notebooks``).

    With ``cache`` (the default) a notebook whose code cells, imported package code,
    parameters and upstream outputs match a cached execution is not executed: its cached
    outputs are merged with the current prose (:func:`reuse`). The summary and
    ``timings.csv`` say which notebooks ran (``executed``) and which were ``reused`` (with the
    wall time of the execution that produced their outputs).
    """
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    params = dict(profile=profile, seed=seed, device=device)
    todo = ordered(only, deps)
    timings: list[tuple[str, float, str, float]] = []
    t_run = time.perf_counter()
    write_timings(timings, profile)  # a fresh table: only this run's notebooks are listed
    if jobs > 1:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
    names = {nb.name for nb in todo}
    store_ = open_cache() if cache else None
    keys: dict[str, str | None] = {}  # cache key of each notebook of this run (None: unknown)
    pending: dict[str, tuple] = {}  # name -> (key, digest, start ns) of notebooks executing
    executed: dict[str, tuple] = {}  # name -> (key, digest, seconds, window) of notebooks executed

    def upstream(nb: Notebook) -> dict:
        needs = names - {nb.name} if nb.name == "reproducibility" else set(nb.needs)
        for dep in needs - set(keys):  # not in this run (--no-deps): its latest cached execution
            rec = _latest_record(store_, dep, params)
            keys[dep] = rec.hashkey if rec is not None and outputs_intact(rec.data.get("outputs", {})) else None
        return {dep: keys[dep] for dep in needs}

    def start(nb: Notebook) -> bool:
        """Reuse ``nb`` from the cache (True) or mark it to be executed (False)."""
        data, key, digest = reuse(store_, nb, params, upstream(nb), out_dir=out_dir) if store_ else (None, "", "")
        keys[nb.name] = key or None
        if data is not None:
            timings.append((nb.name, float(data.get("seconds", 0.0)), "reused", time.perf_counter() - t_run))
            write_timings(timings, profile)
            print(f"[pipeline] {nb.name} reused from the cache (code and inputs unchanged)", flush=True)
            return True
        pending[nb.name] = (key, digest, time.time_ns())
        print(f"[pipeline] executing {nb.name} (profile={profile}) ...", flush=True)
        return False

    def finished(nb: Notebook, seconds: float) -> None:
        key, digest, since = pending.pop(nb.name)
        executed[nb.name] = (key, digest, seconds, (since, time.time_ns()))
        if store_ is not None:
            store(store_, nb, params, key, digest, seconds, executed[nb.name][3], out_dir)
            if key:  # the book gets the same merged notebook a later reuse writes: a rebuild rewrites nothing
                reuse(store_, nb, params, upstream(nb), out_dir=out_dir)
        timings.append((nb.name, seconds, "executed", time.perf_counter() - t_run))
        write_timings(timings, profile)
        print(f"[pipeline] {nb.name} done in {seconds:.1f} s", flush=True)

    if jobs <= 1:  # in this process, one after the other
        for nb in todo:
            if not start(nb):
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
                    todo.remove(nb)
                    if start(nb):
                        done.add(nb.name)
                    else:
                        running[pool.submit(execute, nb, params, None, out_dir)] = nb
            if not running:
                continue
            completed, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in completed:
                nb = running.pop(fut)
                finished(nb, fut.result())  # result() re-raises NotebookFailed naming the notebook
                done.add(nb.name)
    if store_ is not None and jobs > 1:
        # Notebooks that ran side by side saw each other's files appear in their time windows:
        # record, now that all are done, the files each one holds at their final bytes.
        for name, (key, digest, seconds, window) in executed.items():
            store(store_, next(nb for nb in NOTEBOOKS if nb.name == name), params, key, digest, seconds, window,
                  out_dir)
    total = sum(s for _, s, how, _ in timings if how == "executed")
    print("\n[pipeline] timing summary (profile={}, jobs={}):".format(profile, jobs))
    for name, s, how, _ in timings:
        print(f"  {name:<24s} {s:8.1f} s  {how}")
    n_reused = sum(how == "reused" for _, _, how, _ in timings)
    print(f"  {'executed now':<24s} {total:8.1f} s  ({len(timings) - n_reused} executed, {n_reused} reused)")
    return [(name, s) for name, s, *_ in timings]


def write_timings(timings: list[tuple], profile: str) -> Path:
    """Write ``<derived>/timings.csv`` (notebook, profile, seconds, status, elapsed) for the notebooks run so far.

    ``status`` is ``executed`` or ``reused`` (from the cache; ``seconds`` is then the wall
    time of the execution that produced the cached outputs); ``elapsed`` the wall time from the
    start of the run to the end of that notebook (notebooks run side by side, so the last
    ``elapsed``, not the sum of ``seconds``, is the run's duration).
    """
    path = derived_dir() / "timings.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["notebook", "profile", "seconds", "status", "elapsed"])
        w.writerows((t[0], profile, f"{t[1]:.2f}", t[2] if len(t) > 2 else "executed",
                     f"{t[3]:.2f}" if len(t) > 3 else "") for t in timings)
    tmp.replace(path)  # readers never see a half-written table
    return path


def main(argv: list[str] | None = None) -> int:
    names = ", ".join(nb.name for nb in NOTEBOOKS)
    ap = argparse.ArgumentParser(prog="python -m spikeflux.pipeline", description=__doc__.splitlines()[0],
                                 epilog=f"notebooks, in order: {names}")
    ap.add_argument("--profile", default="quick", choices=["quick", "full"],
                    help="run profile (spikeflux.profiles): quick = small sizes for CI, full = the book's numbers "
                         "(default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="seed passed to every notebook (default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="torch device passed to every notebook, e.g. cpu or cuda "
                                                    "(default: %(default)s)")
    ap.add_argument("--only", nargs="*", default=None, metavar="NAME",
                    help=f"run these notebooks (and what they need); one of: {names}")
    ap.add_argument("--no-deps", action="store_true",
                    help="with --only: do not re-run the notebooks they need (use the saved results)")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (each single-threaded)")
    ap.add_argument("--no-cache", action="store_true",
                    help="execute every notebook, even those whose code and inputs match a cached execution")
    args = ap.parse_args(argv)
    try:
        t0 = time.perf_counter()
        run(args.profile, args.seed, args.device, args.only, jobs=args.jobs, deps=not args.no_deps,
            cache=not args.no_cache)
        print(f"[pipeline] wall time {time.perf_counter() - t0:.1f} s", flush=True)
    except (NotebookFailed, FileNotFoundError, ValueError) as err:
        print(f"[pipeline] ERROR: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
