"""Check the built book in headless Chromium: math, images, links, console, offline assets.

Used by ``tests/test_book_browser.py``; also a script, to check a book and write the
screenshots without pytest::

    python tests/book_browser.py [book/_build/html] [--out artifacts/screenshots]

The book is served from a local ``http.server`` on ``127.0.0.1`` (an ephemeral port) and
opened page by page in Debian's Chromium, driven by Selenium through Debian's
chromedriver (``apt-get install chromium chromium-driver``; nothing is downloaded). For
every page :func:`check_page` waits for MathJax 3 to finish (``MathJax.startup.promise``)
and for every image to load, then reports as problems:

- a console message of level SEVERE (a JavaScript error, a failed request), except the
  404 of the ``/favicon.ico`` that Chromium asks every server for (the book has no icon);
- a request to anything but the local server (the book must work offline);
- an image with ``naturalWidth == 0`` (missing or broken), or a matplotlib figure shown as
  its text ``<Figure size ... with N Axes>`` instead of an image (what a glued figure
  becomes when the kernel ran with a non-inline backend, e.g. ``MPLBACKEND=Agg``), or the
  same image twice on a page (a glued figure left open is also shown by its own cell);
- a math element (``.math``) without a rendered ``mjx-container``, or a math delimiter
  (``$``, ``$$``, ``\\(``, ``\\[``) left in the text outside code;
- a link to a local page or anchor that does not exist;
- a figure that is hard to read (:func:`figure_problems`): narrower than
  :data:`MIN_FILL` of the text column, scaled down below :data:`MIN_SCALE` of its pixels
  (its smallest labels, :data:`FIGURE_MIN_PT` at :data:`FIGURE_DPI`, would be under
  :data:`MIN_LABEL_PX` CSS pixels), or mostly empty (under :data:`MIN_INK` of its pixels
  differ from the white background).

:func:`remote_assets` is the static half: every ``http(s)`` URL in a ``script``, ``img``,
``iframe``, ``source``, ``link`` (stylesheets, fonts, icons) of the built pages and every
``url(http...)`` / ``@import`` in their CSS.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

CHROMIUM_ENV = "SPIKEFLUX_CHROMIUM"
CHROMEDRIVER_ENV = "SPIKEFLUX_CHROMEDRIVER"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
)
#: Folders of the HTML output that hold assets, not pages.
NOT_PAGES = ("_static", "_sources", "_images", "_downloads")
REMOTE = re.compile(r"^(https?:)?//", re.I)
#: A math delimiter left in the text: ``\(``, ``\[``, ``$$`` or ``$x$`` (no space inside the dollars).
DELIMITER = re.compile(r"\\\(|\\\[|\$\$|\$[^\s$](?:[^$\n]*[^\s$])?\$")
CSS_REMOTE = re.compile(r"""url\(\s*['"]?\s*((?:https?:)?//[^'")\s]+)|@import\s+['"]((?:https?:)?//[^'"]+)""", re.I)
#: Schemes of requests that leave the browser (``chrome://``, ``data:`` and the like do not).
NETWORK = re.compile(r"^(https?|wss?|ftp):", re.I)
MATH_TIMEOUT_S = 60
#: A figure (an image in the article) must be rendered at least this share of the text column wide.
MIN_FILL = 0.8
#: The book's figures are PNGs at this resolution whose smallest text (tick labels, legends) is
#: this size (``spikeflux.plots`` and the chapters use 7 pt and up).
FIGURE_DPI, FIGURE_MIN_PT = 100, 7
#: The smallest label must render at least this many CSS pixels tall: the figure may not be
#: scaled down below MIN_SCALE of its natural width.
MIN_LABEL_PX = 7.0
MIN_SCALE = MIN_LABEL_PX / (FIGURE_MIN_PT * FIGURE_DPI / 72)
#: At least this share of a figure's pixels must differ from the white background (by more
#: than INK_LEVEL in a channel).
MIN_INK, INK_LEVEL = 0.04, 24
#: File in the screenshot folder listing the measurements of every figure (JSON lines).
FIGURES_LOG = "figures.jsonl"


# --------------------------------------------------------------------------- finding things


def chromium() -> tuple[str, str] | None:
    """Paths of the Chromium binary and its chromedriver, or ``None`` when either is missing."""
    browser = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get(CHROMEDRIVER_ENV) or shutil.which("chromedriver")
    if browser and driver and Path(browser).is_file() and Path(driver).is_file():
        return browser, driver
    return None


def pages(html_dir: Path) -> list[str]:
    """Every HTML page of the built book, as paths relative to ``html_dir`` (POSIX)."""
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not p.relative_to(html_dir).parts[0] in NOT_PAGES)


# --------------------------------------------------------------------------- static checks


class _Tags(HTMLParser):
    """Collects the asset URLs (tag, attribute, URL) and the anchors (``id``/``name``) of a page."""

    ASSETS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
              "audio": "src", "embed": "src", "object": "data", "link": "href", "input": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets: list[tuple[str, str, str]] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        attr = self.ASSETS.get(tag)
        if attr and a.get(attr):
            self.assets.append((tag, attr, a[attr]))
        if tag == "img" and a.get("srcset"):
            self.assets += [(tag, "srcset", part.split()[0]) for part in a["srcset"].split(",") if part.strip()]
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.anchors.add(a[key])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def remote_assets(html_dir: Path) -> list[str]:
    """``page: <tag attr=URL>`` for every remote URL a page or its local CSS would load."""
    found, css_files = [], set()
    for page in pages(html_dir):
        path = html_dir / page
        for tag, attr, url in _parse(path).assets:
            if tag == "link" and not url:
                continue
            if REMOTE.match(url.strip()):
                found.append(f"{page}: <{tag} {attr}={url}>")
            elif tag == "link" and urlsplit(url).path.endswith(".css"):
                css = (path.parent / unquote(urlsplit(url).path)).resolve()
                if css.is_file():
                    css_files.add(css)
    for css in sorted(css_files):
        for m in CSS_REMOTE.finditer(css.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{css.relative_to(html_dir.resolve())}: {m.group(1) or m.group(2)}")
    return found


def link_target_problem(html_dir: Path, page: str, href: str) -> str | None:
    """Why a local link from ``page`` is broken (missing file or anchor), or ``None`` when it is fine.

    ``href`` is the link as the browser resolved it, made relative to the server root.
    """
    target, fragment = urldefrag(href)
    path = unquote(urlsplit(target).path).lstrip("/")
    file = html_dir / path if path else html_dir / page
    if file.is_dir():
        file = file / "index.html"
    if not file.is_file():
        return f"{href}: no file {file.relative_to(html_dir) if file.is_relative_to(html_dir) else file}"
    fragment = unquote(fragment)
    if fragment and file.suffix == ".html" and fragment not in _parse(file).anchors:
        return f"{href}: no anchor #{fragment} in {file.relative_to(html_dir)}"
    return None


# --------------------------------------------------------------------------- serving and driving


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output readable
        pass


class Server:
    """The built book on ``http://127.0.0.1:<ephemeral port>/``, in a thread (a context manager)."""

    def __init__(self, html_dir: Path):
        handler = functools.partial(_QuietHandler, directory=str(html_dir))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def start_browser(browser: str, driver: str, profile_dir: Path):
    """A Selenium session in headless Chromium with console and network logging."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile_dir}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    web = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    web.set_page_load_timeout(60)
    web.set_script_timeout(MATH_TIMEOUT_S + 10)
    return web


# JavaScript run in the page after load: MathJax, images, math elements, leftover delimiters, links.
_SETTLE_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const out = {mathjax: false, mathjax_error: null};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    out.mathjax = true;
    try { await MathJax.startup.promise; } catch (e) { out.mathjax_error = String(e); }
  } else if (document.querySelector('script[src*="mathjax"], script[src*="MathJax"]')) {
    out.mathjax_error = "a MathJax script is on the page but window.MathJax.startup never appeared";
  }
  const imgs = Array.from(document.images);
  imgs.forEach(i => { if (i.loading === "lazy") i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.complete ? null :
    new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); setTimeout(r, 10000); })));
  out.images = imgs.length;
  out.broken_images = imgs.filter(i => i.naturalWidth === 0).map(i => i.getAttribute("src"));
  const seen = {};
  imgs.forEach(i => { seen[i.src] = (seen[i.src] || 0) + 1; });
  out.repeated_images = Object.entries(seen).filter(([src, n]) => n > 1).map(([src, n]) => [src, n]);
  const article = document.querySelector(".bd-article") || document.querySelector("main") || document.body;
  const cs = getComputedStyle(article);
  const column = article.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  out.figures = Array.from(article.querySelectorAll("img")).filter(i => i.naturalWidth > 0).map(i => {
    const w = Math.min(i.naturalWidth, 600), h = Math.max(1, Math.round(i.naturalHeight * w / i.naturalWidth));
    const c = document.createElement("canvas"); c.width = w; c.height = h;
    const g = c.getContext("2d"); g.drawImage(i, 0, 0, w, h);
    let ink = null;
    try {
      const d = g.getImageData(0, 0, w, h).data; let n = 0;
      for (let k = 0; k < d.length; k += 4) {
        if (d[k + 3] > 16 && Math.max(255 - d[k], 255 - d[k + 1], 255 - d[k + 2]) > %(ink_level)d) n++;
      }
      ink = n / (w * h);
    } catch (e) { ink = null; }
    return {src: i.getAttribute("src"), natural_width: i.naturalWidth, natural_height: i.naturalHeight,
            width: i.getBoundingClientRect().width, column: column, ink: ink};
  });
  out.figure_reprs = document.body.textContent.match(
    /<(Figure size \d+x\d+ with \d+ Axes|matplotlib\.[\w.]+ object at 0x[0-9a-f]+)>/g) || [];
  const maths = Array.from(document.querySelectorAll(".math"));
  out.math_elements = maths.length;
  out.unrendered_math = maths.filter(m => !m.querySelector("mjx-container"))
                             .map(m => m.textContent.trim().slice(0, 80));
  out.mjx_containers = document.querySelectorAll("mjx-container").length;
  const skip = "script,style,noscript,textarea,pre,code,kbd,samp,mjx-container,.highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement && n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT
                                                                       : NodeFilter.FILTER_ACCEPT});
  const text = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) text.push(n.nodeValue);
  out.text = text.join("");
  out.links = Array.from(document.querySelectorAll("a[href]"))
                   .map(a => a.href).filter(h => h.startsWith(location.origin + "/"));
  out.url = location.href;
  out.height = Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);
  done(out);
})().catch(e => done({fatal: String(e)}));
"""


@dataclass
class PageReport:
    """What :func:`check_page` found on one page; ``problems`` empty means the page passes."""

    page: str
    url: str = ""
    math_elements: int = 0
    mjx_containers: int = 0
    images: int = 0
    links: int = 0
    figures: list[dict] = field(default_factory=list)
    screenshot: Path | None = None
    problems: list[str] = field(default_factory=list)


def _requests(web) -> list[str]:
    """URLs the page requested since the last call (from Chromium's performance log)."""
    urls = []
    for entry in web.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


_CONTENT_BOTTOM_JS = """
return Math.ceil(Math.max(0, ...Array.from(document.body.querySelectorAll("*"), e => {
  const r = e.getBoundingClientRect();
  return r.width && r.height ? r.bottom + window.scrollY : 0;
})));
"""


def screenshot(web, path: Path, height: int, width: int = 1280, max_height: int = 12000) -> Path:
    """A PNG of the whole page (up to ``max_height`` CSS pixels) through the DevTools protocol.

    The viewport is made as tall as the page for the capture (as Puppeteer's ``fullPage``
    does), trimmed to the bottom of the content in that layout, then put back.
    """
    import base64

    def viewport(h: int) -> None:
        web.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": h, "deviceScaleFactor": 1, "mobile": False})

    height = min(max(int(height), 1), max_height)
    viewport(height)
    try:
        web.execute_script("window.scrollTo(0, 0)")
        bottom = web.execute_script(_CONTENT_BOTTOM_JS) or height
        if 0 < bottom < height:
            viewport(bottom)
        shot = web.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "fromSurface": True})
    finally:
        web.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _wait_loaded(web, timeout: float = 15.0) -> None:
    """Wait until the page has loaded and is not a redirect (``index.html`` refreshes to the first chapter)."""
    import time

    from selenium.common.exceptions import WebDriverException

    probe = ("return document.readyState === 'complete' && !!document.body && "
             "!document.querySelector('meta[http-equiv=\"refresh\" i]')")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if web.execute_script(probe):
                return
        except WebDriverException:  # the page navigated while the probe ran
            pass
        time.sleep(0.1)


