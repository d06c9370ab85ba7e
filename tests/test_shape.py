"""The architecture's rules, checked on the source: task names live in the task registry only, recipes do not import
each other, functions stay short and notebooks keep nbdev's shape (one definition per export cell, small cells)."""
import ast, json, re, statistics
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/"llm_ft"
TASK_NAMES = {"classification", "generation", "extractive_qa", "qa", "chat"}

def module(name): return ast.parse((PKG/f"{name}.py").read_text(encoding="utf-8"))

def imported(tree)->set:
    "Names of llm_ft modules a module imports (relative or absolute), at any depth"
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module:
            mod = n.module.removeprefix("llm_ft.") if n.module.startswith("llm_ft") or n.level else None
            if mod: out.add(mod)
        elif isinstance(n, ast.Import): out |= {a.name.removeprefix("llm_ft.") for a in n.names if a.name.startswith("llm_ft.")}
    return out

def task_comparisons(tree)->list:
    "Lines that compare something to a task name: `x == 'classification'`, `x in ('generation', ...)`"
    hits = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Compare): continue
        consts = [c for c in [n.left, *n.comparators] for c in ([c] if isinstance(c, ast.Constant) else getattr(c, "elts", []))]
        if any(isinstance(c, ast.Constant) and c.value in TASK_NAMES for c in consts): hits.append(n.lineno)
    return hits

@pytest.mark.parametrize("name", sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("tasks", "_modidx")))
def test_only_the_task_registry_compares_task_names(name):
    assert task_comparisons(module(name)) == [], f"llm_ft/{name}.py branches on a task name; ask the Task object instead"

def test_the_rule_catches_a_task_branch():
    assert task_comparisons(ast.parse("if cfg.task == 'classification': pass\nok = t in ('chat', 'x')")) == [1, 2]

@pytest.mark.parametrize("name,forbidden", [("finetune", {"pretrain"}), ("pretrain", {"finetune"}), ("inference", {"pretrain", "finetune"}),
                                            ("evaluation", {"train", "pretrain", "finetune"}), ("tasks", {"pretrain", "finetune"})])
def test_recipes_do_not_import_each_other(name, forbidden):
    assert imported(module(name)) & forbidden == set()

def test_functions_are_short():
    longest = max((n.end_lineno - n.lineno + 1, f"{p.name}:{n.name}") for p in PKG.glob("*.py") if p.stem != "_modidx"
                  for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    assert longest[0] <= 70, f"{longest[1]} is {longest[0]} lines; split it into named helpers"

def export_cells(nb:Path)->list:
    src = lambda c: "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
    return [src(c) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code" and re.match(r"#\|\s*export\b", src(c))]

def test_notebooks_keep_nbdevs_shape():
    cells = [c for nb in sorted((ROOT/"nbs").glob("[0-9]*.ipynb")) for c in export_cells(nb)]
    assert statistics.median(len(c.strip().splitlines()) for c in cells) <= 20
    many = [c.splitlines()[1] for c in cells
            if sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse("\n".join(l for l in c.splitlines() if not l.startswith("#|"))).body) > 1]
    assert not many, f"export cells with more than one definition: {many[:5]}"
