"""Paths: where raw data, derived data and results live.

Everything is derived from the project root (the folder holding ``pyproject.toml``),
found by walking up from this file (editable install) or from the working directory.
Environment variables override each location:

``SPIKEFLUX_ADL_DIR``
    a folder holding the four raw UCI ADL files (a local copy; CI points it at
    ``../shared/data/uci-adl``). When unset, the raw files live in ``data/raw/uci-adl``.
``SPIKEFLUX_DERIVED_DIR``
    derived arrays, trained weights and result tables (default ``data/derived``).
"""

from __future__ import annotations

import os
from pathlib import Path

ADL_ENV = "SPIKEFLUX_ADL_DIR"
DERIVED_ENV = "SPIKEFLUX_DERIVED_DIR"


def project_root() -> Path:
    """The folder holding ``pyproject.toml`` (this checkout), else the working directory."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "src" / "spikeflux").is_dir():
                return folder
    return Path.cwd().resolve()


def data_dir() -> Path:
    """``<root>/data``: raw downloads and derived artefacts (both git-ignored)."""
    return project_root() / "data"


def raw_adl_dir() -> Path:
    """Where :func:`spikeflux.data.adl.fetch_adl` puts (and looks for) the raw UCI files."""
    return data_dir() / "raw" / "uci-adl"


def derived_dir() -> Path:
    """Derived arrays, trained weights and result tables; created on demand."""
    path = Path(os.environ.get(DERIVED_ENV) or data_dir() / "derived")
    path.mkdir(parents=True, exist_ok=True)
    return path

#: What the book explains when it explains a prediction (``explain(..., contrast=CONTRAST)``): the
#: decision margin :math:`U^L_c[t^*] - U^L_{k_2}[t^*]` against the runner-up class :math:`k_2`. The
#: raw logit :math:`U^L_c[t^*]` is 0 whenever the winning output neuron fired at :math:`t^*` (hard
#: reset) and negative on about half of the synthetic points, so LRP explained nothing there; the
#: evaluation chapter shows the measurement behind this choice.
CONTRAST = "runner-up"

#: Steps simulated before every explained window from a zero state (30 synaptic time constants of
#: the book's models), one value for every chapter that explains excerpts.
BURN_IN = 300