def figure_problems(fig: dict) -> list[str]:
    """Why a figure is hard to read, from what the page measured of it (``_SETTLE_JS``):
    ``width`` (CSS px as rendered), ``natural_width``, ``column`` (width of the text column)
    and ``ink`` (share of non-background pixels, ``None`` when the image could not be read)."""
    out, src = [], fig["src"]
    if fig["width"] < MIN_FILL * fig["column"] - 1:
        out.append(f"figure {src} is {fig['width']:.0f} px wide in a text column of {fig['column']:.0f} px "
                   f"(under {MIN_FILL:.0%}): make it wider (figsize width >= "
                   f"{MIN_FILL * fig['column'] / FIGURE_DPI:.1f} in)")
    scale = fig["width"] / fig["natural_width"]
    if scale < MIN_SCALE:
        out.append(f"figure {src} is shown at {scale:.2f} of its {fig['natural_width']} px: its "
                   f"{FIGURE_MIN_PT} pt labels render {FIGURE_MIN_PT * FIGURE_DPI / 72 * scale:.1f} px tall "
                   f"(under {MIN_LABEL_PX:g}): make it narrower (figsize width <= "
                   f"{fig['width'] / MIN_SCALE / FIGURE_DPI:.1f} in) or its labels larger")
    if fig["ink"] is None:
        out.append(f"figure {src}: its pixels could not be read")
    elif fig["ink"] < MIN_INK:
        out.append(f"figure {src} is mostly empty: {fig['ink']:.1%} of its pixels differ from the background "
                   f"(under {MIN_INK:.0%})")
    return out


