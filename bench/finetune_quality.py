"""The quality suite: real data from the dataset registry, the shipped configs, a same-run baseline, stored results.

    python bench/finetune_quality.py [--only NAME[,NAME...]] [--quick] [--runs FOLDER]

Each row trains with a shipped config (plus the overrides it prints), scores the untouched test split once, trains the
row's baseline on exactly the same splits, and is merged into bench/results/quality.json (one row per name, replaced
when re-run) with the commit it ran on. Rows (goals from the quality issue):

  sst2_minilm              MiniLM, all of SST-2 train -> GLUE dev (872)                    accuracy >= 0.905  vs TF-IDF+LR
  sst2_minilm_random_init  the same MiniLM architecture from random weights, same budget   (what pretraining is worth)
  sst2_gpt_pretrained      our GPT pretrained on every unlabeled English text in the registry, 2,000 SST-2 labels
  sst2_gpt_random          the same GPT from random init, same labels and budget; both pick lr on validation from one grid
  sms_spam                 MiniLM, stratified 80/20 (seed 0)                                spam F1 >= 0.95, PR-AUC >= 0.98
  ag_news                  MiniLM, AG's test file stratified 75/25 (seed 0)                 accuracy >= 0.90  vs TF-IDF+LR
  en_fr                    GPT from scratch, ~1,000 held-out pairs (sources unseen)         sacreBLEU >= 20
  squad_minilm             MiniLM extractive QA, SQuAD v1.1 dev split by article            F1 >= 75
  shakespeare_char         nanoGPT's shakespeare_char CPU config, 2,000 iterations          val loss <= 1.80 (nanoGPT 1.88)

The datasets come from LLM_FT_DATA, the user cache or a download (`llm_ft data list`). `--quick` shrinks every row to a
smoke test and writes to bench/results/quality_quick.json instead (never the real file).
"""
import argparse, json, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
from llm_ft.config import FinetuneConfig, PretrainConfig, load_config, config_path
from llm_ft.core import read_json, write_json, read_jsonl
from llm_ft.datasets import get_dataset
from llm_ft.finetune import finetune, prepare_splits
from llm_ft.pretrain import pretrain
from llm_ft.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
QUICK = False

def commit()->str:
    "The commit the results come from (+dirty when the working tree has uncommitted changes to tracked files)"
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return sha + ("+dirty" if dirty else "")

def tfidf_lr(train_x, train_y, test_x, test_y, positive=None)->dict:
    "Same-run classical baseline: word 1-2 gram TF-IDF + logistic regression, C=10"
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, average_precision_score
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    clf = LogisticRegression(max_iter=3000, C=10).fit(vec.fit_transform(train_x), train_y)
    Xt = vec.transform(test_x); pred = clf.predict(Xt)
    out = {"accuracy": float(accuracy_score(test_y, pred))}
    if positive is not None:
        out["positive_f1"] = float(f1_score(test_y, pred, pos_label=positive))
        out["pr_auc"] = float(average_precision_score(np.asarray(test_y) == positive, clf.predict_proba(Xt)[:, list(clf.classes_).index(positive)]))
    return out

def baseline_on_run_splits(config:str, overrides:list, positive=None)->dict:
    "TF-IDF+LR trained and scored on exactly the splits `finetune` uses for this config"
    cfg = load_config(FinetuneConfig, config, overrides)
    splits, labels, _ = prepare_splits(cfg, get_task(cfg))
    c = cfg.data.text_column; name = lambda ids: [labels.names[i] for i in ids]
    return tfidf_lr(splits["train"][c], name(splits["train"]["label_id"]), splits["test"][c], name(splits["test"]["label_id"]), positive)

