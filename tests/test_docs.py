"""The documentation site, rendered offline (tools/offline_docs.py) and opened in a real headless browser.

Screenshots of the index and a tutorial are saved as artefacts in $LLM_FT_ARTIFACTS (default: artifacts/, not
committed). The browser is the first found of $LLM_FT_BROWSER, Debian's `chromium-headless-shell`, Chromium, or Google
Chrome (which GitHub's Ubuntu images carry); without one the browser checks are skipped with a message, unless
LLM_FT_REQUIRE_BROWSER=1 (as in .ci/run, which installs one when none is there), when they fail instead.
"""
import json, os, re, shutil, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("LLM_FT_ARTIFACTS", ROOT/"artifacts"))
NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = os.environ.get("LLM_FT_BROWSER") or next((p for p in map(shutil.which, NAMES) if p), None)

class Page(HTMLParser):
    "Headings, code blocks and inline images of one HTML page"
    def __init__(self, text):
        super().__init__(); self.headings, self.code, self.images, self.links, self._h = [], 0, [], [], None
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if re.fullmatch(r"h[1-3]", tag): self._h = ""
        if tag == "pre": self.code += 1
        if tag == "img": self.images.append(a.get("src", ""))
        if tag == "a" and a.get("href"): self.links.append(a["href"])
    def handle_data(self, data):
        if self._h is not None: self._h += data
    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-3]", tag) and self._h is not None: self.headings.append(self._h.replace("¶", "").strip()); self._h = None

def _title(nb_path:Path)->str:
    "The notebook's `# Title` (what nbdev turns into the page title)"
    for c in json.loads(nb_path.read_text())["cells"]:
        if c["cell_type"] == "markdown":
            m = re.match(r"#\s+(.+)", "".join(c["source"]).strip())
            if m: return m.group(1).replace("`", "").strip()           # inline code renders as <code>: compare the text
    raise AssertionError(f"{nb_path} has no '# Title' markdown cell")

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, str(ROOT/"tools"/"offline_docs.py"), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"offline docs render failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return out

def _notebooks():
    nbs = ROOT/"nbs"
    return [p for p in sorted(nbs.rglob("*.ipynb")) if not any(q.startswith((".", "_")) for q in p.relative_to(nbs).parts)]

def test_every_notebook_has_a_page_with_its_title(site):
    pages = {str(p.relative_to(site)): Page(p.read_text()) for p in site.rglob("*.html")}
    assert "index.html" in pages and any(k.startswith("tutorials/") for k in pages), sorted(pages)
    assert len(pages) == len(_notebooks()), (len(pages), sorted(pages))
    titles = {h for pg in pages.values() for h in pg.headings[:1]}
    for nb in _notebooks(): assert _title(nb) in titles, f"no page is titled {_title(nb)!r} ({nb.name})"
    for name, pg in pages.items():                                   # every sidebar/body link to a page resolves
        for href in pg.links:
            if href.endswith(".html") and "://" not in href:
                assert (site/name).parent.joinpath(href).resolve().exists(), f"{name}: broken link {href}"

def test_api_pages_show_signatures_and_code(site):
    pg = Page((site/"finetune.html").read_text())
    assert "finetune" in pg.headings and pg.code >= 3, (pg.headings[:10], pg.code)   # show_doc heading + signature blocks
    idx = Page((site/"index.html").read_text())
    assert idx.headings[0] == "llm_ft" and "Install and run" in idx.headings and idx.code >= 3

def test_tutorials_have_plots(site):
    tut = sorted((site/"tutorials").glob("*.html"))
    assert len(tut) == 8, [t.name for t in tut]
    for t in tut:
        pg = Page(t.read_text())
        assert pg.code >= 5, f"{t.name}: only {pg.code} code blocks"
        assert any(s.startswith("data:image/png;base64,") for s in pg.images), f"{t.name}: no plot"

def _browser():
    if BROWSER: return BROWSER
    if os.environ.get("LLM_FT_REQUIRE_BROWSER"): pytest.fail(f"LLM_FT_REQUIRE_BROWSER is set but no browser was found ({', '.join(NAMES)})")
    pytest.skip(f"no headless browser ({', '.join(NAMES)}): apt-get install -y chromium-headless-shell, or set LLM_FT_BROWSER")

@pytest.mark.parametrize("page,heading", [("index.html", "llm_ft"), ("tutorials/pretrain_gpt.html", "Pretraining a GPT from scratch"),
                                          ("evaluation.html", "Evaluation")])
def test_pages_open_in_a_browser(site, page, heading):
    exe = _browser()
    url = (site/page).as_uri()
    flags = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1600"]
    if "headless-shell" not in Path(exe).name: flags.insert(0, "--headless")          # a full Chromium/Chrome
    dom = subprocess.run([exe, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert f">{heading}" in dom and "<pre" in dom, f"{page}: heading {heading!r} or code missing from the DOM the browser built"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS/("screenshot_" + page.replace("/", "_").replace(".html", ".png"))
    shot.unlink(missing_ok=True)
    subprocess.run([exe, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.exists(), f"no screenshot of {page}"
    import matplotlib.image as mpimg
    img = mpimg.imread(shot)
    assert img.shape[1] == 1200 and img.shape[0] >= 1400, img.shape                     # Chrome's headless may trim a few rows
    assert img[..., :3].std() > 0.05, f"{page}: the screenshot is blank"                  # text and sidebar drawn