def check_page(web, origin: str, html_dir: Path, page: str, shots: Path | None = None) -> PageReport:
    """Open ``page`` of the book served at ``origin`` and check it (see the module docstring)."""
    report = PageReport(page)
    web.get_log("browser"), _requests(web)  # drop what earlier pages left
    web.get(f"{origin}/{page}")
    _wait_loaded(web)
    out = web.execute_async_script(_SETTLE_JS.replace("%(ink_level)d", str(INK_LEVEL)))
    if "fatal" in out:
        report.problems.append(f"the page script failed: {out['fatal']}")
        return report
    report.url, report.images, report.links = out["url"], out["images"], len(out["links"])
    report.math_elements, report.mjx_containers = out["math_elements"], out["mjx_containers"]
    here = urlsplit(out["url"]).path.lstrip("/") or page
    problems = report.problems
    if out["mathjax_error"]:
        problems.append(f"MathJax: {out['mathjax_error']}")
    if out["math_elements"] and not out["mjx_containers"]:
        problems.append(f"{out['math_elements']} math elements but no mjx-container (MathJax did not render)")
    problems += [f"unrendered equation: {m!r}" for m in out["unrendered_math"]]
    for m in DELIMITER.finditer(out["text"]):
        context = out["text"][max(0, m.start() - 30):m.end() + 30].replace("\n", " ")
        problems.append(f"math delimiter left in the text: {m.group()!r} in ...{context}...")
    problems += [f"missing image: {src}" for src in out["broken_images"]]
    report.figures = out["figures"]
    for fig in out["figures"]:
        problems += figure_problems(fig)
    problems += [f"figure shown as text, not as an image: {r}" for r in out["figure_reprs"]]
    problems += [f"the same image is shown {n} times (a figure displayed by its cell and again by glue?): "
                 f"{src[len(origin):]}" for src, n in out["repeated_images"]]
    for href in sorted(set(out["links"])):
        why = link_target_problem(html_dir, here, href[len(origin):])
        if why:
            problems.append(f"broken internal link: {why}")
    for entry in web.get_log("browser"):
        message = entry.get("message", "")
        if entry.get("level") == "SEVERE" and not message.startswith(f"{origin}/favicon.ico "):
            problems.append(f"console error: {message}")
    for url in _requests(web):
        if NETWORK.match(url) and not url.startswith(origin + "/"):
            problems.append(f"remote request: {url}")
    if shots is not None:
        name = page.replace("/", "__").removesuffix(".html") + ".png"
        report.screenshot = screenshot(web, shots / name, out["height"])
        with open(shots / FIGURES_LOG, "a") as fh:  # what was measured of each figure, one page a line
            fh.write(json.dumps({"page": page, "figures": report.figures}) + "\n")
    return report


