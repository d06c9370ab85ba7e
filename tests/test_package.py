"""The package installs, imports, and its command behaves like a command: help, exit codes, one-line errors."""
import configparser, json, subprocess, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]

def run(args, env, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)

def test_version_matches_settings(offline_env):
    cfg = configparser.ConfigParser(); cfg.read(ROOT/"settings.ini")
    r = run([sys.executable, "-c", "import llm_ft; print(llm_ft.__version__)"], offline_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == cfg["DEFAULT"]["version"]

def test_help_lists_subcommands(llm_ft_bin, offline_env):
    r = run([llm_ft_bin, "--help"], offline_env)
    assert r.returncode == 0, r.stderr
    assert "usage: llm_ft" in r.stdout and "config" in r.stdout

def test_config_resolves_file_then_overrides(llm_ft_bin, offline_env, tmp_path):
    f = tmp_path/"ft.yaml"
    f.write_text("task: classification\ntrain:\n  lr: 1.0e-4\ndata:\n  text_column: sentence\n")
    r = run([llm_ft_bin, "config", "finetune", "--config", str(f), "data.batch_size=8"], offline_env)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["train"]["lr"] == 1e-4 and cfg["train"]["epochs"] == 3   # recipe default kept
    assert cfg["data"]["batch_size"] == 8 and cfg["data"]["text_column"] == "sentence"

@pytest.mark.parametrize("args, message", [
    (["config", "finetune", "train.lrr=1e-3"], "train.lrr: unknown key 'lrr' -> did you mean 'lr'?"),
    (["config", "finetune", "train.max_steps=ten"], "train.max_steps: expected an integer, got 'ten'"),
    (["config", "finetune", "--config", "/no/such.yaml"], "/no/such.yaml: config file not found"),
    (["config", "pretrian"], "unknown recipe 'pretrian'"),
])
def test_user_errors_are_one_line(llm_ft_bin, offline_env, args, message):
    r = run([llm_ft_bin, *args], offline_env)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr

def test_debug_shows_traceback(llm_ft_bin, offline_env):
    r = run([llm_ft_bin, "--debug", "config", "finetune", "train.lrr=1"], offline_env)
    assert r.returncode == 2 and "Traceback" in r.stderr

def test_unknown_subcommand(llm_ft_bin, offline_env):
    r = run([llm_ft_bin, "fly"], offline_env)
    assert r.returncode == 2 and "invalid choice: 'fly'" in r.stderr

def test_nbdev_test_fails_on_a_failing_cell(offline_env, tmp_path):
    "The notebook test runner must turn a failing cell into a failing exit status (else CI proves nothing)."
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "assert 1 + 1 == 3"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    bad = tmp_path/"bad.ipynb"; bad.write_text(json.dumps(nb))
    nbdev_test = Path(sys.executable).parent/"nbdev_test"
    r = run([str(nbdev_test), "--path", str(bad)], offline_env, cwd=ROOT)
    assert r.returncode != 0 and "bad.ipynb" in r.stdout + r.stderr

def test_data_list_resolves_every_dataset(llm_ft_bin, offline_env, samples):
    "`llm_ft data list` with LLM_FT_DATA at the slices: all six resolve there, flagged as slices"
    r = run([llm_ft_bin, "data", "list"], {**offline_env, "LLM_FT_DATA": str(samples)})
    assert r.returncode == 0, r.stderr
    rows = [l for l in r.stdout.splitlines() if "LLM_FT_DATA:" in l and l.endswith("(test slice)")]
    assert len(rows) == 6, r.stdout

@pytest.mark.full_data
def test_data_list_on_the_full_mirror(llm_ft_bin, offline_env):
    "With LLM_FT_DATA at a full mirror (CI sets it when it has one), all six datasets resolve, checked by SHA-256"
    import os
    if not os.environ.get("LLM_FT_DATA"): pytest.skip("LLM_FT_DATA is not set")
    r = run([llm_ft_bin, "data", "list"], offline_env)
    names = ("sst2", "sms_spam", "ag_news", "tinyshakespeare", "en_fr", "squad")
    rows = [l for l in r.stdout.splitlines() if l.split(" ", 1)[0] in names]
    assert r.returncode == 0 and len(rows) == 6 and all("LLM_FT_DATA:" in l for l in rows) and "test slice" not in r.stdout, r.stdout

def test_offline_and_missing_is_one_clear_line(llm_ft_bin, offline_env, tmp_path):
    env = {k: v for k, v in offline_env.items() if k != "LLM_FT_DATA"}
    r = run([llm_ft_bin, "data", "info", "squad"], {**env, "XDG_CACHE_HOME": str(tmp_path)})
    assert r.returncode == 0 and "resolves: not on this machine" in r.stdout
    r = run([llm_ft_bin, "finetune", "--config", "squad_minilm", f"run_dir={tmp_path}"],
            {**env, "XDG_CACHE_HOME": str(tmp_path), "LLM_FT_OFFLINE": "1"})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for s in ("dataset 'squad' is not on this machine", "https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json",
              "LLM_FT_DATA", "llm_ft data get squad --from FILE"): assert s in lines[0], (s, lines[0])
    assert not any((tmp_path/"squad_minilm").rglob("*.safetensors"))

def test_data_get_from_a_file(llm_ft_bin, offline_env, tmp_path, samples):
    "`llm_ft data get NAME --from FILE` refuses a file that is not the registered one and leaves the cache empty"
    env = {**offline_env, "XDG_CACHE_HOME": str(tmp_path)}
    r = run([llm_ft_bin, "data", "get", "tinyshakespeare", "--from", str(samples/"tinyshakespeare"/"input.txt")], env)
    assert r.returncode == 2 and "no file here gives input.txt of tinyshakespeare" in r.stderr, r.stderr
    assert not (tmp_path/"llm_ft"/"data"/"tinyshakespeare"/"input.txt").exists()

def test_finetune_by_dataset_name(llm_ft_bin, offline_env, samples, tmp_path):
    "`llm_ft finetune --config sst2_minilm` with no file paths: the registry finds SST-2 (here its slice, via LLM_FT_DATA)"
    r = run([llm_ft_bin, "finetune", "--config", "sst2_minilm", f"run_dir={tmp_path}", "data.max_train_rows=48", "data.valid_fraction=0.1",
             "train.max_steps=2", "train.warmup_steps=1", "train.eval_every=2", "data.batch_size=8"], {**offline_env, "LLM_FT_DATA": str(samples)})
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads((tmp_path/"sst2_minilm"/"data.json").read_text())
    assert data["train_file"].startswith("sst2:train (test slice)") and data["test_file"].startswith("sst2:dev (test slice): kept 218")
    assert "test: accuracy" in r.stdout
