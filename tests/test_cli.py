"""The `llm_ft` command as a user runs it: every subcommand through the installed console script, on 2 processes,
from a wheel installed into a fresh virtual environment, and the quickstart main job."""
import csv, json, os, re, subprocess, sys, venv
from pathlib import Path
import pytest
from llm_ft.core import read_json, read_jsonl
from llm_ft.sample_data import write_sample_data

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=64", "train.log_every=1"]

def run(cmd, env, cwd=None, timeout=600):
    return subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sample_data(tmp_path_factory.mktemp("data"), n_corpus=300, n_sentiment=300, n_test=100)

def test_every_subcommand(tmp_path, data, llm_ft_bin, offline_env):
    "pretrain -> finetune -> evaluate (run dir) -> predict (CSV) -> generate -> plan -> compare -> config, each exit 0"
    def ok(*args):
        r = run([llm_ft_bin, *args], offline_env, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr[-3000:])
        return r.stdout
    out = ok("pretrain", "--config", "sample_pretrain", f"run_dir={tmp_path}", "name=pre", f"data.train_file={data['corpus']}",
             *TINY, "train.max_steps=8", "train.warmup_steps=1", "train.eval_every=8")
    assert f"run: {tmp_path/'pre'}" in out and "validation loss" in out
    out = ok("finetune", "--config", "sample_sentiment", f"run_dir={tmp_path}", "name=ft", f"model.name_or_path={tmp_path/'pre'}",
             f"data.train_file={data['sentiment_train']}", f"data.test_file={data['sentiment_test']}", "train.epochs=2")
    test_acc = read_json(tmp_path/"ft"/"results.json")["test"]["accuracy"]
    assert f"accuracy {test_acc:.4f}" in out and (tmp_path/"ft"/"report.md").is_file()
    out = ok("evaluate", tmp_path/"ft")                                     # the run's own test file, scored again
    assert f"accuracy {test_acc:.4f}" in out and (tmp_path/"ft"/"eval"/"sentiment_test"/"plots"/"roc_pr.png").is_file()
    ok("predict", tmp_path/"ft", data["sentiment_test"], tmp_path/"pred.csv")
    rows = list(csv.DictReader(open(tmp_path/"pred.csv")))
    assert len(rows) == 100 and {"text", "label", "prediction", "p_negative", "p_positive"} <= set(rows[0])
    assert abs(sum(r["prediction"] == r["label"] for r in rows) / len(rows) - test_acc) < 1e-9
    out = ok("generate", tmp_path/"pre", "the film was", "--max_new_tokens", "5")
    assert out.startswith("> the film was\n")
    out = ok("plan", "--model", tmp_path/"ft", "--batch_size", "4", "--seq_len", "32", "--budget_gb", "1")
    assert "fits in 1 GB" in out
    gpt2_small = ["model.n_layer=12", "model.n_embd=768", "model.n_head=12", "data.vocab_size=50257", "--batch_size", "1", "--seq_len", "128"]
    fp32 = ok("plan", *gpt2_small)
    lean = ok("plan", *gpt2_small, "--precision", "bf16", "--optimizer_state", "factored", "--optimizer_in_backward")
    assert "(factored state), bf16" in lean
    per_param = lambda o: float(re.search(r"\(([\d.]+) bytes/param\)", o).group(1))
    assert per_param(lean) < per_param(fp32) - 8, (fp32, lean)       # 16 bytes of weights, gradients, moments -> about 4
    out = ok("compare", tmp_path/"ft", tmp_path/"pre")
    assert "ft" in out and "pre" in out
    assert "lr: 0.0003" in ok("config", "finetune", "--config", "sample_sentiment")

