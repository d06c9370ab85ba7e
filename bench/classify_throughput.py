"""Classification fine-tuning throughput: llm_ft vs Hugging Face `Trainer`, same model, same data, same run.

    python bench/classify_throughput.py [--data ../shared/data] [--rows 2000]

Full fine-tuning of one GPT-2-shaped classifier (4 layers, 256 wide, 4 heads, vocab 8192 from a byte-level BPE trained on
SST-2 train, our `GPTForSequenceClassification`, identical initial weights in every run) for one epoch over 2,000 SST-2
train rows, batch 16, max length 128, AdamW lr 5e-4, weight decay 0.01, linear decay, clipping 1.0, fp32, 2 CPU threads:
  * llm_ft `fit` (length-grouped batches, the default);
  * Trainer (a) padding every example to max length (run_glue's default), (b) dynamic padding (DataCollatorWithPadding),
    (c) `train_sampling_strategy="group_by_length"` with dynamic padding.
Reported: examples/s over the whole training call (llm_ft includes writing final/, Trainer saves nothing), the share of
padded tokens in the batches the model saw, and SST-2 dev accuracy after the epoch (one scorer for all). Prints a table and
one JSON line with the ratio of llm_ft to the best Trainer mode.
"""
import argparse, json, os, random, tempfile, time
from pathlib import Path
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch
import datasets
from transformers import Trainer, TrainingArguments, DataCollatorWithPadding, default_data_collator
from transformers.utils import logging as hf_logging
from llm_ft.config import TrainConfig, FinetuneConfig
from llm_ft.data import read_rows, tokenize_classification, Collator, PaddingMeter
from llm_ft.evaluation import predict_classification
from llm_ft.finetune import classification_loss
from llm_ft.model import GPTConfig, GPTForSequenceClassification
from llm_ft.tokenizer import train_bpe_tokenizer
from llm_ft.train import fit

datasets.disable_progress_bars(); hf_logging.set_verbosity_error()
LR, BS, T = 5e-4, 16, 128

class Counting:
    "Wrap a collator and count real vs padded tokens of every batch it makes"
    def __init__(self, collate): self.collate, self.meter = collate, PaddingMeter()
    def __call__(self, feats):
        b = self.collate(feats); self.meter.update(b); return b

def model_for(tok, state=None):
    torch.manual_seed(0)
    m = GPTForSequenceClassification(GPTConfig(vocab_size=len(tok), n_positions=T, n_embd=256, n_layer=4, n_head=4, num_labels=2,
                                               pad_token_id=tok.pad_token_id))
    if state is not None: m.load_state_dict(state)
    return m

def dev_accuracy(model, dev, tok):
    return float(predict_classification(model, dev, tok.pad_token_id).compute()["accuracy"])

def run_llm_ft(train, dev, tok, init, out):
    model, coll = model_for(tok, init), Counting(Collator(tok.pad_token_id))
    cfg = TrainConfig(lr=LR, weight_decay=0.01, schedule="linear", min_lr_ratio=0.0, epochs=1, max_grad_norm=1.0, log_every=50,
                      save_every=10**9, eval_every=10**9, seed=0)
    t0 = time.perf_counter()
    fit(model, train.remove_columns(["length"]), cfg, out/"llm_ft", batch_size=BS, collate_fn=coll, lengths=train["length"],
        loss_fn=classification_loss(FinetuneConfig()), callbacks=[])
    wall = time.perf_counter() - t0
    return {"examples_per_s": len(train) // BS * BS / wall, "padded": coll.meter.padded_fraction, "accuracy": dev_accuracy(model, dev, tok), "wall_s": wall}

def run_trainer(train, dev, tok, init, out, mode):
    model = model_for(tok, init)
    if mode == "max_length":
        ds = train.map(lambda b: {"input_ids": [ids + [tok.pad_token_id] * (T - len(ids)) for ids in b["input_ids"]],
                                  "attention_mask": [[1] * len(ids) + [0] * (T - len(ids)) for ids in b["input_ids"]]}, batched=True)
        coll = Counting(default_data_collator)
    else:
        ds, coll = train, Counting(DataCollatorWithPadding(tok))
    args = TrainingArguments(output_dir=str(out/f"trainer_{mode}"), per_device_train_batch_size=BS, num_train_epochs=1, learning_rate=LR,
                             weight_decay=0.01, lr_scheduler_type="linear", max_grad_norm=1.0, save_strategy="no", report_to=[],
                             logging_steps=50, disable_tqdm=True, use_cpu=True, seed=0, dataloader_drop_last=True,
                             train_sampling_strategy="group_by_length" if mode == "group_by_length" else "random",
                             **({"length_column_name": "length"} if mode == "group_by_length" else {}))
    keep = ["input_ids", "labels"] + (["attention_mask"] if mode == "max_length" else []) + (["length"] if mode == "group_by_length" else [])
    tr = Trainer(model=model, args=args, train_dataset=ds.select_columns(keep), data_collator=coll)
    t0 = time.perf_counter(); tr.train(); wall = time.perf_counter() - t0
    return {"examples_per_s": len(train) // BS * BS / wall, "padded": coll.meter.padded_fraction, "accuracy": dev_accuracy(model, dev, tok), "wall_s": wall}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2]/"shared"/"data"))
    ap.add_argument("--rows", type=int, default=2000)
    a = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count()))
    sst = Path(a.data)/"sst2"
    rows = read_rows(sst/"train.tsv").to_list()
    tok = train_bpe_tokenizer([r["sentence"] for r in rows], vocab_size=8192, max_length=T)
    random.Random(0).shuffle(rows)
    enc = lambda rs: tokenize_classification(datasets.Dataset.from_list([{"text": r["sentence"], "labels": int(r["label"])} for r in rs]),
                                             tok, "text", T, label_column="labels")
    train, dev = enc(rows[:a.rows]), enc(read_rows(sst/"dev.tsv").to_list()).remove_columns(["length"])
    init = model_for(tok).state_dict()
    out = Path(tempfile.mkdtemp(prefix="llm_ft_clf_bench_"))
    res = {"llm_ft (length-grouped)": run_llm_ft(train, dev, tok, init, out)}
    for mode in ("max_length", "dynamic", "group_by_length"):
        res[f"Trainer ({mode})"] = run_trainer(train, dev, tok, init, out, mode)
    best = max((v["examples_per_s"], k) for k, v in res.items() if k.startswith("Trainer"))
    print(f"\n{'run':<28}{'examples/s':>12}{'padded':>9}{'dev acc':>9}{'wall s':>8}")
    for k, v in res.items(): print(f"{k:<28}{v['examples_per_s']:>12.1f}{v['padded']:>9.1%}{v['accuracy']:>9.4f}{v['wall_s']:>8.1f}")
    ratio = res["llm_ft (length-grouped)"]["examples_per_s"] / best[0]
    print(f"llm_ft / best Trainer mode ({best[1]}): {ratio:.2f}x (goal >= 1.2x)")
    print(json.dumps({"bench": "classify_throughput", "rows": a.rows, "results": res, "ratio_vs_best_trainer": round(ratio, 3),
                      "best_trainer": best[1]}))

if __name__ == "__main__": main()
