"""Where a run's numbers come from: the tables of the reproducibility appendix.

- :func:`package_table`: installed versions of the book's packages;
- :func:`platform_rows`: the interpreter, operating system, CPU, threads, commit and run parameters;
- :func:`raw_data_table`: the SHA-256 of the UCI ADL files read, against the published digests;
- :func:`manifest`: every artefact of the derived-data folder with its SHA-256 (and, for a trained
  network, the digest of its weights alone, :func:`weights_digest`), and :func:`varies`, why a
  file's bytes may change between two runs with the same seed;
- :func:`timings_table`: the wall time of each chapter the pipeline executed before.

Paths are shown relative to the checkout when they lie inside it (:func:`shown`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd
import torch

from .config import ADL_ENV, DERIVED_ENV, project_root

#: Packages whose versions the appendix reports.
PACKAGES = ("spikeflux", "torch", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "captum",
            "papermill", "jupytext", "ipykernel", "nbformat", "myst-nb", "jupyter-book", "sphinx",
            "sphinx-book-theme", "sphinx-proof", "sphinxcontrib-bibtex", "sphinx-mathjax-offline")

#: Files in the derived folder that are not results: wall times (different at every run)
#: and the manifest the appendix writes.
NOT_ARTEFACTS = frozenset({"timings.csv", "manifest.csv"})

MANIFEST_COLUMNS = ("path", "bytes", "sha256", "varies", "weights sha256")


def shown(path) -> str:
    """A path as the book shows it: relative to the checkout when it lies inside it."""
    path = Path(os.path.abspath(path))  # not resolve(): keep the venv's own python path
    return path.relative_to(project_root()).as_posix() if path.is_relative_to(project_root()) else str(path)


def installed(name: str) -> str:
    """The installed version of distribution ``name``, or ``"not installed"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def package_table(names: Sequence[str] = PACKAGES) -> pd.DataFrame:
    """Columns ``package``, ``version``: one row per name of ``names``."""
    names = list(names)
    return pd.DataFrame({"package": names, "version": [installed(p) for p in names]})


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else what :mod:`platform` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def git(*args: str) -> str:
    """Output of a read-only git command in the checkout, or "unknown" without git or a repository."""
    try:
        out = subprocess.run(["git", *args], cwd=project_root(), capture_output=True, text=True, check=True)
    except (FileNotFoundError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def commit_state() -> str:
    """The checked-out commit, with ``(clean)`` or ``(with uncommitted changes)`` to tracked files."""
    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no")
    if commit != "unknown" and changed != "unknown":
        commit += " (with uncommitted changes)" if changed else " (clean)"
    return commit


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def platform_rows(profile: str, seed: int, device: str, derived: Path) -> dict[str, str]:
    """The platform and the run parameters, as label -> value."""
    thread_env = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ)
    return {
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {shown(sys.executable)})",
        "operating system": platform.platform(),
        "CPU": f"{cpu_model()}; {os.cpu_count()} logical CPUs, {usable_cpus()} usable",
        "torch threads": f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op"
                         + (f" ({thread_env})" if thread_env else ""),
        "commit": commit_state(),
        "profile": profile,
        "seed": str(seed),
        "device": device,
        "derived-data folder": shown(derived) + (f" (from {DERIVED_ENV})" if os.environ.get(DERIVED_ENV) else ""),
    }


def raw_data_table() -> tuple[pd.DataFrame, str]:
    """The UCI ADL files this run reads (``file``, ``bytes``, ``sha256``, ``as published``) and a sentence
    saying where they were read and how many match the published digests (or why there is no table)."""
    from .data import uci

    try:
        raw_dir = uci.resolve_root()
    except uci.ADLDataNotFoundError as err:
        return (pd.DataFrame(columns=["file", "bytes", "sha256", "as published"]),
                f"The raw files were not found, so no digest is given here. {err}")
    digests = uci.file_digests(raw_dir, verify=False)
    raw = pd.DataFrame({"file": list(digests), "bytes": [(raw_dir / f).stat().st_size for f in digests],
                        "sha256": list(digests.values()),
                        "as published": ["yes" if d == uci.SHA256[f] else "NO" for f, d in digests.items()]})
    n_ok = int((raw["as published"] == "yes").sum())
    source = f" (from {ADL_ENV})" if os.environ.get(ADL_ENV) else ""
    return raw, (f"The raw files were read from {shown(raw_dir)}{source}; {n_ok} of {len(raw)} match "
                 "the published digests.")


def weights_digest(path: Path) -> str:
    """SHA-256 over the names, data types, shapes and bytes of the tensors of a saved network."""
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def varies(path: Path) -> str:
    """Why a file's bytes change between two runs with the same seed ("" when they should not)."""
    if path.suffix == ".pt":
        return "wall times"  # in the training history stored beside the weights
    if path.name.endswith("timings.csv"):  # the only tables that hold wall times
        return "wall times"
    return ""


def manifest(derived: Path, skip_dirs: Iterable[str] = ()) -> pd.DataFrame:
    """Every artefact under ``derived`` (sorted; hidden files, :data:`NOT_ARTEFACTS` and anything under a
    folder named in ``skip_dirs`` left out): columns :data:`MANIFEST_COLUMNS`, ``weights sha256`` empty but
    for trained networks (``.pt``)."""
    from .data.uci import sha256_file

    skip = set(skip_dirs)
    files = sorted(p for p in derived.rglob("*") if p.is_file() and p.name not in NOT_ARTEFACTS
                   and not p.name.startswith(".") and not skip & set(p.relative_to(derived).parts))
    return pd.DataFrame({
        "path": [p.relative_to(derived).as_posix() for p in files],
        "bytes": [p.stat().st_size for p in files],
        "sha256": [sha256_file(p) for p in files],
        "varies": [varies(p) for p in files],
        "weights sha256": [weights_digest(p) if p.suffix == ".pt" else "" for p in files],
    })


def timings_table(derived: Path) -> tuple[pd.DataFrame, str]:
    """The pipeline's ``timings.csv`` of this run with a ``total`` row, and a sentence summing it up (or
    saying that no chapter ran before)."""
    timings_file = derived / "timings.csv"
    timings = (pd.read_csv(timings_file) if timings_file.is_file()
               else pd.DataFrame(columns=["notebook", "profile", "seconds"]))
    total_seconds = float(timings["seconds"].sum()) if len(timings) else 0.0
    if len(timings):
        status = (f"The {len(timings)} chapters before this appendix took {total_seconds:.0f} s "
                  f"({total_seconds / 60:.1f} min) of notebook time in all.")
        elapsed = pd.to_numeric(timings["elapsed"], errors="coerce") if "elapsed" in timings else None
        if elapsed is not None and elapsed.notna().any():
            status += (f" They ran side by side, so the run had taken {elapsed.max():.0f} s "
                       f"({elapsed.max() / 60:.1f} min) of wall time when the last of them ended.")
    else:
        status = ("No chapter was executed before this appendix in this run (it was run alone), "
                  "so there are no wall times to report.")
    rows = timings.to_dict("records") + [dict(notebook="total", profile="", seconds=total_seconds)]
    return pd.DataFrame(rows), status
