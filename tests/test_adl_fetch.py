"""Obtaining the raw UCI ADL files: checksums, copying, downloading (local server only), CLI."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

import spikeflux
from spikeflux.config import ADL_ENV, DERIVED_ENV
from spikeflux.data import uci  # the old name of spikeflux.data.adl.fetch: the same module
from spikeflux.data.adl import (
    RAW_FILES,
    SHA256,
    ADLDataNotFoundError,
    ADLDownloadError,
    ChecksumError,
    fetch_adl,
    load_subject,
    main,
)

SHARED_ADL = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-adl"


def shared() -> Path:
    if not all((SHARED_ADL / name).is_file() for name in RAW_FILES):
        pytest.skip(f"raw UCI ADL files not found in {SHARED_ADL}")
    return SHARED_ADL


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No ambient data folder, derived data in tmp, raw default in tmp, no proxy for 127.0.0.1."""
    monkeypatch.delenv(ADL_ENV, raising=False)
    monkeypatch.setenv(DERIVED_ENV, str(tmp_path / "derived"))
    monkeypatch.setattr(uci, "raw_adl_dir", lambda: tmp_path / "default-raw")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


def copy_shared(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        shutil.copy(shared() / name, folder / name)
    return folder


def flip_one_byte(path: Path) -> str:
    """Change one separator byte (a tab becomes a space; still parseable). Returns the new digest."""
    data = bytearray(path.read_bytes())
    index = data.index(b"\t\t", 200)  # a double tab in a data row
    data[index + 1] = ord(" ")
    path.write_bytes(bytes(data))
    return uci.sha256_file(path)


def assert_is_original(folder: Path) -> None:
    for name in RAW_FILES:
        assert (folder / name).read_bytes() == (shared() / name).read_bytes()


# ----------------------------------------------------------------------------- checksums


def test_shared_files_match_the_published_digests():
    assert uci.file_digests(shared()) == dict(SHA256)


def test_checksum_mismatch_names_file_and_both_digests(tmp_path):
    root = copy_shared(tmp_path / "copy")
    actual = flip_one_byte(root / "OrdonezA_Sensors.txt")
    with pytest.raises(ChecksumError) as info:
        load_subject("A", root=root, cache=False)
    message = str(info.value)
    assert "OrdonezA_Sensors.txt" in message
    assert SHA256["OrdonezA_Sensors.txt"] in message and actual in message
    assert isinstance(info.value, ValueError) and info.value.actual == actual
    modified = load_subject("A", root=root, verify=False, cache=False)
    original = load_subject("A", root=shared(), cache=False)
    assert modified.digests["OrdonezA_Sensors.txt"] == actual
    np.testing.assert_array_equal(modified.x, original.x)  # only whitespace changed


# ----------------------------------------------------------------------------- root resolution


def test_root_from_env_var(monkeypatch):
    monkeypatch.setenv(ADL_ENV, str(shared()))
    assert load_subject("B", cache=False).n_seconds == 1828200


@pytest.mark.parametrize("via_env", [True, False])
def test_missing_files_give_one_clear_error(tmp_path, monkeypatch, via_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    if via_env:
        monkeypatch.setenv(ADL_ENV, str(empty))
    with pytest.raises(ADLDataNotFoundError) as info:
        load_subject("A")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(empty if via_env else tmp_path / "default-raw") in message
    assert "OrdonezA_ADLs.txt" in message
    assert ADL_ENV in message and "make data" in message
    assert "python -m spikeflux.data.adl fetch" in message


# ----------------------------------------------------------------------------- copying


def test_fetch_copies_from_source(tmp_path):
    dest = fetch_adl(tmp_path / "raw", source=shared())
    assert dest == tmp_path / "raw"
    assert_is_original(dest)


def test_fetch_copies_from_env_var_into_default_dest(monkeypatch, tmp_path):
    monkeypatch.setenv(ADL_ENV, str(shared()))
    dest = fetch_adl()
    assert dest == tmp_path / "default-raw"
    assert_is_original(dest)


def test_fetch_checks_a_modified_source_before_writing(tmp_path):
    source = copy_shared(tmp_path / "copy")
    actual = flip_one_byte(source / "OrdonezB_ADLs.txt")
    with pytest.raises(ChecksumError, match=actual):
        fetch_adl(tmp_path / "raw", source=source)
    assert not any((tmp_path / "raw" / name).exists() for name in RAW_FILES)
    dest = fetch_adl(tmp_path / "raw", source=source, verify=False)
    assert uci.sha256_file(dest / "OrdonezB_ADLs.txt") == actual


def test_fetch_with_files_already_in_dest_does_not_download(tmp_path):
    dest = copy_shared(tmp_path / "raw")
    assert fetch_adl(dest, url="http://127.0.0.1:9/never-asked.zip") == dest


def test_fetch_source_lacking_files(tmp_path):
    (tmp_path / "partial").mkdir()
    shutil.copy(shared() / "OrdonezA_ADLs.txt", tmp_path / "partial")
    with pytest.raises(ADLDataNotFoundError, match="OrdonezB_Sensors.txt"):
        fetch_adl(tmp_path / "raw", source=tmp_path / "partial")


# ----------------------------------------------------------------------------- downloading


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 (ephemeral port) serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def build_zip(path: Path, contents: dict[str, bytes]) -> Path:
    """A zip like UCI's: the files inside the folder ``UCI ADL Binary Dataset/``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("UCI ADL Binary Dataset/", b"")
        zf.writestr("UCI ADL Binary Dataset/README.txt", b"read me\r\n")
        for name, data in contents.items():
            zf.writestr(f"UCI ADL Binary Dataset/{name}", data)
    return path


def originals() -> dict[str, bytes]:
    return {name: (shared() / name).read_bytes() for name in RAW_FILES}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/adl.zip"


def test_download_from_local_server(server, tmp_path):
    www, base = server
    build_zip(www / "adl.zip", originals())
    dest = fetch_adl(tmp_path / "raw", url=f"{base}/adl.zip")
    assert dest == tmp_path / "raw"
    assert_is_original(dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted(RAW_FILES)
    assert load_subject("A", root=dest, cache=False).n_seconds == 1192430


def test_download_into_default_dest(server, tmp_path):
    www, base = server
    build_zip(www / "adl.zip", originals())
    assert fetch_adl(url=f"{base}/adl.zip") == tmp_path / "default-raw"
    assert_is_original(tmp_path / "default-raw")


def test_download_with_a_modified_member(server, tmp_path):
    www, base = server
    contents = originals()
    contents["OrdonezA_ADLs.txt"] = contents["OrdonezA_ADLs.txt"].replace(b"Lunch", b"Snack", 1)
    build_zip(www / "adl.zip", contents)
    with pytest.raises(ChecksumError, match="OrdonezA_ADLs.txt"):
        fetch_adl(tmp_path / "raw", url=f"{base}/adl.zip")
    assert not (tmp_path / "raw" / "OrdonezA_ADLs.txt").exists()
    fetch_adl(tmp_path / "raw", url=f"{base}/adl.zip", verify=False)
    assert (tmp_path / "raw" / "OrdonezA_ADLs.txt").read_bytes() == contents["OrdonezA_ADLs.txt"]


def test_download_errors(server, tmp_path):
    www, base = server
    contents = originals()
    del contents["OrdonezB_Sensors.txt"]
    build_zip(www / "partial.zip", contents)
    (www / "junk.zip").write_bytes(b"this is not a zip archive")
    with pytest.raises(ADLDownloadError, match="lacks OrdonezB_Sensors.txt"):
        fetch_adl(tmp_path / "raw", url=f"{base}/partial.zip")
    with pytest.raises(ADLDownloadError, match="did not return a valid zip archive"):
        fetch_adl(tmp_path / "raw", url=f"{base}/junk.zip")
    with pytest.raises(ADLDownloadError, match="HTTP 404"):
        fetch_adl(tmp_path / "raw", url=f"{base}/missing.zip")
    with pytest.raises(ADLDownloadError, match="could not download"):
        fetch_adl(tmp_path / "raw", url=closed_port_url())
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


# ----------------------------------------------------------------------------- command line


def test_cli_fetch_downloads_and_prints_where(server, tmp_path, capsys):
    www, base = server
    build_zip(www / "adl.zip", originals())
    assert main(["fetch", "--dest", str(tmp_path / "raw"), "--url", f"{base}/adl.zip"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "raw") in out
    assert_is_original(tmp_path / "raw")


def test_cli_fetch_no_verify(tmp_path, capsys):
    source = copy_shared(tmp_path / "copy")
    flip_one_byte(source / "OrdonezA_ADLs.txt")
    args = ["fetch", "--dest", str(tmp_path / "raw"), "--source", str(source)]
    assert main(args) == 1
    assert "SHA-256 mismatch" in capsys.readouterr().err
    assert main([*args, "--no-verify"]) == 0


def test_cli_fetch_failure_is_one_clear_message(tmp_path, capsys):
    code = main(["fetch", "--dest", str(tmp_path / "raw"), "--url", closed_port_url()])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: could not download")
    assert ADL_ENV in err and "make data" in err and "Traceback" not in err


def test_cli_report(capsys, monkeypatch):
    monkeypatch.setenv(ADL_ENV, str(shared()))
    assert main(["report", "A", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "subject A: 1192430 s" in out and "reversed_label 3" in out


def test_cli_as_module_without_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ADL_ENV}
    src = str(Path(spikeflux.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    env[DERIVED_ENV] = str(tmp_path / "derived")
    fetch = [sys.executable, "-m", "spikeflux.data.adl", "fetch", "--dest", str(tmp_path / "raw")]
    done = subprocess.run(
        [*fetch, "--url", closed_port_url()], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "make data" in done.stderr and ADL_ENV in done.stderr
    done = subprocess.run(
        [*fetch, "--source", str(shared())], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and str(tmp_path / "raw") in done.stdout


def test_uci_is_an_alias_of_the_fetch_module():
    from spikeflux.data import adl

    assert uci is adl.fetch and uci.fetch_adl is fetch_adl