def run(recipe:str, config:str, runs:Path, name:str, overrides:list, quick:list=())->tuple[Path, float, list]:
    "Run a shipped config with overrides; (run dir, wall seconds, the overrides used)"
    ov = [f"run_dir={runs}", f"name={name}", *overrides, *(quick if QUICK else [])]
    print(f"\n== llm_ft {recipe} --config {config} " + " ".join(ov[2:]), flush=True)
    shutil.rmtree(runs/name, ignore_errors=True)
    t0 = time.perf_counter()
    fn, cls = (pretrain, PretrainConfig) if recipe == "pretrain" else (finetune, FinetuneConfig)
    path = fn(load_config(cls, config, ov))
    return path, time.perf_counter() - t0, ov[2:]

def row(name, task, metric, value, goal, protocol, run_dir, wall, config, overrides, baseline=None, baseline_name=None, **extra)->dict:
    "One row of quality.json"
    res, data = read_json(run_dir/"results.json"), read_json(run_dir/"data.json") if (run_dir/"data.json").exists() else {}
    cfg = load_config(FinetuneConfig if res["recipe"] == "finetune" else PretrainConfig, run_dir/"config.yaml")
    test_rows = read_json(run_dir/"metrics.json").get("n") if (run_dir/"metrics.json").exists() else None
    return {"name": name, "task": task, "metric": metric, "value": value, "goal": goal, "baseline": baseline, "baseline_name": baseline_name,
            "protocol": protocol, "train_rows": data.get("tokens", {}).get("rows"), "test_rows": test_rows,
            "epochs": cfg.train.epochs if not cfg.train.max_steps else None, "steps": res["steps"], "wall_s": round(wall, 1),
            "commit": commit(), "config": config, "overrides": overrides, "extra": extra}

QUICK_FT = ["data.max_train_rows=64", "train.max_steps=4", "train.eval_every=2"]

# --- rows -------------------------------------------------------------------------------------------------------------

def sst2_minilm(runs):
    ov = []
    r, wall, ov = run("finetune", "sst2_minilm", runs, "sst2_minilm", ov, QUICK_FT)
    m = read_json(r/"metrics.json")
    b = baseline_on_run_splits("sst2_minilm", ov)
    return [row("sst2_minilm", "classification", "accuracy", m["accuracy"], 0.905, "all SST-2 train phrases (1% held out to select) "
                "-> GLUE dev (872)", r, wall, "sst2_minilm", ov, b["accuracy"], "TF-IDF+LR on the same train split",
                f1_macro=m["f1_macro"], accuracy_ci95=m["accuracy_ci95"])]

def sst2_minilm_random_init(runs):
    r, wall, ov = run("finetune", "sst2_minilm", runs, "sst2_minilm_random", ["model.init=random", "train.lr=1.0e-4"], QUICK_FT)
    m = read_json(r/"metrics.json")
    return [row("sst2_minilm_random_init", "classification", "accuracy", m["accuracy"], None, "the MiniLM architecture with random "
                "weights, the sst2_minilm budget (lr 1e-4: random init needs larger steps)", r, wall, "sst2_minilm", ov,
                f1_macro=m["f1_macro"])]

