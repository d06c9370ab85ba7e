"""Classification fine-tuning throughput: llm_ft vs Hugging Face `Trainer`, same GPT-2-shaped classifier, same data, same run.

    python bench/classify_throughput.py [--data FOLDER] [--rows 2000] [--epochs 3] [--seeds 3] [--retries 2]

Full fine-tuning of a GPT-2-shaped classifier (4 layers, 256 wide, 4 heads, vocab 8192 from a byte-level BPE trained on SST-2
train, exact GELU, no dropout) for three epochs over 2,000 SST-2 train rows, batch 16, max length 128, AdamW lr 5e-4, weight
decay 0.01, linear decay, clipping 1.0, fp32, 2 CPU threads. Every run starts from the same initial weights: a Hugging Face
`GPT2ForSequenceClassification` initialised with seed 0, copied into llm_ft's `GPTForSequenceClassification` (`from_gpt2`;
the two give the same logits, checked at start). Seed by seed, every contender runs in turn, so noise on the machine falls on
all of them:
  * llm_ft `fit` with our classifier (length-grouped batches; the last block computes only the pooled token);
  * Trainer with `GPT2ForSequenceClassification`, what a Trainer user runs: (a) padding every example to max length
    (run_glue's default), (b) dynamic padding (DataCollatorWithPadding), (c) `train_sampling_strategy="group_by_length"`;
  * the decomposition: Trainer (c) running llm_ft's classifier, and llm_ft's loop running Hugging Face's classifier, so the
    table shows how much of the gap is the loop and how much the model.
Every contender runs once per data-order seed (`--seeds`): dev accuracy is reported as mean and spread, and "equally well"
means within the seeds' spread. Reported: examples/s over the whole training call (llm_ft includes writing final/, Trainer
saves nothing), the cores the run really used (CPU time / wall; < 1.8 of 2 is marked contended and kept out of the
headline, as is a run whose matmul probe just before it gave under 0.9 of the machine's best: a busy host under the VM; such
a run is re-run, same seed, up to --retries times), the share of padded tokens the model saw, SST-2 dev accuracy (one
scorer for all). Prints a table and writes bench/results/classify_throughput.json.
"""
import argparse, json, os, random, tempfile
import numpy as np
from pathlib import Path
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch
import datasets
from transformers import Trainer, TrainingArguments, DataCollatorWithPadding, default_data_collator
from transformers.utils import logging as hf_logging
from common import CONTENDED_SHARE, CoreMeter, quiet_peak, slow_host, stored_peak, write_result
from llm_ft.config import TrainConfig, FinetuneConfig
from llm_ft.data import tokenize_classification, Collator, PaddingMeter
from llm_ft.datasets import get_dataset
from llm_ft.evaluation import predict_classification
from llm_ft.tasks import classification_loss
from llm_ft.model import GPTConfig, GPTForSequenceClassification, from_gpt2
from llm_ft.tokenizer import train_bpe_tokenizer
from llm_ft.train import fit, Batches, Objective

datasets.disable_progress_bars(); hf_logging.set_verbosity_error()
LR, BS, T = 5e-4, 16, 128

class Counting:
    "Wrap a collator and count real vs padded tokens of every batch it makes"
    def __init__(self, collate): self.collate, self.meter = collate, PaddingMeter()
    def __call__(self, feats):
        b = self.collate(feats); self.meter.update(b); return b

def hf_model(tok, state=None):
    "The Hugging Face GPT-2 classifier a Trainer user runs, same shape as ours"
    from transformers import GPT2Config, GPT2ForSequenceClassification
    torch.manual_seed(0)
    m = GPT2ForSequenceClassification(GPT2Config(vocab_size=len(tok), n_positions=T, n_embd=256, n_layer=4, n_head=4, num_labels=2,
                                                 pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=None, activation_function="gelu", resid_pdrop=0.0,
                                                 embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5))
    if state is not None: m.load_state_dict(state)
    return m

def our_model(hf):
    "llm_ft's classifier holding exactly `hf`'s weights"
    lm = from_gpt2({k: v for k, v in hf.state_dict().items() if k != "score.weight"}, hf.config)
    m = GPTForSequenceClassification(GPTConfig(**{**lm.config.to_dict(), "num_labels": 2, "pad_token_id": hf.config.pad_token_id}))
    m.transformer.load_state_dict(lm.transformer.state_dict())
    with torch.no_grad(): m.score.weight.copy_(hf.score.weight)
    return m

def dev_accuracy(model, dev, tok):
    return float(predict_classification(model, dev, tok.pad_token_id).compute()["accuracy"])

