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

@pytest.mark.shared_data
def test_shared_data_is_located(shared_data):
    expected = {"ag_news", "sms_spam", "squad", "sst2", "tinyshakespeare", "translation"}
    assert expected <= {p.name for p in shared_data.iterdir()}
