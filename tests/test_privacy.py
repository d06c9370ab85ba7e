"""Personal data never reaches the token cache or the run directory; encrypted artefacts need their key."""
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from llm_ft.core import new_encryption_key, is_encrypted
from llm_ft.sample_data import sample_corpus

SCRIPT = str(Path(__file__).parent/"scripts"/"pretrain_run.py")
PII = ["jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "11010519491231002X", "GB82 WEST 1234 5698 7654 32",
       "192.168.13.77", "AKIAIOSFODNN7EXAMPL3", "https://api.example.com/v1?token=s3cr3tT0ken", "09061701461"]

def write_corpus(path):
    docs = sample_corpus(300)
    for i, v in enumerate(PII * 5): docs[i * 6] += f" contact {v} today ."
    path.write_text("\n".join(docs) + "\n")
    return path

def run(args, env, check=True):
    r = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600)
    if check: assert r.returncode == 0, r.stderr[-3000:]
    return r

def base(tmp_path, corpus, name, **kw):
    kv = {"run_dir": tmp_path/"runs", "name": name, "data.train_file": corpus, "data.vocab_size": 400, "data.batch_size": 8,
          "model.n_layer": 2, "model.n_head": 2, "model.n_embd": 32, "model.block_size": 32, "train.max_steps": 6,
          "train.save_every": 3, "train.log_every": 1, **kw}
    return [f"{k}={v}" for k, v in kv.items()]

def all_bytes(folder):
    return [(p, p.read_bytes()) for p in Path(folder).rglob("*") if p.is_file()]

def test_scrubbed_run_leaks_no_pii(tmp_path, offline_env):
    corpus = write_corpus(tmp_path/"corpus.txt")
    run(base(tmp_path, corpus, "scrubbed", **{"data.scrub_pii": "true"}), offline_env)
    runs = tmp_path/"runs"
    report = json.loads((runs/"scrubbed"/"pii_report.json").read_text())
    assert report["counts"]["train"]["EMAIL"] >= 5 and report["counts"]["train"]["PHONE"] >= 10
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(runs/"scrubbed"/"tokenizer")
    caches = list((runs/".cache").glob("tokens-*.bin"))
    assert caches
    for c in caches:
        text = tok.decode(np.fromfile(c, dtype=np.uint16).tolist())
        assert "<EMAIL>" in text and "<PHONE>" in text
        for v in PII: assert v not in text, v
    for p, data in all_bytes(runs):                                           # config, metrics, tokenizer, report, weights...
        for v in PII:
            for piece in {v, v.replace(" ", "")}: assert piece.encode() not in data, (p, v)

def test_encryption_at_rest(tmp_path, offline_env):
    corpus = write_corpus(tmp_path/"corpus.txt")
    key = new_encryption_key()
    env = {**offline_env, "LLM_FT_ENCRYPTION_KEY": key}
    run(base(tmp_path, corpus, "enc", **{"train.max_steps": 3}), env)
    runs = tmp_path/"runs"
    caches = list((runs/".cache").glob("tokens-*.bin"))
    assert caches and all(is_encrypted(c) for c in caches)
    ck = runs/"enc"/"checkpoints"/"step-3"
    assert all(is_encrypted(p) for p in ck.iterdir() if p.name != "trainer_state.json")
    args = base(tmp_path, corpus, "enc", **{"train.max_steps": 6, "resume": "true"})
    wrong = run(args, {**offline_env, "LLM_FT_ENCRYPTION_KEY": new_encryption_key()}, check=False)
    assert wrong.returncode != 0 and "wrong key, or the file was modified" in wrong.stderr
    missing = run(args, offline_env, check=False)
    assert missing.returncode != 0 and "encrypted and no key is set" in missing.stderr
    ok = run(args, env)
    assert "resumed from checkpoints/step-3" in ok.stdout + ok.stderr
    assert json.loads((runs/"enc"/"results.json").read_text())["steps"] == 6
