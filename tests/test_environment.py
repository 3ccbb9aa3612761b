"""Dependencies: ranges in pyproject.toml (a library), exact tested pins in constraints.txt (the book), environment.yml agreeing."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from spikeflux.config import project_root


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _project():
    return tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]


def _pyproject(extras=("dev",)):
    p = _project()
    deps = p["dependencies"] + [d for e in extras for d in p["optional-dependencies"][e]]
    return {_name(d): d.replace(" ", "") for d in deps}


def _environment():
    lines = (project_root() / "environment.yml").read_text().splitlines()
    items = [ln.strip()[2:].strip() for ln in lines if ln.strip().startswith("- ")]
    conda = [i for i in items if i not in ("conda-forge", "pip:") and not i.startswith("-e")]
    return {_name(d): d.replace(" ", "") for d in conda if _name(d) not in ("python", "pip")}


def _lock():
    lines = (project_root() / "constraints.txt").read_text().splitlines()
    pins = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return {_name(p): p for p in pins}


def test_same_dependencies():
    assert set(_pyproject()) == set(_environment())


def test_runtime_requirements_are_ranges():
    """A library: every runtime requirement has a lower and an upper bound, none is pinned exactly."""
    for req in map(Requirement, _project()["dependencies"]):
        ops = {s.operator for s in req.specifier}
        assert "==" not in ops and ">=" in ops and "<" in ops, f"{req}: give a compatible range (>=x,<y)"
    assert _pyproject()["torch"] == "torch>=2.2,<3"


def test_extras_for_interop():
    extras = _project()["optional-dependencies"]
    assert {_name(d) for d in extras["nir"]} == {"nir"} and {_name(d) for d in extras["snntorch"]} == {"snntorch"}
    dev = {_name(d) for d in extras["dev"]}
    assert {"nir", "nirtorch", "snntorch", "rockpool"} <= dev, "CI must run the interop tests"


def test_lock_pins_every_requirement_within_its_range():
    lock = _lock()
    assert "spikeflux" not in lock, "the lock excludes the project itself"
    for spec in lock.values():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s]+", spec), f"{spec}: constraints.txt pins exact versions only"
    p = _project()
    reqs = p["dependencies"] + [d for extra in p["optional-dependencies"].values() for d in extra]
    for req in map(Requirement, reqs):
        name = _name(req.name)
        assert name in lock, f"{name} is not pinned in constraints.txt"
        version = Version(lock[name].split("==")[1])
        assert req.specifier.contains(version, prereleases=True), f"{lock[name]} does not satisfy {req}"


def test_torch_is_the_tested_cpu_build():
    assert _lock()["torch"] == "torch==2.13.0+cpu"
    assert _environment()["torch"] == "torch==2.13.0"


def test_environment_agrees_with_pyproject_and_lock():
    """Each environment.yml spec is pyproject's range, or the locked version (torch, for the CPU build)."""
    py, env, lock = _pyproject(), _environment(), _lock()
    for name, spec in env.items():
        locked = lock[name].split("==")[1].split("+")[0]
        assert spec in (py[name], f"{name}=={locked}"), f"{name}: environment.yml says {spec}, pyproject.toml " \
                                                         f"{py[name]}, constraints.txt {lock[name]}"


def test_make_installs_from_the_lock():
    text = (project_root() / "Makefile").read_text()
    assert "CONSTRAINTS ?= constraints.txt" in text
    assert re.search(r"^\$\(STAMP\): pyproject\.toml \$\(CONSTRAINTS\)$", text, re.M), "stamp depends on the lock"
    assert 'pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"' in text


def test_environment_installs_package_editable():
    text = (project_root() / "environment.yml").read_text()
    assert "- -e .[dev]" in text and "conda-forge" in text


def test_package_is_typed():
    assert (project_root() / "src" / "spikeflux" / "py.typed").is_file()