def measured(model, train, dev, tok, coll, m, epochs)->dict:
    "One contender's numbers from its CoreMeter"
    return {"examples_per_s": epochs * (len(train) // BS * BS) / m.wall_s, "padded": coll.meter.padded_fraction,
            "accuracy": dev_accuracy(model, dev, tok), "wall_s": m.wall_s, "cores_used": m.cores_used, "contended": m.contended,
            "peak_gflops": m.peak_gflops}

def llm_ft_recipe(train, coll, **cfg):
    "The llm_ft side of the benchmark: length-grouped batches, its TrainConfig (`cfg` sets the budget, seed, logging) and objective"
    cfg = TrainConfig(lr=LR, weight_decay=0.01, schedule="linear", min_lr_ratio=0.0, max_grad_norm=1.0, save_every=10**9, eval_every=10**9, **cfg)
    return Batches(train.remove_columns(["length"]), BS, coll, train["length"]), cfg, Objective(loss=classification_loss(FinetuneConfig()))

def run_llm_ft(train, dev, tok, init, out, seed=0, epochs=3, classifier="ours"):
    model, coll = our_model(hf_model(tok, init)) if classifier == "ours" else hf_model(tok, init), Counting(Collator(tok.pad_token_id))
    batches, cfg, objective = llm_ft_recipe(train, coll, epochs=epochs, log_every=50, seed=seed)
    with CoreMeter(probe=True) as m: fit(model, batches, cfg, out/f"llm_ft_{classifier}_{seed}", objective, callbacks=[])
    return measured(model, train, dev, tok, coll, m, epochs)

def run_trainer(train, dev, tok, init, out, mode, seed=0, epochs=3, classifier="hf"):
    model = hf_model(tok, init) if classifier == "hf" else our_model(hf_model(tok, init))
    if mode == "max_length":
        ds = train.map(lambda b: {"input_ids": [ids + [tok.pad_token_id] * (T - len(ids)) for ids in b["input_ids"]],
                                  "attention_mask": [[1] * len(ids) + [0] * (T - len(ids)) for ids in b["input_ids"]]}, batched=True)
        coll = Counting(default_data_collator)
    else:
        ds, coll = train, Counting(DataCollatorWithPadding(tok))
    args = TrainingArguments(output_dir=str(out/f"trainer_{mode}_{classifier}_{seed}"), per_device_train_batch_size=BS, num_train_epochs=epochs, learning_rate=LR,
                             weight_decay=0.01, lr_scheduler_type="linear", max_grad_norm=1.0, save_strategy="no", report_to=[],
                             logging_steps=50, disable_tqdm=True, use_cpu=True, seed=seed, dataloader_drop_last=True,
                             train_sampling_strategy="group_by_length" if mode == "group_by_length" else "random",
                             **({"length_column_name": "length"} if mode == "group_by_length" else {}))
    keep = ["input_ids", "labels"] + (["attention_mask"] if mode == "max_length" else []) + (["length"] if mode == "group_by_length" else [])
    tr = Trainer(model=model, args=args, train_dataset=ds.select_columns(keep), data_collator=coll)
    with CoreMeter(probe=True) as m: tr.train()
    return measured(model, train, dev, tok, coll, m, epochs)

def sst2(folder, rows:int):
    "The benchmark's data: `rows` shuffled SST-2 train sentences and the whole dev split, tokenized by a BPE trained on train"
    sst = get_dataset("sst2", folder=folder)
    train = sst.split("train").to_list()
    tok = train_bpe_tokenizer([r["text"] for r in train], vocab_size=8192, max_length=T)
    random.Random(0).shuffle(train)
    enc = lambda rs: tokenize_classification(datasets.Dataset.from_list([{"text": r["text"], "labels": int(r["label"] == "positive")} for r in rs]),
                                             tok, "text", T, label_column="labels")
    return enc(train[:rows]), enc(sst.split("dev").to_list()).remove_columns(["length"]), tok

def summary(runs, best_gflops:float):
    "Mean over seeds, accuracy spread kept; contended if any seed's run did not get its cores or ran on a busy host"
    acc = np.array([r["accuracy"] for r in runs])
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0] if k != "contended"}
    return {**out, "accuracy_std": float(acc.std()), "accuracies": acc.tolist(), "seeds": len(runs),
            "contended": any(r["contended"] or slow_host(r["peak_gflops"], best_gflops) for r in runs),
            "min_cores_used": min(r["cores_used"] for r in runs), "min_peak_gflops": min(r["peak_gflops"] for r in runs)}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="a folder holding the datasets (default: the registry: LLM_FT_DATA, the cache, or a download)")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=3, help="data-order seeds, for every contender")
    ap.add_argument("--epochs", type=int, default=3, help="a budget at which the models learn (dev accuracy well above chance)")
    ap.add_argument("--retries", type=int, default=2, help="re-runs, at most, of a contended run (same seed)")
    a = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count()))
    train, dev, tok = sst2(a.data, a.rows)
    hf = hf_model(tok); init = hf.state_dict()
    x = torch.tensor([[5, 9, 300, 41, 7, 2], [17, 80, 6, tok.pad_token_id, tok.pad_token_id, tok.pad_token_id]])
    gap = (hf.eval()(x, attention_mask=(x != tok.pad_token_id).long()).logits - our_model(hf).eval()(x, attention_mask=(x != tok.pad_token_id).long()).logits).abs().max()
    print(f"same initial model: largest logit difference llm_ft vs Hugging Face GPT-2 {gap:.1e}")
    assert gap < 1e-4
    out = Path(tempfile.mkdtemp(prefix="llm_ft_clf_bench_"))
    seeds, E = range(a.seeds), a.epochs
    contenders = {"llm_ft (length-grouped)": lambda s: run_llm_ft(train, dev, tok, init, out, s, E),
                  **{f"Trainer ({mode})": (lambda s, mode=mode: run_trainer(train, dev, tok, init, out, mode, s, E))
                     for mode in ("max_length", "dynamic", "group_by_length")},
                  "Trainer (group_by_length) + llm_ft classifier": lambda s: run_trainer(train, dev, tok, init, out, "group_by_length", s, E, "ours"),
                  "llm_ft loop + HF classifier": lambda s: run_llm_ft(train, dev, tok, init, out, s, E, "hf")}
    runs, tries = {k: [] for k in contenders}, []
    stored = max(stored_peak("pretrain_throughput"), stored_peak("classify_throughput"))
    for s in seeds:                                           # seed by seed, every contender in turn: machine noise hits them all
        for k, run in contenders.items():
            for attempt in range(1 + a.retries):              # the same seed trains the same model: a re-run repeats only the timing
                tries.append(r := run(s))
                if not (r["contended"] or slow_host(r["peak_gflops"], quiet_peak(stored, tries))): break
                print(f"{k}, seed {s}: contended ({r['cores_used']:.2f} cores, matmul probe {r['peak_gflops']:.0f} GFLOP/s)"
                      + (", again" if attempt < a.retries else ", kept as contended"), flush=True)
            runs[k].append(r)
    best_gflops = quiet_peak(stored, tries) or max(r["peak_gflops"] for r in tries)
    res = {k: summary(rs, best_gflops) for k, rs in runs.items()}
    trainer = {k: v for k, v in res.items() if k.startswith("Trainer (") and k.endswith(")")}
    best = max((v["examples_per_s"], k) for k, v in trainer.items())
    print(f"\nmatmul peak probed before each run: best {best_gflops:.0f} GFLOP/s (a run under {CONTENDED_SHARE * best_gflops:.0f} counts as contended)")
    print(f"{'run':<46}{'examples/s':>11}{'cores':>7}{'padded':>8}{'dev acc (mean +- std, seeds)':>31}{'wall s':>8}")
    for k, v in res.items():
        print(f"{k:<46}{v['examples_per_s']:>11.1f}{v['min_cores_used']:>7.2f}{v['padded']:>8.1%}{v['accuracy']:>17.4f} +- {v['accuracy_std']:.4f} ({v['seeds']})"
              f"{v['wall_s']:>8.1f}" + ("  CONTENDED" if v["contended"] else ""))
    ours, top = res["llm_ft (length-grouped)"], res[best[1]]
    clean = not (ours["contended"] or top["contended"])
    ratio = round(ours["examples_per_s"] / best[0], 3) if clean else None
    spread = max(ours["accuracy_std"], top["accuracy_std"], 1 / len(dev))
    parity = abs(ours["accuracy"] - top["accuracy"]) <= 2 * spread
    loop = res["llm_ft loop + HF classifier"]["examples_per_s"] / best[0]
    model = res["Trainer (group_by_length) + llm_ft classifier"]["examples_per_s"] / res["Trainer (group_by_length)"]["examples_per_s"]
    print(f"llm_ft / best Trainer mode ({best[1]}): {ratio}x (goal >= 1.5x); accuracy {'within' if parity else 'NOT within'} the seeds' spread")
    print(f"decomposition: llm_ft's loop alone (HF classifier) {loop:.2f}x; llm_ft's classifier alone (under Trainer) {model:.2f}x")
    f = write_result("classify_throughput", {"rows": a.rows, "epochs": E, "seeds": a.seeds, "results": res, "best_trainer": best[1],
                                             "ratio_vs_best_trainer": ratio, "accuracy_parity": parity, "uncontended": clean,
                                             "loop_only_ratio": round(loop, 3), "model_only_ratio": round(model, 3), "init_logit_gap": float(gap.detach()),
                                             "quiet_peak_gflops": best_gflops, "retried_runs": len(tries) - sum(map(len, runs.values()))})
    print("wrote", f)

if __name__ == "__main__": main()