@pytest.mark.parametrize("args,says", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["finetune", "train.lrr=1e-3"], "did you mean 'lr'?"),
    (["finetune", "data.batch_size=many"], "expected an integer"),
    (["finetune", "name=x", "data.train_file=/no/such/file.csv"], "not found"),
    (["finetune", "--config", "no_such_config"], "config file not found"),
])
def test_bad_invocations_exit_nonzero_with_one_line(tmp_path, llm_ft_bin, offline_env, args, says):
    r = run([llm_ft_bin, *args], offline_env, cwd=tmp_path)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len([l for l in r.stderr.splitlines() if "error" in l]) == 1, r.stderr

def test_finetune_on_two_processes_matches_one(tmp_path, data, llm_ft_bin, offline_env):
    "accelerate launch of the real command: same global batch (16 = 8 x 2 processes), same losses and test metrics"
    env = {**offline_env, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    common = ["finetune", "--config", "sample_sentiment", f"run_dir={tmp_path}", "model.name_or_path=null", *TINY,
              f"data.train_file={data['sentiment_train']}", f"data.test_file={data['sentiment_test']}",
              f"data.tokenizer=null", "data.vocab_size=300", "train.epochs=1", "train.max_steps=10", "train.warmup_steps=2", "train.eval_every=5", "model.dropout=0.0"]
    one = run([llm_ft_bin, *common, "name=one", "data.batch_size=16"], env)
    assert one.returncode == 0, one.stderr[-3000:]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", llm_ft_bin]
    two = run([*launch, *common, "name=two", "data.batch_size=8"], env)
    r2 = tmp_path/"two"
    if two.returncode != 0:   # gloo can abort at interpreter exit after a complete run (TOOLCHAIN.md); the run must be complete
        assert "terminate called without an active exception" in two.stderr and (r2/"results.json").exists(), two.stderr[-3000:]
    assert two.stdout.count("run: ") == 1                                  # one process prints
    res1, res2 = read_json(tmp_path/"one"/"results.json"), read_json(r2/"results.json")
    assert (res1["num_processes"], res2["num_processes"]) == (1, 2) and res1["steps"] == res2["steps"] == 10
    l1 = {r["step"]: r["loss"] for r in read_jsonl(tmp_path/"one"/"metrics.jsonl") if "loss" in r}
    l2 = {r["step"]: r["loss"] for r in read_jsonl(r2/"metrics.jsonl") if "loss" in r}
    assert l1.keys() == l2.keys() and all(abs(l1[s] - l2[s]) < 1e-4 for s in l1), (l1, l2)
    for k in ("accuracy", "f1_macro", "roc_auc"): assert abs(res1["test"][k] - res2["test"][k]) < 1e-6, k
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]    # one run dir per run, no strays

