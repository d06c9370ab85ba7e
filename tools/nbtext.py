"""Edit notebooks as plain text, without JupyterLab.

    python tools/nbtext.py totext nbs/00_core.ipynb core.txt     # notebook -> text
    python tools/nbtext.py tonb core.txt nbs/00_core.ipynb [--run] # text -> notebook (optionally executed)

The text form is a sequence of cells, each opened by a marker line: `# %%` for code and
`# %% [md]` for markdown, whose lines are commented out with `# ` (as in jupytext's percent format). The notebook in `nbs/` stays the source of truth; the text file is a
scratch copy. `--reuse` (prose-only edits) keeps the stored outputs when no code cell changed; `--keep` keeps those of
unchanged code cells and leaves changed ones empty. `--run` executes the notebook with execnb (the engine `nbdev_test` uses) from the
notebook's folder so that short outputs (a table, a plot) are stored; run `nbdev_clean` afterwards.
"""
import argparse, re, json, os, sys
from pathlib import Path

CODE, MD = "# %%", "# %% [md]"

def _src(lines):
    "Strip blank lines at both ends of a cell and join it the way nbformat stores it."
    while lines and not lines[0].strip(): lines.pop(0)
    while lines and not lines[-1].strip(): lines.pop()
    return "\n".join(lines)

def _uncomment(line): return line[2:] if line.startswith("# ") else line[1:] if line.startswith("#") else line

def text_to_cells(text):
    "Split the text form into nbformat cell dicts."
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        src = _src([_uncomment(l) for l in buf] if kind == "markdown" else buf)
        cell = {"cell_type": kind, "metadata": {}, "source": src}
        if kind == "code": cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    for line in text.splitlines():
        if line.rstrip() in (CODE, MD):
            flush(); kind, buf = ("markdown" if line.rstrip() == MD else "code"), []
        else: buf.append(line)
    flush()
    return cells

def cells_to_text(cells):
    "Render cells in the text form."
    out = []
    for c in cells:
        src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        if c["cell_type"] == "markdown": out += [MD, "\n".join(("# " + l).rstrip() for l in src.splitlines()), ""]
        else: out += [CODE, src, ""]
    return "\n".join(out)

def new_nb(cells):
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 4}

def run_nb(nb, path):
    "Execute `nb` in the folder of `path`, as nbdev_test does (IN_TEST is not set: outputs are full runs); stderr is not kept"
    from execnb.shell import CaptureShell
    from execnb.nbio import dict2nb, nb2dict
    cwd = os.getcwd()
    try:
        os.chdir(Path(path).parent)
        obj = dict2nb(nb)
        skip = lambda c: c.cell_type == "code" and re.search(r"^#\|\s*eval:\s*false", c.source, re.M) is not None  # as nbdev_test
        CaptureShell().run_all(obj, exc_stop=True, preproc=skip)
        for c in obj.cells:        # progress bars and load reports: live in Jupyter, noise in the stored notebook
            if c.cell_type == "code": c.outputs = [o for o in c.get("outputs", []) if o.get("name") != "stderr"]
        return nb2dict(obj)
    finally: os.chdir(cwd)

def _src_text(cell): return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cmd", choices=["totext", "tonb"]); p.add_argument("src"); p.add_argument("dst")
    p.add_argument("--run", action="store_true", help="execute the notebook and keep its outputs")
    p.add_argument("--reuse", action="store_true",
                   help="prose-only edits: keep the outputs of dst's code cells whose source is unchanged (fails if any code changed)")
    p.add_argument("--keep", action="store_true",
                   help="keep the outputs of code cells whose source is unchanged; changed cells get none (run the notebook later)")
    a = p.parse_args(argv)
    if a.cmd == "totext":
        nb = json.loads(Path(a.src).read_text())
        Path(a.dst).write_text(cells_to_text(nb["cells"]))
    else:
        nb = new_nb(text_to_cells(Path(a.src).read_text()))
        if a.run: nb = run_nb(nb, a.dst)
        elif a.reuse:
            old = [c for c in json.loads(Path(a.dst).read_text())["cells"] if c["cell_type"] == "code"]
            new = [c for c in nb["cells"] if c["cell_type"] == "code"]
            if [_src_text(c) for c in old] != [_src_text(c) for c in new]:
                sys.exit(f"{a.dst}: code cells changed, so their outputs would be stale: run it with --run")
            for o, n in zip(old, new): n["outputs"] = o.get("outputs", [])
        elif a.keep and Path(a.dst).exists():
            outs = {_src_text(c): c.get("outputs", []) for c in json.loads(Path(a.dst).read_text())["cells"] if c["cell_type"] == "code"}
            for n in nb["cells"]:
                if n["cell_type"] == "code": n["outputs"] = outs.get(_src_text(n), [])
        from execnb.nbio import dict2nb, write_nb   # write in the layout nbdev_clean keeps
        write_nb(dict2nb(nb), a.dst)

if __name__ == "__main__": sys.exit(main())