def check_book(html_dir: Path, shots: Path | None, profile_dir: Path) -> list[PageReport]:
    """Check every page of the book in ``html_dir``; screenshots go to ``shots``."""
    found = chromium()
    if found is None:
        raise RuntimeError("Chromium or chromedriver not found (apt-get install chromium chromium-driver)")
    with Server(html_dir) as server:
        web = start_browser(*found, profile_dir)
        try:
            return [check_page(web, server.origin, html_dir, page, shots) for page in pages(html_dir)]
        finally:
            web.quit()


def main(argv: list[str] | None = None) -> int:
    import tempfile
    import time

    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", nargs="?", default=str(root / "book" / "_build" / "html"))
    ap.add_argument("--out", default=str(root / "artifacts" / "screenshots"), help="screenshot folder")
    args = ap.parse_args(argv)
    html_dir = Path(args.html).resolve()
    t0, bad = time.perf_counter(), 0
    for line in remote_assets(html_dir):
        print(f"REMOTE ASSET {line}")
        bad += 1
    with tempfile.TemporaryDirectory() as profile_dir:
        reports = check_book(html_dir, Path(args.out), Path(profile_dir))
    for r in reports:
        print(f"{'FAIL' if r.problems else 'ok  '} {r.page}: {r.math_elements} math, {r.mjx_containers} "
              f"mjx-container, {r.images} images, {r.links} local links -> {r.screenshot}")
        for p in r.problems:
            print(f"     {p}")
        bad += len(r.problems)
    print(f"{len(reports)} pages, {bad} problems, {time.perf_counter() - t0:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