def english_corpus(out:Path)->Path:
    "Every unlabeled English text the registry has, one document per line: SST-2 train phrases (no labels), AG News articles, "
    "SQuAD paragraphs, Tatoeba English sentences; SST-2 dev is left out (it is the test set)"
    docs = list(get_dataset("sst2").split("train")["text"]) + list(get_dataset("ag_news").split("all")["text"])
    docs += list(dict.fromkeys(get_dataset("squad").split("all")["context"])) + list(dict.fromkeys(get_dataset("en_fr").split("all")["source"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(" ".join(d.split()) + "\n" for d in docs), encoding="utf-8")
    return out

def sst2_gpt(runs):
    "Pretrain on unlabeled English, fine-tune on 2,000 labels; the same GPT from random init; lr picked on validation for each"
    corpus = english_corpus(runs/"english.txt")
    steps = 40 if QUICK else 8000
    pre, wall_pre, pov = run("pretrain", "sst2_gpt_pretrain", runs, "sst2_gpt_pretrain", [f"data.train_file={corpus}",
                             f"train.max_steps={steps}", f"train.eval_every={steps // 4}", f"train.save_every={steps // 4}",
                             "train.keep_last=4"], ["model.n_layer=2", "model.n_embd=64"])
    tok = pre/"tokenizer"
    curve, best = {}, {}
    grid = [1e-4] if QUICK else [5e-5, 1e-4, 3e-4]
    for init in ("pretrained", "random"):
        for lr in grid:
            name = f"sst2_gpt_{init}_lr{lr:g}"
            r, wall, ov = run("finetune", "sst2_gpt_finetune", runs, name, [f"model.name_or_path={pre if init == 'pretrained' else 'null'}",
                              f"data.tokenizer={tok}", f"train.lr={lr}"], QUICK_FT + ["model.n_layer=2", "model.n_embd=64"])
            valid = read_json(r/"results.json")["valid"]["accuracy"]
            if init not in best or valid > best[init][0]: best[init] = (valid, lr, r, wall, ov)
    for s in sorted(int(p.name.split("-")[1]) for p in (pre/"checkpoints").glob("step-*")):       # accuracy vs pretraining steps
        mdir = checkpoint_model(pre, s)
        r, _, _ = run("finetune", "sst2_gpt_finetune", runs, f"sst2_gpt_curve_{s}", [f"model.name_or_path={mdir}", f"data.tokenizer={tok}",
                      f"train.lr={best['pretrained'][1]}"], QUICK_FT + ["model.n_layer=2", "model.n_embd=64"])
        curve[s] = read_json(r/"metrics.json")["accuracy"]
    b = baseline_on_run_splits("sst2_gpt_finetune", [f"data.tokenizer={tok}"])
    out = []
    for init in ("pretrained", "random"):
        valid, lr, r, wall, ov = best[init]
        m = read_json(r/"metrics.json")
        extra = dict(lr=lr, lr_grid=grid, valid_accuracy=valid, f1_macro=m["f1_macro"])
        if init == "pretrained": extra.update(pretrain_steps=steps, pretrain_wall_s=round(wall_pre, 1), pretrain_valid=read_json(pre/"results.json")["valid"],
                                              corpus_lines=sum(1 for _ in open(corpus, encoding="utf-8")), accuracy_vs_pretrain_steps=curve)
        out.append(row(f"sst2_gpt_{init}", "classification", "accuracy", m["accuracy"], None, f"our GPT ({'pretrained on unlabeled English' if init == 'pretrained' else 'random init'}), "
                       "2,000 SST-2 train labels -> GLUE dev; lr picked on 673 validation phrases", r, wall, "sst2_gpt_finetune", ov,
                       b["accuracy"], "TF-IDF+LR on the same 2,000 labels", **extra))
    out[0]["goal"] = round(out[1]["value"] + 0.05, 4)                          # pretrained >= random + 5 points (and > the baseline)
    return out

def checkpoint_model(run_dir:Path, step:int)->Path:
    "A Hugging Face model directory from a pretraining checkpoint's weights (config and tokenizer from final/)"
    d = run_dir/f"model-step-{step}"
    if not d.exists():
        shutil.copytree(run_dir/"final", d)
        shutil.copy(run_dir/"checkpoints"/f"step-{step}"/"model.safetensors", d/"model.safetensors")
    return d

def sms_spam(runs):
    r, wall, ov = run("finetune", "sms_spam", runs, "sms_spam", [], QUICK_FT)
    m = read_json(r/"metrics.json")
    b = baseline_on_run_splits("sms_spam", ov, positive="spam")
    f1 = m.get("positive_f1_at_threshold", m["per_class"]["spam"]["f1"])
    return [row("sms_spam", "classification", "spam F1", f1, 0.95, "stratified 80/20 (seed 0), validation 10% of the rest; threshold "
                "tuned on validation", r, wall, "sms_spam", ov, b["positive_f1"], "TF-IDF+LR on the same splits",
                pr_auc=m["pr_auc"], pr_auc_goal=0.98, pr_auc_baseline=b["pr_auc"], spam_f1_at_0_5=m["per_class"]["spam"]["f1"],
                threshold=m.get("threshold"), accuracy=m["accuracy"])]

def ag_news(runs):
    r, wall, ov = run("finetune", "ag_news", runs, "ag_news", [], QUICK_FT)
    m = read_json(r/"metrics.json")
    b = baseline_on_run_splits("ag_news", ov)
    return [row("ag_news", "classification", "accuracy", m["accuracy"], 0.90, "AG's 7,600 test articles, stratified 75/25 (seed 0)",
                r, wall, "ag_news", ov, b["accuracy"], "TF-IDF+LR on the same splits", f1_macro=m["f1_macro"])]

def en_fr(runs):
    r, wall, ov = run("finetune", "en_fr", runs, "en_fr", [], QUICK_FT + ["max_new_tokens=8"])
    m = read_json(r/"metrics.json")
    return [row("en_fr", "generation", "sacreBLEU", m["bleu"], 20.0, "Tatoeba pairs; test: the ~1,000 pairs whose English sentence hashes "
                "into 1 of 20 buckets (never seen in training)", r, wall, "en_fr", ov, chrf=m["chrf"], exact_match=m["exact_match"],
                bleu_signature=m.get("bleu_signature"))]

def squad_minilm(runs):
    r, wall, ov = run("finetune", "squad_minilm", runs, "squad_minilm", [], QUICK_FT)
    m = read_json(r/"metrics.json")
    return [row("squad_minilm", "extractive_qa", "F1", m["f1"], 75.0, "SQuAD v1.1 dev, split by article title (a quarter of the articles "
                "for test, seed 0)", r, wall, "squad_minilm", ov, exact_match=m["exact_match"])]

def shakespeare_char(runs):
    r, wall, ov = run("pretrain", "shakespeare_char", runs, "shakespeare_char", [], ["train.max_steps=20", "train.eval_every=10"])
    res = read_json(r/"results.json")
    evals = [(e["step"], e["eval_loss"]) for e in read_jsonl(r/"metrics.jsonl") if "eval_loss" in e]
    return [row("shakespeare_char", "language_modeling", "val loss", res["valid"]["loss"], 1.80, "nanoGPT's shakespeare_char CPU config "
                "(4x4x128, block 64, batch 12, 2,000 iterations); validation: the whole last 10% of the text", r, wall, "shakespeare_char", ov,
                nanogpt_val_loss=1.88, val_loss_curve=evals, tokens_per_s=res["tokens"] / max(res["train_seconds"], 1e-9))]

ROWS = {"sst2_minilm": sst2_minilm, "sst2_minilm_random_init": sst2_minilm_random_init, "sst2_gpt": sst2_gpt, "sms_spam": sms_spam,
        "ag_news": ag_news, "en_fr": en_fr, "squad_minilm": squad_minilm, "shakespeare_char": shakespeare_char}

def merge(rows:list, path:Path):
    "Replace these rows (by name) in the results file, keeping the others"
    old = read_json(path)["rows"] if path.exists() else []
    names = {r["name"] for r in rows}
    write_json(path, {"rows": [r for r in old if r["name"] not in names] + rows})

def main():
    global QUICK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(ROWS), help=f"comma-separated, from: {', '.join(ROWS)}")
    ap.add_argument("--quick", action="store_true", help="a smoke test of the script; results go to quality_quick.json")
    ap.add_argument("--runs", default=None, help="where the runs go (default: a temporary folder)")
    a = ap.parse_args()
    QUICK = a.quick
    runs = Path(a.runs or tempfile.mkdtemp(prefix="llm_ft_quality_"))
    out = ROOT/"bench"/"results"/("quality_quick.json" if QUICK else "quality.json")
    for name in a.only.split(","):
        rows = ROWS[name](runs)
        merge(rows, out)
        for r in rows: print(f"\n{r['name']}: {r['metric']} {r['value']:.4f} (goal {r['goal']}, baseline {r['baseline']}) in {r['wall_s']:.0f} s", flush=True)
    print(f"\nresults: {out}; runs: {runs}")

if __name__ == "__main__": main()
