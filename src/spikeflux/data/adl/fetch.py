"""The fetch: obtaining and verifying the four raw files of the UCI ADL data set.

The UCI Machine Learning Repository data set "Activities of Daily Living (ADLs)
Recognition Using Binary Sensors" (id 271, Ordóñez, de Toledo & Sanchis 2013) ships as
a zip archive whose folder ``UCI ADL Binary Dataset/`` holds, among other members, the
four files this project uses::

    OrdonezA_ADLs.txt   OrdonezA_Sensors.txt   OrdonezB_ADLs.txt   OrdonezB_Sensors.txt

The raw files are never committed to the repository.  There are two ways to provide them:

1. set the environment variable ``SPIKEFLUX_ADL_DIR`` to a folder holding the four files
   (a local copy), or
2. with internet access, run ``make data`` / ``python -m spikeflux.data.adl fetch``, which
   downloads the archive from UCI (:data:`UCI_URL`) and extracts the four members into
   :func:`spikeflux.config.raw_adl_dir`.

UCI may repackage the archive over time, so the SHA-256 digests checked are those of the
four member files (:data:`SHA256`, from ``SOURCE.md``), not the archive's.  A copy that
was modified on purpose can be used with ``verify=False``.

Only the standard library is used here (``urllib``, ``zipfile``, ``hashlib``).  This module was
``spikeflux.data.uci``; that name is kept as an alias of this module.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from spikeflux.config import ADL_ENV, raw_adl_dir

__all__ = [
    "UCI_URL",
    "RAW_FILES",
    "SHA256",
    "ChecksumError",
    "ADLDataNotFoundError",
    "ADLDownloadError",
    "subject_files",
    "sha256_bytes",
    "sha256_file",
    "check_digest",
    "file_digests",
    "missing_files",
    "resolve_root",
    "how_to_provide",
    "two_ways",
    "fetch_adl",
]

#: Where UCI serves the archive (data set id 271).
UCI_URL = (
    "https://archive.ics.uci.edu/static/public/271/"
    "activities+of+daily+living+adls+recognition+using+binary+sensors.zip"
)

#: The four raw files, subject A first, labels (ADLs) before sensors.
RAW_FILES: tuple[str, ...] = (
    "OrdonezA_ADLs.txt",
    "OrdonezA_Sensors.txt",
    "OrdonezB_ADLs.txt",
    "OrdonezB_Sensors.txt",
)

#: SHA-256 of each raw file, byte for byte as in the UCI archive (``SOURCE.md``).
SHA256: Mapping[str, str] = {
    "OrdonezA_ADLs.txt": "b018601885e1c62a9769f6b2ac7b47fcd51497d8880e272c1b3ff678eb63e15d",
    "OrdonezA_Sensors.txt": "3ec41f2b1d15c90aec0753d02a21c9e7add0b6f761ef76f3d8d428fb2dd0fa9d",
    "OrdonezB_ADLs.txt": "d2c59c9ada5da5dbebe26c6f02f02e331fc61a5d4ec425e19ef5a9de98852d58",
    "OrdonezB_Sensors.txt": "b0c77812b48f3b7d81afa446c80faba35b33bd99075350e929fa34a463c49a00",
}


class ChecksumError(ValueError):
    """A raw file's SHA-256 differs from the published one.

    Attributes
    ----------
    file : str
        The file's name.
    expected, actual : str
        The published and the computed hex digests.
    """

    def __init__(self, file: str, expected: str, actual: str):
        self.file, self.expected, self.actual = file, expected, actual
        super().__init__(
            f"{file}: SHA-256 mismatch: expected {expected}, got {actual}. "
            "The file is not the original UCI file; use verify=False (CLI: --no-verify) "
            "only if the copy was modified on purpose."
        )


class ADLDataNotFoundError(FileNotFoundError):
    """The raw files are not where they were looked for (the message says how to provide them)."""


class ADLDownloadError(OSError):
    """Downloading or unpacking the UCI archive failed."""


def subject_files(name: str) -> tuple[str, str]:
    """The (labels, sensors) file names of subject ``"A"`` or ``"B"``."""
    key = str(name).strip().upper()
    if key not in ("A", "B"):
        raise ValueError(f"unknown ADL subject {name!r}: expected 'A' or 'B'")
    return f"Ordonez{key}_ADLs.txt", f"Ordonez{key}_Sensors.txt"


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path`` (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_digest(file: str, actual: str) -> None:
    """Raise :class:`ChecksumError` unless ``actual`` is the published digest of ``file``."""
    expected = SHA256[file]
    if actual != expected:
        raise ChecksumError(file, expected, actual)


def file_digests(
    folder: str | os.PathLike, names: Iterable[str] = RAW_FILES, verify: bool = True
) -> dict[str, str]:
    """SHA-256 of each named file in ``folder``; with ``verify`` check them against :data:`SHA256`.

    Returns
    -------
    dict
        File name -> hex digest, in the order of ``names``.
    """
    digests = {}
    for name in names:
        digests[name] = sha256_file(Path(folder) / name)
        if verify:
            check_digest(name, digests[name])
    return digests


def missing_files(folder: str | os.PathLike, names: Iterable[str] = RAW_FILES) -> list[str]:
    """The names among ``names`` that are not regular files in ``folder``."""
    return [name for name in names if not (Path(folder) / name).is_file()]


def two_ways() -> str:
    """The two ways to provide the raw files, as a message paragraph."""
    return (
        "Provide the raw files in one of two ways:\n"
        f"  1. set {ADL_ENV} to a folder holding the four raw files "
        f"({', '.join(RAW_FILES)}), or\n"
        "  2. with internet access, run `make data` (or `python -m spikeflux.data.adl fetch`) "
        f"to download them from UCI into {raw_adl_dir()}."
    )


def how_to_provide(folder: str | os.PathLike | None = None, missing: Iterable[str] = ()) -> str:
    """Where the raw files were looked for, which are missing, and the two ways to provide them."""
    missing = list(missing)
    where = f" in {folder}" if folder is not None else ""
    lacking = f" (missing: {', '.join(missing)})" if missing else ""
    return f"The UCI ADL raw files were not found{where}{lacking}. " + two_ways()


def resolve_root(root: str | os.PathLike | None = None, names: Iterable[str] = RAW_FILES) -> Path:
    """The folder holding the raw files.

    Parameters
    ----------
    root : path, optional
        An explicit folder.  When ``None``: the folder named by ``SPIKEFLUX_ADL_DIR`` if that
        variable is set (and not empty), else :func:`spikeflux.config.raw_adl_dir`.
    names : iterable of str
        The files that must be there (default: all four).

    Raises
    ------
    ADLDataNotFoundError
        If any of ``names`` is missing; the message gives the two ways to provide the data.
    """
    if root is None:
        env = os.environ.get(ADL_ENV)
        folder = Path(env).expanduser() if env else raw_adl_dir()
        source = f" ({ADL_ENV}={env})" if env else ""
    else:
        folder, source = Path(root).expanduser(), ""
    missing = missing_files(folder, names)
    if missing:
        raise ADLDataNotFoundError(how_to_provide(f"{folder}{source}", missing))
    return folder


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(url: str, timeout: float) -> bytes:
    """The body at ``url``, or :class:`ADLDownloadError`."""
    request = urllib.request.Request(url, headers={"User-Agent": "spikeflux-data-fetch"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # release the error response's socket
        raise ADLDownloadError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ADLDownloadError(f"could not download {url}: {exc}") from exc


def _members(archive: bytes, url: str) -> dict[str, bytes]:
    """The four raw files inside the zip ``archive``, found by base name in any folder."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            found: dict[str, list[zipfile.ZipInfo]] = {}
            for info in zf.infolist():
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if info.is_dir() or not parts or "__MACOSX" in parts:
                    continue
                if parts[-1] in SHA256:
                    found.setdefault(parts[-1], []).append(info)
            missing = [name for name in RAW_FILES if name not in found]
            if missing:
                raise ADLDownloadError(f"the archive from {url} lacks {', '.join(missing)}")
            doubled = [name for name, infos in found.items() if len(infos) > 1]
            if doubled:
                raise ADLDownloadError(
                    f"the archive from {url} holds several copies of {', '.join(doubled)}"
                )
            return {name: zf.read(found[name][0]) for name in RAW_FILES}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ADLDownloadError(f"{url} did not return a valid zip archive: {exc}") from exc


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in RAW_FILES}


