"""Pretraining throughput: llm_ft's loop vs Hugging Face Trainer on the same GPT-2-shaped model and tokens.

    python bench/pretrain_throughput.py [--data FOLDER] [--steps 12] [--rounds 2]

Model: 4 layers, 4 heads, 256 wide, block 256, vocab 8192, batch 16, fp32, AdamW 3e-4 cosine, clipping 1.0.
Tokens: tinyshakespeare with a byte-level BPE (8192). Runs alternate in fresh processes (so peak RSS is
per run): llm_ft (`fit` + our GPT), Trainer + transformers' GPT2LMHeadModel (what users get), and
Trainer + our GPT (the same model under Trainer: separates loop from model). Tokens/s is measured over
the steps after the first two; MFU = tokens/s * FLOPs/token / peak, FLOPs/token = 6*N_matmul + 12*L*d*T,
peak = best fp32 matmul FLOP/s measured in the same process. Prints a table and one JSON line.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

SHAPE = dict(vocab_size=8192, n_positions=256, n_embd=256, n_layer=4, n_head=4)
BATCH, T = 16, 256

def worker(kind, tokens_path, steps, out):
    import torch
    from torch.utils.data import Dataset
    from llm_ft.model import GPTConfig, GPTForCausalLM, flops_per_token
    from llm_ft.train import matmul_peak_flops, peak_memory_bytes, Callback, fit, Batches
    from llm_ft.config import TrainConfig
    torch.manual_seed(0)
    toks = np.fromfile(tokens_path, dtype=np.uint16).astype(np.int64)
    n = len(toks) // T
    class Blocks(Dataset):
        def __len__(self): return n
        def __getitem__(self, i): x = torch.from_numpy(toks[i*T:(i+1)*T]); return {"input_ids": x, "labels": x}
    stamps = []
    peak = matmul_peak_flops()
    fpt = flops_per_token(GPTConfig(**SHAPE), T)
    if kind == "llm_ft":
        class Stamp(Callback):
            def on_step(self, state, record): stamps.append(time.perf_counter())
        from torch.utils.data import default_collate
        model = GPTForCausalLM(GPTConfig(**SHAPE))
        cfg = TrainConfig(lr=3e-4, max_steps=steps, schedule="cosine", max_grad_norm=1.0, log_every=10**6, keep_last=1)
        with tempfile.TemporaryDirectory() as d:
            stamps.append(time.perf_counter())
            fit(model, Batches(Blocks(), BATCH, default_collate), cfg, d, callbacks=[Stamp()])
    else:
        from transformers import Trainer, TrainingArguments, TrainerCallback, GPT2Config, GPT2LMHeadModel
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        model = (GPT2LMHeadModel(GPT2Config(vocab_size=8192, n_positions=T, n_embd=256, n_layer=4, n_head=4, bos_token_id=0, eos_token_id=0))
                 if kind == "trainer_gpt2" else GPTForCausalLM(GPTConfig(**SHAPE)))
        class Stamp(TrainerCallback):
            def on_step_end(self, args, state, control, **kw): stamps.append(time.perf_counter())
            def on_train_begin(self, args, state, control, **kw): stamps.append(time.perf_counter())
        with tempfile.TemporaryDirectory() as d:
            args = TrainingArguments(output_dir=d, per_device_train_batch_size=BATCH, max_steps=steps, learning_rate=3e-4,
                                     lr_scheduler_type="cosine", max_grad_norm=1.0, save_strategy="no", report_to=[],
                                     use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, logging_steps=10**6)
            Trainer(model=model, args=args, train_dataset=Blocks(), callbacks=[Stamp()]).train()
    dts = np.diff(stamps)[2:]                          # skip the first two steps (warm-up)
    tps = BATCH * T / float(np.mean(dts))
    json.dump({"kind": kind, "tokens_per_s": tps, "mfu": tps * fpt / peak, "peak_gflops": peak / 1e9,
               "peak_rss_mb": peak_memory_bytes() / 2**20, "s_per_step": float(np.mean(dts))}, open(out, "w"))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="a folder holding the datasets (default: the registry: LLM_FT_DATA, the cache, or a download)")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker[0], a.worker[1], a.steps, a.worker[2])
    from llm_ft.data import pack_file
    from llm_ft.tokenizer import train_bpe_tokenizer
    from llm_ft.datasets import get_dataset
    src = get_dataset("tinyshakespeare", folder=a.data).files["input.txt"]
    tmp = Path(tempfile.mkdtemp())
    tok = train_bpe_tokenizer(src.read_text().split("\n\n"), vocab_size=8192)
    tf = pack_file(src, tok, tmp)
    kinds, res = ["llm_ft", "trainer_gpt2", "trainer_ours"], {}
    for r in range(a.rounds):
        for k in kinds:                                   # alternate, so machine noise hits every contender
            out = tmp/f"{k}-{r}.json"
            subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--worker", k, str(tf.path), str(out)], check=True,
                           env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
            res.setdefault(k, []).append(json.loads(out.read_text()))
    best = {k: max(v, key=lambda x: x["tokens_per_s"]) for k, v in res.items()}
    print(f"{'contender':16}{'tokens/s':>10}{'MFU':>8}{'s/step':>8}{'peak RSS MB':>13}")
    for k in kinds:
        b = best[k]; print(f"{k:16}{b['tokens_per_s']:10,.0f}{b['mfu']:8.1%}{b['s_per_step']:8.2f}{b['peak_rss_mb']:13,.0f}")
    ratio = best["llm_ft"]["tokens_per_s"] / best["trainer_gpt2"]["tokens_per_s"]
    print(f"llm_ft / Trainer(GPT2LMHeadModel): {ratio:.2f}x tokens/s; matmul peak {best['llm_ft']['peak_gflops']:.0f} GFLOP/s")
    print(json.dumps({"bench": "pretrain_throughput", "steps": a.steps, "rounds": a.rounds, "results": best,
                      "ratio_vs_trainer_gpt2": round(ratio, 3),
                      "ratio_vs_trainer_ours": round(best["llm_ft"]["tokens_per_s"] / best["trainer_ours"]["tokens_per_s"], 3)}))

if __name__ == "__main__": main()
