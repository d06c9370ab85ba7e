"""Render the documentation site without quarto, from the same processed notebooks quarto renders.

    python tools/offline_docs.py [--out _site]      # writes _site/index.html, _site/core.html, ..., _site/tutorials/*.html

GitHub Actions builds the real site with quarto (`deploy.yaml` -> `nbdev_docs`). Quarto cannot be installed on every
machine (not on our CI machines), so this script gives a faithful preview that CI can build and a browser can open:
1. nbdev's own pre-processing, minus its quarto install: `_quarto.yml`/`nbdev.yml`, `sidebar.yml`, and `_proc/` with
   `show_doc` cells executed into API docs, directives applied and a front-matter cell per notebook;
2. nbconvert's HTML exporter on each processed notebook, with what quarto would do by hand: the front matter becomes
   the title and description, `echo: false` cells show only their output, `#|` lines go, pandoc's `{target=...}`
   attributes are dropped, and every page gets the sidebar (same order as `sidebar.yml`) and its links rewritten from
   `.ipynb` to `.html`.
"""
import argparse, html, os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def preprocess(n_workers:int=1)->Path:
    "nbdev's docs pre-processing (what `nbdev_proc_nbs` does) without trying to install quarto; returns `_proc/`"
    os.chdir(ROOT)
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__(path=cfg.nbs_path)
    return Path(proc_nbs(cfg.nbs_path, n_workers=n_workers))

def _front_matter(nb)->dict:
    "The `---` raw cell nbdev puts first: title, description, output-file"
    for c in nb.cells[:2]:
        if c.cell_type == "raw" and c.source.startswith("---"):
            import yaml
            nb.cells.remove(c)
            return yaml.safe_load(c.source.strip().strip("-")) or {}
    return {}

def _sidebar(nbs:Path)->list[tuple[str, list[str]]]:
    "Sections of (title, [notebook paths relative to nbs/]) in sidebar.yml's order"
    import yaml
    items = yaml.safe_load((nbs/"sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    out, top = [], []
    for it in items:
        if isinstance(it, str): top.append(it)
        elif isinstance(it, dict) and "section" in it: out.append((it["section"], [c for c in it["contents"] if isinstance(c, str)]))
    return [("", top)] + out

def _page_name(rel:str, fm:dict)->str:
    "The page quarto writes: the front matter's output-file (nbdev drops the number prefix) beside the notebook's folder"
    p = Path(rel)
    return str(p.with_name(fm.get("output-file") or p.stem + ".html"))

STYLE = """
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;display:flex}
nav{width:230px;min-width:230px;padding:1rem;border-right:1px solid #ddd;height:100vh;position:sticky;top:0;overflow-y:auto;font-size:14px}
nav a{display:block;padding:2px 0;color:#2a6ebb;text-decoration:none} nav a.here{font-weight:bold;color:#111}
nav h4{margin:1rem 0 .3rem;font-size:13px;text-transform:uppercase;color:#666}
main{flex:1;min-width:0;padding:0 2rem} .description{color:#555;font-size:1.15rem;margin-top:-.5rem}
"""

def _nav(sections, titles:dict, pages:dict, here:str, depth:int)->str:
    up = "../" * depth
    out = ['<nav><a href="%sindex.html"><b>llm_ft</b></a>' % up]
    for title, rels in sections:
        if title: out.append(f"<h4>{html.escape(title)}</h4>")
        for rel in rels:
            page = pages.get(rel, rel)
            name = titles.get(rel) or Path(rel).stem
            out.append(f'<a class="{"here" if page == here else ""}" href="{up}{page}">{html.escape(name)}</a>')
    return "\n".join(out + ["</nav>"])

def render(proc:Path, out:Path)->list[Path]:
    "HTML pages for every processed notebook under `proc`, written under `out`"
    import nbformat
    from nbconvert import HTMLExporter
    nbs = proc                                        # sidebar.yml and the processed notebooks sit side by side
    sections = _sidebar(nbs)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    paths = [p for p in sorted(nbs.rglob("*.ipynb")) if not any(q.startswith((".", "_")) for q in p.relative_to(nbs).parts)]
    books = {str(p.relative_to(nbs)): nbformat.read(p, as_version=4) for p in paths}
    fms = {rel: _front_matter(nb) for rel, nb in books.items()}
    titles = {rel: ("Home" if rel == "index.ipynb" else fm.get("title")) for rel, fm in fms.items()}
    pages = {rel: _page_name(rel, fm) for rel, fm in fms.items()}
    written = []
    for rel, nb in books.items():
        fm = fms[rel]
        for c in nb.cells:
            if c.cell_type == "code":
                dirs = [l for l in c.source.splitlines() if l.startswith("#|")]
                hidden = any(re.match(r"#\|\s*(echo:\s*false|hide)", d) for d in dirs)
                c.source = "" if hidden else "\n".join(l for l in c.source.splitlines() if not l.startswith("#|")).strip()
                for o in c.get("outputs", []):
                    md = o.get("data", {}).get("text/markdown")
                    if md: o["data"]["text/markdown"] = re.sub(r"\{target=[^}]*\}", "", md)
            elif c.cell_type == "markdown": c.source = re.sub(r"\{target=[^}]*\}", "", c.source)
        nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and not c.source and not c.get("outputs"))]
        title = fm.get("title", Path(rel).stem)
        head = [nbformat.v4.new_markdown_cell(f"# {title}" + (f"\n\n<p class='description'>{html.escape(fm['description'])}</p>"
                                                                if fm.get("description") else ""))]
        nb.cells = head + nb.cells
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        page = pages[rel]
        depth = page.count("/")
        body = re.sub(r'href="([^"#:]+)\.ipynb', r'href="\1.html', body)     # notebook links -> pages
        body = re.sub(r'href="(?:\./)?((?:\.\./|[\w-]+/)*)\d+[a-z]?_([^"/]+\.html)', r'href="\1\2', body)  # nbdev's pages drop the number prefix
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav(sections, titles, pages, page, depth) + "<main>", body, count=1)
        body = body.replace("</body>", "</main></body>", 1).replace("</head>", f"<style>{STYLE}</style></head>", 1)
        dest = out/page
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(body, encoding="utf-8")
        written.append(dest)
    return written

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT/"_site"), help="folder for the HTML pages (default: _site)")
    ap.add_argument("--n_workers", type=int, default=1, help="processes for nbdev's notebook processing")
    a = ap.parse_args(argv)
    out = Path(a.out).resolve()
    proc = preprocess(a.n_workers)
    if out.exists(): shutil.rmtree(out)
    pages = render(proc, out)
    print(f"{len(pages)} pages in {out}")
    return 0

if __name__ == "__main__": sys.exit(main())
