"""environment.yml and pyproject.toml name the same dependencies; torch is pinned exactly."""

import re
import tomllib

from spikeflux.config import project_root


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    data = tomllib.loads((project_root() / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_name(d): d.replace(" ", "") for d in deps}


def _environment():
    lines = (project_root() / "environment.yml").read_text().splitlines()
    items = [ln.strip()[2:].strip() for ln in lines if ln.strip().startswith("- ")]
    conda = [i for i in items if i not in ("conda-forge", "pip:") and not i.startswith("-e")]
    return {_name(d): d.replace(" ", "") for d in conda if _name(d) not in ("python", "pip")}


def test_same_dependencies():
    assert set(_pyproject()) == set(_environment())


def test_torch_pinned_exactly_in_both():
    assert _pyproject()["torch"] == "torch==2.13.0"
    assert _environment()["torch"] == "torch==2.13.0"


def test_version_constraints_agree():
    py, env = _pyproject(), _environment()
    for name, spec in env.items():
        if any(op in spec for op in "<>="):
            assert spec == py[name], f"{name}: environment.yml says {spec}, pyproject.toml {py[name]}"


def test_environment_installs_package_editable():
    text = (project_root() / "environment.yml").read_text()
    assert "- -e .[dev]" in text and "conda-forge" in text