def test_quickstart_main_job(tmp_path, llm_ft_bin, offline_env):
    "The README's main job, exactly as typed (default settings): pretraining must measurably help"
    r = run([llm_ft_bin, "quickstart", "--out_dir", tmp_path/"qs"], offline_env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "pretrained GPT -> sentiment" in r.stdout and "random init -> sentiment" in r.stdout and "report:" in r.stdout
    pre, scratch = (read_json(tmp_path/"qs"/f"finetune_{n}"/"results.json")["test"] for n in ("pretrained", "scratch"))
    assert pre["accuracy"] >= scratch["accuracy"] + 0.1, (pre, scratch)
    report = (tmp_path/"qs"/"report.md").read_text()
    assert "unseen adjectives" in report and (tmp_path/"qs"/"finetune_pretrained"/"plots"/"roc_pr.png").is_file()

def test_wheel_installs_into_a_fresh_venv(tmp_path, offline_env):
    "pip install of the built wheel (not editable): the command runs and package data (configs, metric module) is inside"
    w = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path/"dist", ROOT], offline_env)
    assert w.returncode == 0, w.stderr[-3000:]
    wheel = next((tmp_path/"dist").glob("llm_ft-*.whl"))
    venv.create(tmp_path/"venv", with_pip=True)
    py, bin_ = tmp_path/"venv"/"bin"/"python", tmp_path/"venv"/"bin"
    i = run([py, "-m", "pip", "install", "--no-deps", "--no-index", wheel], offline_env)
    assert i.returncode == 0, i.stderr[-3000:]
    site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], offline_env).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]            # the dependencies, without our editable llm_ft
    Path(site, "deps.pth").write_text("\n".join(deps) + "\n")
    env = {**offline_env, "PYTHONPATH": ""}
    h = run([bin_/"llm_ft", "--help"], env, cwd=tmp_path)
    assert h.returncode == 0 and "quickstart" in h.stdout, h.stderr[-3000:]
    check = ("import llm_ft, llm_ft.metrics as m, llm_ft.config as c; from pathlib import Path; "
             "assert Path(llm_ft.__file__).is_relative_to(Path(sys.argv[1])), llm_ft.__file__; "
             "print(m.load_metric('classification').compute(predictions=[0, 1, 1], references=[0, 1, 0], probabilities=[[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])['accuracy']); "
             "print(c.load_config(c.FinetuneConfig, 'sst2_minilm').model.name_or_path)")
    r = run([py, "-c", "import sys; " + check, site], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["0.6666666666666666", "all-MiniLM-L6-v2"], r.stdout
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()                               # the registry and configs ship; the test slices do not
    assert "llm_ft/datasets.py" in names and "llm_ft/configs/ag_news.yaml" in names and not any("tests/" in n for n in names)
    d = run([bin_/"llm_ft", "data", "list"], {**env, "LLM_FT_DATA": ""}, cwd=tmp_path)
    assert d.returncode == 0 and d.stdout.count("not here (download: https://") + d.stdout.count("cache: ") == 6, d.stdout

def test_shipped_chat_config_end_to_end(tmp_path, samples):
    "en_fr_chat turns the en_fr pairs into conversations; finetune, evaluate, predict and generate through the command, on our GPT"
    from llm_ft.config import FinetuneConfig, load_config
    from llm_ft.tasks import get_task
    from llm_ft.tokenizer import load_tokenizer
    from llm_ft.datasets import get_dataset
    from llm_ft.test_utils import run_cli, set_env
    def ok(*args):
        with set_env(LLM_FT_DATA=str(samples)): rc, out, err = run_cli(list(args))
        assert rc == 0, (args, err[-3000:])
        return out
    out = ok("finetune", "--config", "en_fr_chat", f"run_dir={tmp_path}", "data.max_train_rows=60", "train.max_steps=3", "data.batch_size=8",
             "model.n_layer=2", "model.n_embd=32", "data.vocab_size=300", "max_new_tokens=4")
    assert "test: bleu" in out
    run_dir = tmp_path/"en_fr_chat"
    cfg = load_config(FinetuneConfig, run_dir/"config.yaml")
    task, tok = get_task(cfg), load_tokenizer(run_dir/"best")
    convs = task.conversations(get_dataset("en_fr", samples).split("test").select(range(3)))
    msgs = convs[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"] and msgs[0]["content"] == cfg.system_prompt
    enc = task.encode(convs, tok)                                           # the loss falls on the assistant's words only
    learned = tok.decode([t for t, l in zip(enc[0]["input_ids"], enc[0]["labels"]) if l != -100])
    assert learned.startswith(msgs[2]["content"]) and msgs[1]["content"] not in learned
    assert "bleu" in ok("evaluate", str(run_dir))                           # the registry's test split, every assistant turn generated
    f = tmp_path/"in.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "I am cold."}]}) + "\n"
                 + json.dumps({"messages": [{"role": "user", "content": "Go!"}, {"role": "assistant", "content": "Va !"},
                                            {"role": "user", "content": "Run!"}]}) + "\n")
    ok("predict", str(run_dir), str(f), str(tmp_path/"out.jsonl"))
    preds = [json.loads(l) for l in (tmp_path/"out.jsonl").read_text().splitlines()]
    assert len(preds) == 2 and all("prediction" in p and p["messages"] for p in preds)
    assert ok("generate", str(run_dir), "I am cold.").startswith("> I am cold.")
