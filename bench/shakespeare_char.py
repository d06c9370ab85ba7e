"""nanoGPT's CPU Shakespeare configuration, trained with llm_ft: `python bench/shakespeare_char.py`.

nanoGPT (README, "I only have a macbook"): char-level tinyshakespeare, 90/10 split, 4 layers, 4 heads, 128 wide,
block 64, batch 12, 2000 iterations, lr 1e-3 with 100 warmup iterations and cosine decay to 1e-4, AdamW
betas (0.9, 0.99), weight decay 0.1, clipping 1.0, dropout 0: reported val loss ~1.88. Here the validation
loss is measured on the *whole* held-out 10% (nanoGPT estimates it from 20 random batches). Prints a table and one JSON line.
"""
import argparse, json, os, tempfile, time
from pathlib import Path
from llm_ft.config import PretrainConfig, load_config
from llm_ft.core import read_jsonl
from llm_ft.pretrain import pretrain

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--out", default=None, help="runs folder (default: a temporary one)")
    a = ap.parse_args()
    out = Path(a.out or tempfile.mkdtemp())
    cfg = load_config(PretrainConfig, "shakespeare_char", [f"run_dir={out}", f"train.max_steps={a.iters}"])   # nanoGPT's settings
    t0 = time.perf_counter()
    run = pretrain(cfg)
    wall = time.perf_counter() - t0
    res = json.loads((run/"results.json").read_text())
    evals = [(r["step"], r["eval_loss"]) for r in read_jsonl(run/"metrics.jsonl") if "eval_loss" in r]
    train = [r for r in read_jsonl(run/"metrics.jsonl") if "loss" in r]
    print(f"\n{'step':>6}{'val loss':>10}")
    for s, l in evals: print(f"{s:6d}{l:10.4f}")
    ms = 1000 * res["train_seconds"] / res["steps"]
    print(f"final val loss {evals[-1][1]:.4f} (nanoGPT reports ~1.88 at 2000 iterations); {res['steps']} iterations, "
          f"{ms:.1f} ms/iter, wall {wall:.0f} s, {train[-1]['tokens_per_s']:,.0f} tokens/s")
    print(json.dumps({"bench": "shakespeare_char", "iters": res["steps"], "val_loss": round(evals[-1][1], 4),
                      "nanogpt_val_loss": 1.88, "ms_per_iter": round(ms, 2), "wall_s": round(wall, 1),
                      "tokens_per_s": round(train[-1]["tokens_per_s"])}))

if __name__ == "__main__": main()
