"""Full-fine-tuning memory: peak resident memory per parameter, llm_ft vs Hugging Face `Trainer`, same model, same batch.

    python bench/memory.py [--sizes 10M,100M,350M] [--moonshot] [--curves] [--data FOLDER]

Every measurement runs in a fresh process: imports, then one warm-up step of a 1-layer model of the same width, batch and
length (PyTorch's kernels, thread pools and matrix-multiply workspaces stay resident afterwards; they are not the model's
cost), then the baseline resident memory is read and the peak counter reset (/proc/self/clear_refs), then the model is
built and trained for `--steps` optimizer steps (AdamW, lr 1e-4, random tokens, batch 2 x 128 by default). Reported:
peak resident growth / parameters (bytes/param), seconds per step, the planner's prediction for the same setting.

  * Trainer: `Trainer.train()` with its default AdamW, fp32; and with `gradient_checkpointing=True`.
  * llm_ft: `fit()` with fp32 AdamW (the same arithmetic as Trainer), then the memory savers one at a time and together:
    activation checkpointing, the optimizer step inside backward, bf16 Adam moments (stochastic rounding).
  * --moonshot: one full training step of a 1.1B-parameter Llama (TinyLlama's shape, random init) at batch 1 x 256, all
    savers on, and Trainer's best setting for the same step; a watchdog stops any run whose resident memory passes
    --cap_gb (default 21 GB of this 24 GB machine) and reports that it did not fit.
  * --curves: a 60-step run on tinyshakespeare (a 3.6M-parameter GPT, byte-level BPE) for each saver, against two
    baseline runs that differ only in data order (the noise): the savers must stay within that noise.
Prints a table and one JSON line.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

SIZES = {  # GPT-2-shaped models (our GPTForCausalLM): name -> (n_embd, n_layer, n_head, vocab)
    "10M": (384, 4, 6, 8192), "100M": (768, 12, 12, 16384), "350M": (1024, 24, 16, 32768)}
TINYLLAMA = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                 vocab_size=32000, max_position_embeddings=2048)
SAVERS = {  # name -> llm_ft TrainConfig / model switches
    "fp32 AdamW": {}, "+ checkpointing": {"checkpointing": True}, "+ step in backward": {"optimizer_in_backward": True},
    "+ bf16 moments": {"optimizer_state": "bf16"},
    "all savers": {"checkpointing": True, "optimizer_in_backward": True, "optimizer_state": "bf16"}}

# ---------------------------------------------------------------------------------------------------------- child side
def _rss(field="VmRSS:"):
    for line in open("/proc/self/status"):
        if line.startswith(field): return int(line.split()[1]) * 1024

def _build(spec):
    import torch
    torch.manual_seed(0)
    if spec["arch"] == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM
        return LlamaForCausalLM(LlamaConfig(**{**TINYLLAMA, **spec.get("shape", {})}))
    from llm_ft.model import GPTConfig, GPTForCausalLM
    d, L, h, V = spec["shape"]
    return GPTForCausalLM(GPTConfig(vocab_size=V, n_positions=spec["T"], n_embd=d, n_layer=L, n_head=h))

def child(spec):
    "Measure one setting; print one JSON line"
    import torch
    from transformers import Trainer, TrainingArguments, TrainerCallback
    from transformers.utils import logging as hf_logging
    from llm_ft.config import TrainConfig
    from llm_ft.model import enable_checkpointing
    from llm_ft.train import fit, Batches, Callback
    hf_logging.set_verbosity_error(); torch.set_num_threads(min(2, os.cpu_count()))
    B, T, steps, V = spec["B"], spec["T"], spec["steps"], None
    warm_spec = {**spec, "shape": ({"num_hidden_layers": 1, "vocab_size": 64} if spec["arch"] == "llama" else
                                   [spec["shape"][0], 1, spec["shape"][2], 64])}
    warm = _build(warm_spec); x = torch.randint(0, 64, (B, T)); opt = torch.optim.AdamW(warm.parameters())
    warm(input_ids=x, labels=x).loss.backward(); opt.step(); del warm, opt, x
    base = _rss(); open("/proc/self/clear_refs", "w").write("5")                 # peak counter := now
    model = _build(spec); N = sum(p.numel() for p in model.parameters())
    V = model.config.vocab_size
    g = torch.Generator().manual_seed(1)
    rows = [{"input_ids": r, "labels": r} for r in torch.randint(0, V, (B * steps, T), generator=g)]
    o = spec["opts"]; peaks, losses, times = [], [], []
    if spec["who"] == "trainer":
        class Rec(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw): self.t0 = time.perf_counter()
            def on_step_end(self, args, state, control, **kw): peaks.append(_rss("VmHWM:")); times.append(time.perf_counter() - self.t0)
        import datasets
        ds = datasets.Dataset.from_list([{k: v.tolist() for k, v in r.items()} for r in rows])
        out = tempfile.mkdtemp(prefix="llm_ft_mem_")
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=B, max_steps=steps, learning_rate=1e-4, save_strategy="no",
                                 report_to=[], logging_steps=1, disable_tqdm=True, use_cpu=True, seed=0, warmup_steps=0,
                                 gradient_checkpointing=bool(o.get("checkpointing")), lr_scheduler_type="constant")
        tr = Trainer(model=model, args=args, train_dataset=ds, callbacks=[Rec()])
        tr.train(); losses = [h["loss"] for h in tr.state.log_history if "loss" in h]; optim = str(args.optim)
    else:
        from torch.utils.data import default_collate
        if o.get("checkpointing"): enable_checkpointing(model)
        class Done(Exception): pass
        class Rec(Callback):
            t0 = None
            def on_train_begin(self, state): self.t0 = time.perf_counter()
            def on_step(self, state, record):
                peaks.append(_rss("VmHWM:")); losses.append(record["loss"]); times.append(time.perf_counter() - self.t0)
                self.t0 = time.perf_counter()
                if state.step == steps: raise Done()                               # stop before final/ is written
        cfg = TrainConfig(lr=1e-4, max_steps=steps, schedule="constant", max_grad_norm=None if o.get("optimizer_in_backward") else 1.0,
                          optimizer_in_backward=bool(o.get("optimizer_in_backward")), optimizer_state=o.get("optimizer_state", "fp32"),
                          save_every=10**9, log_every=1)
        try: fit(model, Batches(rows, B, default_collate), cfg, tempfile.mkdtemp(prefix="llm_ft_mem_"), callbacks=[Rec()])
        except Done: pass
        optim = "llm_ft AdamW" if o.get("optimizer_in_backward") or o.get("optimizer_state", "fp32") != "fp32" else "torch AdamW"
    peak = max(peaks) - base
    print(json.dumps({"params": N, "peak_bytes": peak, "bytes_per_param": peak / N, "peak_rss_gb": max(peaks) / 2**30,
                      "s_per_step": sum(times[1:]) / max(1, len(times) - 1) if len(times) > 1 else times[0],
                      "losses": losses, "optim": optim}), flush=True)

# --------------------------------------------------------------------------------------------------------- parent side
def measure(spec, cap_gb):
    "Run `child(spec)` in a fresh process under a resident-memory watchdog"
    p = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"})
    top, killed = 0, False
    while p.poll() is None:
        try:
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmRSS:"): top = max(top, int(line.split()[1]) * 1024)
        except OSError: pass
        if top > cap_gb * 2**30: p.kill(); killed = True
        time.sleep(0.05)
    out, err = p.communicate()
    if killed: return {"out_of_memory": True, "peak_rss_gb": top / 2**30}
    if p.returncode: return {"error": (err.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.strip().splitlines()[-1])

def planned(spec):
    "The planner's prediction (bytes) for the same setting"
    from llm_ft.model import GPTConfig, plan_memory
    o = spec["opts"]
    if spec["arch"] == "llama":
        from types import SimpleNamespace
        c = TINYLLAMA
        shape = SimpleNamespace(n_layer=c["num_hidden_layers"], n_embd=c["hidden_size"], n_head=c["num_attention_heads"],
                                vocab_size=c["vocab_size"], num_parameters=spec["params"])
    else:
        d, L, h, V = spec["shape"]; shape = GPTConfig(vocab_size=V, n_positions=spec["T"], n_embd=d, n_layer=L, n_head=h)
    return plan_memory(shape, spec["B"], spec["T"], optimizer_state=o.get("optimizer_state", "fp32"),
                       optimizer_in_backward=bool(o.get("optimizer_in_backward")), gradient_checkpointing=bool(o.get("checkpointing")),
                       fused_loss=spec["arch"] == "gpt").total

def measure_row(spec, size, name, cap_gb):
    "One table row: the measurement, labelled, with the planner's prediction beside it (progress to stderr)"
    r = measure(spec, cap_gb); r.update(size=size, run=name)
    if "params" in r: r["planned_bytes_per_param"] = planned({**spec, "params": r["params"]}) / r["params"]
    print(json.dumps({k: v for k, v in r.items() if k != "losses"}), file=sys.stderr, flush=True)
    return r

def curves(data, steps=60):
    "Loss curves on real text: each saver against the seed-to-seed noise of the baseline"
    import numpy as np, torch
    from torch.utils.data import default_collate
    from llm_ft.config import TrainConfig
    from llm_ft.model import GPTConfig, GPTForCausalLM, enable_checkpointing
    from llm_ft.tokenizer import train_bpe_tokenizer
    from llm_ft.train import fit, Batches
    from llm_ft.core import read_jsonl
    from llm_ft.datasets import get_dataset
    text = get_dataset("tinyshakespeare", folder=data).split("all")["text"][0]
    tok = train_bpe_tokenizer(text.splitlines(), vocab_size=2048, max_length=10**6)
    ids = torch.tensor(tok(text)["input_ids"]); T, B = 128, 16
    def run(name, data_seed, **o):
        g = torch.Generator().manual_seed(data_seed)
        starts = torch.randint(0, len(ids) - T, (B * steps,), generator=g)
        rows = [{"input_ids": ids[s:s + T], "labels": ids[s:s + T]} for s in starts.tolist()]
        torch.manual_seed(0)
        m = GPTForCausalLM(GPTConfig(vocab_size=len(tok), n_positions=T, n_embd=256, n_layer=4, n_head=4))
        if o.pop("checkpointing", False): enable_checkpointing(m)
        cfg = TrainConfig(lr=1e-3, max_steps=steps, warmup_steps=6, max_grad_norm=None, log_every=1, save_every=10**9, seed=0, **o)
        with tempfile.TemporaryDirectory() as d:
            fit(m, Batches(rows, B, default_collate), cfg, d, callbacks=[])
            return np.array([r["loss"] for r in read_jsonl(Path(d)/"metrics.jsonl") if "loss" in r])
    res = {"baseline": run("baseline", 0), "baseline, other data order": run("b1", 1)}
    for name, o in SAVERS.items():
        if o: res[name] = run(name, 0, **o)
    last = lambda c: float(c[-10:].mean())
    noise = abs(last(res["baseline"]) - last(res["baseline, other data order"]))
    print(f"\n{'run (60 steps, tinyshakespeare)':<30}{'loss 1->60':>16}{'mean last 10':>14}{'vs baseline':>13}")
    for k, c in res.items(): print(f"{k:<30}{c[0]:>7.3f} ->{c[-1]:>6.3f}{last(c):>14.4f}{last(c) - last(res['baseline']):>+13.4f}")
    within = {k: abs(last(c) - last(res["baseline"])) <= max(noise, 1e-6) for k, c in res.items() if k not in ("baseline", "baseline, other data order")}
    print(f"noise (data order): {noise:.4f}; every saver within it: {all(within.values())}")
    return {"noise": noise, "last10": {k: last(c) for k, c in res.items()}, "within_noise": within}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="10M,100M,350M", help=f"comma-separated, from {', '.join(SIZES)}; empty for none")
    ap.add_argument("--steps", type=int, default=3, help="optimizer steps per measurement (the first allocates Adam's state)")
    ap.add_argument("--batch", type=int, default=2); ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--moonshot", action="store_true", help="also the 1.1B-parameter Llama step at batch 1 x 256")
    ap.add_argument("--curves", action="store_true", help="also the loss curves of every saver on tinyshakespeare")
    ap.add_argument("--cap_gb", type=float, default=21.0, help="stop a run whose resident memory passes this")
    ap.add_argument("--data", default=None, help="a folder holding the datasets (default: the registry: LLM_FT_DATA, the cache, or a download)")
    a = ap.parse_args()
    if a.child: return child(json.loads(a.child))
    results = []
    for size in [s for s in a.sizes.split(",") if s]:
        runs = [("Trainer", "trainer", {}), ("Trainer + checkpointing", "trainer", {"checkpointing": True})]
        runs += [(f"llm_ft {k}", "llm_ft", o) for k, o in SAVERS.items()]
        for name, who, o in runs:
            spec = {"arch": "gpt", "shape": SIZES[size], "B": a.batch, "T": a.seq, "steps": a.steps, "who": who, "opts": o}
            results.append(measure_row(spec, size, name, a.cap_gb))
    if a.moonshot:
        for name, who, o in [("llm_ft all savers", "llm_ft", SAVERS["all savers"]), ("Trainer + checkpointing", "trainer", {"checkpointing": True}),
                             ("Trainer", "trainer", {})]:
            spec = {"arch": "llama", "B": 1, "T": 256, "steps": 1, "who": who, "opts": o}
            results.append(measure_row(spec, "1.1B", name, a.cap_gb))
    print(f"\n{'size':<6}{'run':<28}{'params':>8}{'bytes/param':>13}{'planned':>9}{'peak RSS':>11}{'s/step':>8}")
    for r in results:
        if "params" not in r:
            what = f"did not fit: killed at {r['peak_rss_gb']:.1f} GiB resident" if r.get("out_of_memory") else f"failed: {r['error']}"
            print(f"{r['size']:<6}{r['run']:<28}  {what}"); continue
        print(f"{r['size']:<6}{r['run']:<28}{r['params'] / 1e6:>7.1f}M{r['bytes_per_param']:>13.1f}{r['planned_bytes_per_param']:>9.1f}"
              f"{r['peak_rss_gb']:>8.2f} GiB{r['s_per_step']:>8.1f}")
    ratios = {}
    for size in {r["size"] for r in results}:
        rs = {r["run"]: r for r in results if r["size"] == size and "params" in r}
        best_trainer = min((r["bytes_per_param"] for k, r in rs.items() if k.startswith("Trainer")), default=None)
        ours = rs.get("llm_ft all savers")
        if best_trainer and ours: ratios[size] = round(best_trainer / ours["bytes_per_param"], 2)
    if ratios: print("best Trainer setting / llm_ft with all savers (memory per parameter): " + ", ".join(f"{k} {v}x" for k, v in sorted(ratios.items())))
    out = {"bench": "memory", "batch": [a.batch, a.seq], "steps": a.steps, "results": [{k: v for k, v in r.items() if k != "losses"} for r in results],
           "trainer_over_llm_ft": ratios}
    if a.curves: out["curves"] = curves(a.data)
    print(json.dumps(out))

if __name__ == "__main__": main()