def fetch_adl(
    dest: str | os.PathLike | None = None,
    source: str | os.PathLike | None = None,
    url: str = UCI_URL,
    verify: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Put the four raw files into ``dest`` and return ``dest``.

    In order of preference:

    1. ``source`` (if given; it must hold the four files) or else the folder named by
       ``SPIKEFLUX_ADL_DIR`` (if set and holding the four files): the files are copied;
    2. ``dest`` already holds the four files: nothing is copied;
    3. the UCI archive at ``url`` is downloaded (``urllib``) and the four members, found by
       base name in whatever folder the archive puts them, are extracted.

    Parameters
    ----------
    dest : path, optional
        Target folder, default :func:`spikeflux.config.raw_adl_dir`.
    source : path, optional
        A folder with a local copy of the four files.
    url : str
        The archive's address (tests point it at a local server).
    verify : bool
        Check the SHA-256 of each file against :data:`SHA256` (before anything is written).
        ``False`` is the explicit opt-out for a modified copy.
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    pathlib.Path
        The folder now holding the four files.

    Raises
    ------
    ChecksumError
        A file differs from the original (the message names it and both digests).
    ADLDataNotFoundError
        ``source`` lacks some of the files.
    ADLDownloadError
        The download failed or the archive lacks a file.
    """
    dest = Path(dest).expanduser() if dest is not None else raw_adl_dir()
    if source is not None:
        origin: Path | None = Path(source).expanduser()
        missing = missing_files(origin)
        if missing:
            raise ADLDataNotFoundError(how_to_provide(origin, missing))
    else:
        env = os.environ.get(ADL_ENV)
        origin = Path(env).expanduser() if env and not missing_files(env) else None

    if origin is None and not missing_files(dest):
        file_digests(dest, verify=verify)
        return dest
    if origin is not None:
        contents = _read_folder(origin)
        same = dest.exists() and dest.resolve() == origin.resolve()
    else:
        contents, same = _members(_download(url, timeout), url), False
    if verify:
        for name, data in contents.items():
            check_digest(name, sha256_bytes(data))
    if not same:
        for name, data in contents.items():
            _write_atomic(dest / name, data)
    return dest
