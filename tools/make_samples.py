"""Cut the small real slices in tests/data from the full registered datasets, deterministically.

    LLM_FT_DATA=<mirror> python tools/make_samples.py      # or with the datasets in the user cache

Each slice keeps the full file's name and exact format (a header where the file has one, the same quoting and line
endings), so the registry's readers work on it unchanged, and each folder gets a README with the source, licence and
citation. Prints every slice's SHA-256: they are the `sample_sha256` values in nbs/04c_datasets.ipynb.
"""
import hashlib, json, sys
from pathlib import Path
from llm_ft.datasets import REGISTRY, get_dataset

OUT = Path(__file__).resolve().parents[1]/"tests"/"data"

def every(k):
    "Keep data lines 0, k, 2k, ... (a header line, if any, is kept apart)"
    return lambda lines: lines[::k]

def per_class(n):
    "The first n lines of each class (first CSV field), in file order"
    def pick(lines):
        seen, out = {}, []
        for l in lines:
            c = l.split(b",", 1)[0]
            if seen.get(c, 0) < n: out.append(l); seen[c] = seen.get(c, 0) + 1
        return out
    return pick

def squad_articles(n_articles, per_article):
    "The first `per_article` questions of each of the first `n_articles` articles"
    def pick(lines):
        seen, out = {}, []
        for l in lines:
            t = json.loads(l)["title"]
            if t not in seen and len(seen) == n_articles: continue
            if seen.setdefault(t, 0) < per_article: out.append(l); seen[t] += 1
        return out
    return pick

# dataset -> file -> (has a header line, how lines are picked, what the README says about it)
RULES = {
    "sst2": {"train.tsv": (True, every(168), "the header and every 168th phrase (401 rows)"),
             "dev.tsv": (True, every(4), "the header and every 4th sentence (218 rows)")},
    "sms_spam": {"SMSSpamCollection.tsv": (False, every(10), "every 10th message (558 rows)")},
    "ag_news": {"test.csv": (False, per_class(100), "the first 100 articles of each class (400 rows)"),
                "classes.txt": (False, lambda l: l, "unchanged")},
    "tinyshakespeare": {"input.txt": (False, lambda l: l[:2000], "the first 2,000 lines")},
    "en_fr": {"eng-fra.tsv": (False, every(40), "every 40th pair (510 rows), short and long alike (the file is sorted by length)")},
    "squad": {"dev-v1.1.jsonl": (False, squad_articles(8, 40), "the first 40 questions on each of the first 8 articles (320 rows)")},
}

def cut(data:bytes, header:bool, pick)->bytes:
    lines = data.split(b"\n")
    end = lines.pop() if lines and lines[-1] == b"" else None           # a file ending in a newline
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    return b"\n".join(head + pick(body)) + (b"\n" if end is not None else b"")

def readme(info, notes:dict, shas:dict)->str:
    rows = "\n".join(f"| {f} | {notes[f]} | `{shas[f]}` |" for f in notes)
    return (f"# {info.name}: test slice of {info.title}\n\nA few hundred real rows for llm_ft's tests and notebooks under the "
            f"test budget; the full dataset comes by name through `llm_ft.datasets.get_dataset({info.name!r})`.\n\n"
            f"- Source: {info.homepage}; full files: " + ", ".join(f"`{f.name}` (sha256 `{f.sha256}`, from {f.urls[0]})" for f in info.files) +
            f"\n- Licence: {info.license}\n- Citation: {info.citation}\n\n| file | rows kept | sha256 of the slice |\n|---|---|---|\n{rows}\n\n"
            "Made by `tools/make_samples.py`; every line is copied unchanged from the full file.\n")

def main():
    for name, rules in RULES.items():
        ds, info = get_dataset(name), REGISTRY[name]
        out, shas = OUT/name, {}
        out.mkdir(parents=True, exist_ok=True)
        for fname, (header, pick, _) in rules.items():
            data = cut(ds.files[fname].read_bytes(), header, pick)
            (out/fname).write_bytes(data); shas[fname] = hashlib.sha256(data).hexdigest()
            print(f"{name}/{fname}: {len(data):,} bytes sha256 {shas[fname]}")
        (out/"README.md").write_text(readme(info, {f: r[2] for f, r in rules.items()}, shas), encoding="utf-8")

if __name__ == "__main__": sys.exit(main())
