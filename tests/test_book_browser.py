"""The built book, opened page by page in headless Chromium, works offline.

Run after ``make book`` (``make browser-test``). Every page of ``book/_build/html`` (or
of ``SPIKEFLUX_BOOK_HTML``) is served from ``127.0.0.1`` and checked by
``tests/book_browser.py``: MathJax 3 has rendered every equation and no math delimiter is
left in the text, every image loaded, every figure is legible (as wide as the text column
allows, not scaled below readable labels, not mostly empty), every local link and anchor
exists, the console shows no error, and nothing was requested from anywhere but the local
server. A PNG
screenshot of each page goes to ``artifacts/screenshots/`` (or ``SPIKEFLUX_SCREENSHOTS``).

Skipped, with the reason, when the book has not been built or Chromium, chromedriver or
Selenium are missing, so that ``make test`` passes on a fresh checkout. With
``SPIKEFLUX_REQUIRE_BROWSER=1`` (``make browser-test``, CI) a missing piece is a failure.
"""

import importlib.util
import os
import pathlib
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import book_browser as bb  # noqa: E402

from spikeflux.config import project_root  # noqa: E402

HTML = pathlib.Path(os.environ.get("SPIKEFLUX_BOOK_HTML") or project_root() / "book" / "_build" / "html")
SHOTS = pathlib.Path(os.environ.get("SPIKEFLUX_SCREENSHOTS") or project_root() / "artifacts" / "screenshots")
PAGES = bb.pages(HTML) if (HTML / "index.html").is_file() else []

needs_book = pytest.mark.skipif(
    not PAGES, reason=f"no built book in {HTML}: run `make book` first (or set SPIKEFLUX_BOOK_HTML)")
needs_chromium = pytest.mark.skipif(
    bb.chromium() is None,
    reason="Chromium or chromedriver not found: `apt-get install chromium chromium-driver` "
           "(or set SPIKEFLUX_CHROMIUM and SPIKEFLUX_CHROMEDRIVER)")


def test_browser_check_can_run():
    """Under SPIKEFLUX_REQUIRE_BROWSER=1 the checks below must run, not skip."""
    if os.environ.get("SPIKEFLUX_REQUIRE_BROWSER") != "1":
        pytest.skip("set SPIKEFLUX_REQUIRE_BROWSER=1 to require the browser checks (make browser-test)")
    missing = [what for what, ok in [
        (f"a built book in {HTML} (make book)", bool(PAGES)),
        ("Chromium and chromedriver (apt-get install chromium chromium-driver)", bb.chromium() is not None),
        ("selenium (pip install selenium)", importlib.util.find_spec("selenium") is not None),
    ] if not ok]
    assert not missing, "the browser checks cannot run; missing: " + "; ".join(missing)


def test_checker_finds_remote_assets_and_broken_links(tmp_path):
    """The static half of the checker on a tiny fake book (runs without a book or a browser)."""
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "style.css").write_text(
        "@import 'https://fonts.example.org/x.css';\nbody { background: url(../_images/ok.png); }\n"
        "@font-face { src: url(\"//cdn.example.org/f.woff2\"); }\n")
    (tmp_path / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="_static/style.css"><script src="_static/local.js"></script>'
        '<script src="https://cdn.example.org/mathjax.js"></script></head><body id="top">'
        '<img src="http://example.org/a.png"><a href="https://doi.org/10.1/x">a citation is fine</a>'
        '<a href="page.html#sec">ok</a><a href="page.html#nope">no anchor</a><a href="gone.html">no page</a>'
        "</body></html>")
    (tmp_path / "page.html").write_text('<html><body><section id="sec"></section></body></html>')
    found = bb.remote_assets(tmp_path)
    assert found == ["index.html: <script src=https://cdn.example.org/mathjax.js>",
                     "index.html: <img src=http://example.org/a.png>",
                     "_static/style.css: https://fonts.example.org/x.css",
                     "_static/style.css: //cdn.example.org/f.woff2"]
    assert bb.link_target_problem(tmp_path, "index.html", "/page.html#sec") is None
    assert bb.link_target_problem(tmp_path, "index.html", "/index.html#top") is None
    assert "no anchor #nope" in bb.link_target_problem(tmp_path, "index.html", "/page.html#nope")
    assert "no file gone.html" in bb.link_target_problem(tmp_path, "index.html", "/gone.html")
    assert [m.group() for m in bb.DELIMITER.finditer(r"costs $5 and $x$, \(y\) and $$z$$")] == ["$x$", "\\(", "$$", "$$"]


def test_figure_legibility_rules():
    """Known answers of the legibility judgement (runs without a book or a browser)."""
    good = dict(src="a.png", natural_width=780, width=760, column=760, ink=0.3)
    assert bb.figure_problems(good) == []
    narrow = bb.figure_problems(dict(good, natural_width=400, width=400))
    assert len(narrow) == 1 and "400 px wide in a text column of 760 px" in narrow[0]
    shrunk = bb.figure_problems(dict(good, natural_width=1600))  # a 16 in figure squeezed into the column
    assert len(shrunk) == 1 and "shown at 0.47" in shrunk[0]
    assert bb.MIN_SCALE == pytest.approx(0.72)
    empty = bb.figure_problems(dict(good, ink=0.01))
    assert len(empty) == 1 and "mostly empty: 1.0%" in empty[0]
    assert "could not be read" in bb.figure_problems(dict(good, ink=None))[0]


@needs_book
def test_no_remote_assets_in_pages():
    """No page or stylesheet of the book loads a script, style, font or image from the network."""
    remote = bb.remote_assets(HTML)
    assert not remote, "remote assets in the built book:\n" + "\n".join(remote)


@needs_book
def test_mathjax_is_bundled():
    """MathJax 3 is served from the book's own ``_static/mathjax`` on every page with math."""
    bundled = HTML / "_static" / "mathjax" / "tex-chtml.js"
    assert bundled.is_file(), f"{bundled} is missing: is sphinx-mathjax-offline among the extensions?"
    assert 'VERSION="3.' in bundled.read_text(errors="replace"), "the bundled MathJax is not version 3"
    with_math = [p for p in PAGES if 'class="math' in (HTML / p).read_text(errors="replace")]
    assert with_math, "no page of the book has math: the math checks below would check nothing"
    for page in with_math:
        scripts = [url for tag, _, url in bb._parse(HTML / page).assets if tag == "script"]
        assert any("_static/mathjax/tex-chtml.js" in url for url in scripts), f"{page} does not load the bundled MathJax"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium session on the book served from 127.0.0.1 (an ephemeral port)."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SHOTS.glob("*.png"), SHOTS / bb.FIGURES_LOG]:
        old.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile_dir, bb.Server(HTML) as server:
        web = bb.start_browser(*bb.chromium(), pathlib.Path(profile_dir))
        try:
            yield web, server.origin
        finally:
            web.quit()


@needs_book
@needs_chromium
@pytest.mark.parametrize("page", PAGES or ["(no book)"])
def test_page_renders_offline(page, browser):
    web, origin = browser
    report = bb.check_page(web, origin, HTML, page, SHOTS)
    assert not report.problems, f"{page} ({report.url}):\n  " + "\n  ".join(report.problems)
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0
