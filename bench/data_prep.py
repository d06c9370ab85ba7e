"""Data preparation speed: llm_ft's packer vs the Hugging Face `run_clm` pipeline, same run, same tokenizer.

    python bench/data_prep.py [--data FOLDER] [--repeats 2]

For tinyshakespeare and SST-2 train it tokenizes and packs the text into 256-token blocks, cold
(empty caches) and warm (caches filled by the cold run), with
  * llm_ft: `pack_file` (read, Rust `encode_batch_fast`, uint16 memmap cached on the file's bytes) + `LMBlocks`;
  * HF run_clm: `load_dataset("text"/"csv")` + `datasets.map(tokenize, batched=True)` + `map(group_texts)`,
    with the datasets cache in the same temporary folder.
Prints a table and one JSON line. Tokens/s counts the tokens produced.
"""
import argparse, json, os, shutil, sys, tempfile, time
from itertools import chain
from pathlib import Path
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
import datasets
from llm_ft.data import read_rows, pack_file, LMBlocks
from llm_ft.datasets import get_dataset
from llm_ft.tokenizer import train_bpe_tokenizer

BLOCK = 256
datasets.disable_progress_bars()

def ours(path, fmt_kw, column, tok, cache):
    tf = pack_file(path, tok, cache, text_column=column, **fmt_kw)
    return len(LMBlocks(tf, BLOCK)) * BLOCK, tf.n_tokens

def hf_run_clm(path, builder, column, tok, cache, builder_kw):
    raw = datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=str(cache), **builder_kw)
    eos = tok.eos_token
    tokd = raw.map(lambda b: tok([t + eos for t in b[column]]), batched=True, remove_columns=raw.column_names)
    def group_texts(ex):
        cat = {k: list(chain(*ex[k])) for k in ex}
        n = (len(cat["input_ids"]) // BLOCK) * BLOCK
        out = {k: [v[i:i + BLOCK] for i in range(0, n, BLOCK)] for k, v in cat.items()}
        out["labels"] = out["input_ids"].copy()
        return out
    blocks = tokd.map(group_texts, batched=True, batch_size=1000)
    return len(blocks) * BLOCK, sum(len(x) for x in tokd["input_ids"])

def timed(fn, *a):
    t0 = time.perf_counter(); out = fn(*a); return time.perf_counter() - t0, out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="a folder holding the datasets (default: the registry: LLM_FT_DATA, the cache, or a download)")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    shakes, sst = get_dataset("tinyshakespeare", folder=a.data).files["input.txt"], get_dataset("sst2", folder=a.data).files["train.tsv"]
    tok = train_bpe_tokenizer(read_rows(sst)["sentence"][:20000] + shakes.read_text().split("\n\n"), vocab_size=8192)
    cases = [("tinyshakespeare", shakes, {"format": "text"}, "text", "text", {}),
             ("sst2-train", sst, {}, "sentence", "csv", {"delimiter": "\t", "quoting": 3})]
    results = []
    print(f"{'corpus':16}{'pipeline':10}{'cold s':>9}{'warm s':>9}{'tokens':>11}{'cold tok/s':>13}{'warm tok/s':>13}")
    for name, path, fmt_kw, column, builder, bkw in cases:
        row = {"corpus": name}
        for label, fn, args in (("llm_ft", ours, (path, fmt_kw, column, tok)), ("hf_run_clm", hf_run_clm, (path, builder, column, tok))):
            cold, warm = [], []
            for _ in range(a.repeats):
                cache = Path(tempfile.mkdtemp())
                try:
                    tc, (blocked, n_tok) = timed(fn, *args, cache, *([bkw] if label == "hf_run_clm" else []))
                    tw, _ = timed(fn, *args, cache, *([bkw] if label == "hf_run_clm" else []))
                finally: shutil.rmtree(cache, ignore_errors=True)
                cold.append(tc); warm.append(tw)
            c, w = min(cold), min(warm)
            row[label] = {"cold_s": round(c, 3), "warm_s": round(w, 3), "tokens": n_tok, "cold_tok_s": round(n_tok / c), "warm_tok_s": round(n_tok / w)}
            print(f"{name:16}{label:10}{c:9.2f}{w:9.2f}{n_tok:11,}{n_tok / c:13,.0f}{n_tok / w:13,.0f}")
        row["speedup_cold"] = round(row["hf_run_clm"]["cold_s"] / row["llm_ft"]["cold_s"], 2)
        row["speedup_warm"] = round(row["hf_run_clm"]["warm_s"] / row["llm_ft"]["warm_s"], 2)
        print(f"{'':16}speed-up vs run_clm: cold {row['speedup_cold']}x, warm {row['speedup_warm']}x")
        results.append(row)
    print(json.dumps({"bench": "data_prep", "block_size": BLOCK, "results": results}))

if __name__ == "__main__": main()
