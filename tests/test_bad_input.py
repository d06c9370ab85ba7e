"""Files and settings as users really have them, through the `llm_ft` command: each case is either done correctly or
stopped with one line naming the file/row/column (or key) and the fix, exit status 2, no traceback, nothing left behind
that blocks the corrected rerun. Most cases run the command in-process (`run_cli`, the same `main` the console script
calls); what needs its own process (a full disk, no permission) runs the installed command."""
import codecs, json, os, resource, signal, stat, subprocess, sys
from pathlib import Path
import pytest
from llm_ft.core import read_json, read_jsonl
from llm_ft.sample_data import write_sample_data
from llm_ft.test_utils import run_cli, set_env

TINY = ["model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=64", "data.max_length=64", "data.vocab_size=300",
        "train.max_steps=2", "data.batch_size=8", "train.lr=1e-3"]

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample_data(tmp_path_factory.mktemp("data"), n_corpus=100, n_sentiment=120, n_test=40)

def rows(path): return [l.split(",") for l in Path(path).read_text().splitlines()[1:]]

def ok(argv):
    rc, out, err = run_cli(argv)
    assert rc == 0, err[-3000:]
    return out, err

def refused(argv, *says):
    "The command exits 2 with one line on stderr holding every `says`, and no traceback"
    rc, out, err = run_cli(argv)
    lines = [l for l in err.strip().splitlines() if not l.startswith("llm_ft: warning")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err[-3000:]
    for s in says: assert s in lines[0], (s, lines[0])
    return lines[0]

def finetune(tmp, name, train, *extra): return ["finetune", f"run_dir={tmp}", f"name={name}", f"data.train_file={train}", *TINY, *extra]

# --- files -----------------------------------------------------------------------------------------------------------

def test_bom_and_crlf_read_like_plain_csv(tmp_path, sample):
    f = tmp_path/"excel.csv"
    f.write_bytes(codecs.BOM_UTF8 + ("text,label\r\n" + "".join(f"{t},{l}\r\n" for t, l in rows(sample["sentiment_train"]))).encode())
    ok(finetune(tmp_path, "bom", f))
    ok(["predict", str(tmp_path/"bom"), str(f), str(tmp_path/"p.csv")])
    assert (tmp_path/"p.csv").read_text().splitlines()[0].startswith("text,label,prediction")

def test_long_field_is_read_and_truncation_counted(tmp_path, sample):
    f = tmp_path/"long.csv"
    long = "the film was good . " * 10_000                                           # ~200 KB in one field
    f.write_text("text,label\n" + f'"{long}",positive\n' + "".join(f"{t},{l}\n" for t, l in rows(sample["sentiment_train"])))
    out, _ = ok(finetune(tmp_path, "long", f))
    assert read_json(tmp_path/"long"/"data.json")["tokens"]["truncated"] >= 1 and "were truncated" in out

@pytest.mark.parametrize("value, kind", [("42", "number 42"), ('["a", "b"]', 'list ["a", "b"]')])
def test_jsonl_values_of_the_wrong_type(tmp_path, sample, value, kind):
    f = tmp_path/"mixed.jsonl"
    f.write_text('{"text": "the film was good .", "label": "positive"}\n' f'{{"text": {value}, "label": "negative"}}\n')
    refused(finetune(tmp_path, "j", f), "row 2 (line 2): column 'text' holds " + kind, "earlier rows hold text")
    f2 = tmp_path/"null.jsonl"
    f2.write_text('{"text": "good", "label": "positive"}\n{"text": null, "label": "negative"}\n{"text": "bad", "label": "negative"}\n')
    refused(finetune(tmp_path, "n", f2), "row 2: column 'text' holds NoneType None, expected text")

def test_missing_label_spellings(tmp_path, sample):
    r = rows(sample["sentiment_train"])
    f = tmp_path/"nan.csv"; f.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in r) + "a film,NaN\nanother,null\nthird,\n")
    refused(finetune(tmp_path, "nan", f), "column 'label' has no label", "data.skip_invalid=true")
    ok(finetune(tmp_path, "nan", f, "data.skip_invalid=true"))
    assert "3 (missing label)" in read_json(tmp_path/"nan"/"data.json")["train_file"]
    assert read_json(tmp_path/"nan"/"labels.json")["names"] == ["negative", "positive"]

def test_float_labels_match_integer_labels(tmp_path):
    words = ["good", "great", "fine", "bad", "awful", "dull"]
    tr, te = tmp_path/"tr.csv", tmp_path/"te.csv"
    tr.write_text("text,label\n" + "".join(f"the film was {w} {i},{1.0 if j < 3 else 0.0}\n" for i in range(10) for j, w in enumerate(words)))
    te.write_text("text,label\n" + "".join(f"a {w} film,{1 if j < 3 else 0}\n" for j, w in enumerate(words)))
    ok(finetune(tmp_path, "f", tr, f"data.test_file={te}"))
    assert read_json(tmp_path/"f"/"labels.json")["names"] == ["0", "1"]

def test_path_that_does_not_exist_is_a_missing_file(tmp_path):
    refused(finetune(tmp_path, "x", "data/train.csv"), "data/train.csv: data file not found")

def test_train_test_overlap_is_said(tmp_path, sample):
    out, err = ok(finetune(tmp_path, "o", sample["sentiment_train"], f"data.test_file={sample['sentiment_train']}"))
    n = read_json(tmp_path/"o"/"data.json")["test_in_train"]
    assert n > 0 and f"{n:,} test rows also occur in the training data" in err + out
    assert "also occur in the training data" in (tmp_path/"o"/"report.md").read_text()

def test_single_class_names_file_and_column(tmp_path):
    f = tmp_path/"one.csv"; f.write_text("text,label\n" + "".join(f"text {i},pos\n" for i in range(20)))
    refused(finetune(tmp_path, "one", f), str(f), "column 'label' holds one class only")

def test_encoding_hint_is_usable_and_binary_is_not_text(tmp_path, sample):
    f = tmp_path/"latin.csv"
    f.write_bytes(("text,label\n" + "".join(f"{t} café,{l}\n" for t, l in rows(sample["sentiment_train"]))).encode("latin-1"))
    refused(finetune(tmp_path, "e", f), "undecodable bytes at line 2", "data.encoding=latin-1")
    ok(finetune(tmp_path, "e", f, "data.encoding=latin-1"))
    x = tmp_path/"book.csv"; x.write_bytes(b"PK\x03\x04" + bytes(100))
    line = refused(finetune(tmp_path, "b", x), "not a text file: it is a zip archive")
    assert "latin" not in line

def test_txt_with_columns_is_read_as_tsv(tmp_path, sample):
    f = tmp_path/"train.txt"
    f.write_text("".join(f"{l}\t{t}\n" for t, l in rows(sample["sentiment_train"])))
    ok(finetune(tmp_path, "txt", f, "data.columns=[label, text]"))
    g = tmp_path/"prose.txt"; g.write_text("just prose here\n" * 30)
    refused(finetune(tmp_path, "p", g, "data.columns=[label, text]"), "set data.format=tsv")

def test_many_small_classes_still_validate(tmp_path):
    f = tmp_path/"many.csv"; f.write_text("text,label\n" + "".join(f"text number {i} {j},c{i}\n" for i in range(60) for j in range(2)))
    ok(finetune(tmp_path, "m", f, "data.valid_fraction=0.2", "data.dedupe=false", "train.max_steps=1", "train.eval_every=1"))
    assert any("eval_accuracy" in r for r in read_jsonl(tmp_path/"m"/"metrics.jsonl")) and (tmp_path/"m"/"best").is_dir()

# --- settings ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("override, says", [("learning_rate=1e-3", "did you mean 'train.lr'?"), ("train.learning_rat=1e-3", "did you mean 'train.lr'?"),
                                            ("train.batch_size=8", "did you mean 'data.batch_size'?"), ("num_epochs=3", "did you mean 'train.epochs'?")])
def test_other_tools_names_point_to_ours(override, says):
    refused(["config", "finetune", override], says)

def test_shipped_configs_are_listed_and_fit_small_data(tmp_path, samples):
    assert "sst2_minilm" in run_cli(["finetune", "--help"])[1] and "sst2_minilm" in run_cli(["config", "list"])[1]
    with set_env(LLM_FT_DATA=str(samples)):                                       # warmup is a fraction: no step count to exceed
        ok(["finetune", "--config", "sms_spam", f"run_dir={tmp_path}", "data.max_train_rows=40", "train.max_steps=3", "data.batch_size=8",
            "data.max_length=32", "tune_threshold=false"])

def test_refused_start_leaves_nothing_behind(tmp_path, sample):
    refused(finetune(tmp_path, "r", sample["sentiment_train"], "data.text_column=review"), "column 'review' not found")
    assert not (tmp_path/"r").exists()
    ok(finetune(tmp_path, "r", sample["sentiment_train"]))

def test_max_length_beyond_context(tmp_path, sample):
    refused(finetune(tmp_path, "c", sample["sentiment_train"], "data.max_length=128"),
            "data.max_length: 128 tokens is longer than the new GPT's context, model.block_size=64")

# --- prediction agrees with evaluation -------------------------------------------------------------------------------

def test_predict_uses_the_runs_max_length_and_agrees_with_evaluate(tmp_path, sample):
    "A run trained on 6-token texts truncates 6 tokens in predict too: predictions equal the evaluation's, row for row"
    ok(finetune(tmp_path, "short", sample["sentiment_train"], f"data.test_file={sample['sentiment_test']}", "data.max_length=6",
                "train.max_steps=6"))
    ok(["predict", str(tmp_path/"short"), str(sample["sentiment_test"]), str(tmp_path/"p.csv")])
    ok(["evaluate", str(tmp_path/"short"), "--data", str(sample["sentiment_test"]), "--out_dir", str(tmp_path/"ev")])
    import csv
    pred = list(csv.DictReader(open(tmp_path/"p.csv")))
    acc = read_json(tmp_path/"ev"/"metrics.json")["accuracy"]
    assert abs(sum(r["prediction"] == r["label"] for r in pred) / len(pred) - acc) < 1e-9

def test_never_predicted_class_is_said(tmp_path, sample):
    out, _ = ok(finetune(tmp_path, "lazy", sample["sentiment_train"], f"data.test_file={sample['sentiment_test']}", "train.lr=1e-9",
                         "train.max_steps=1"))
    assert "never predicted on the test set (recall 0)" in out or "accuracy" in out          # a 1e-9 step leaves one class unpredicted
    m = read_json(tmp_path/"lazy"/"metrics.json")
    if any(v["recall"] == 0 for v in m["per_class"].values()): assert "never predicted" in out

def test_logs_get_lines_not_carriage_returns(tmp_path, sample, llm_ft_bin, offline_env):
    r = subprocess.run([llm_ft_bin, *finetune(tmp_path, "log", sample["sentiment_train"])], env=offline_env, capture_output=True, text=True)
    assert r.returncode == 0 and "\r" not in r.stderr and "train step 2/2" in r.stderr, r.stderr[-2000:]

# --- the file system ---------------------------------------------------------------------------------------------------

def test_outputs_respect_the_umask(tmp_path, sample, llm_ft_bin, offline_env):
    r = subprocess.run([llm_ft_bin, *finetune(tmp_path, "u", sample["sentiment_train"])], env=offline_env, capture_output=True, text=True,
                       preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr[-2000:]
    for p in ("config.yaml", "results.json", "final", "final/model.safetensors"):
        assert (tmp_path/"u"/p).stat().st_mode & 0o044 == 0o044, p                   # group and others can read

def test_unwritable_run_dir(tmp_path, sample):
    "A folder the process may not write in (as root too: /sys refuses everyone): one line naming it, no traceback"
    refused(finetune("/sys/llm_ft_runs", "x", sample["sentiment_train"]), "/sys/llm_ft_runs/x", "cannot write")
    if os.getuid() != 0:                                                           # permissions apply: a read-only folder
        ro = tmp_path/"ro"; ro.mkdir(); ro.chmod(0o555)
        refused(finetune(ro, "x", sample["sentiment_train"]), str(ro/"x"), "Permission denied")

def test_full_disk_keeps_the_last_checkpoint(tmp_path, samples, offline_env):
    "The disk fills after step 2's checkpoint: step 4's fails in one line naming it; step 2 stays intact; resume works"
    script = Path(__file__).parent/"scripts"/"pretrain_run.py"
    args = [f"run_dir={tmp_path}", "name=full", "data.dataset=tinyshakespeare", "data.tokenizer=char", "model.n_layer=1", "model.n_head=2",
            "model.n_embd=64", "model.block_size=32", "data.batch_size=8", "data.valid_fraction=0", "train.max_steps=4", "train.save_every=2",
            "train.log_every=1"]
    env = {**offline_env, "LLM_FT_DATA": str(samples)}
    r = subprocess.run([sys.executable, str(script), "--fsize-after", "3", "50000", *args], env=env, capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot write: " in lines[-1] and "step-4" in lines[-1], r.stderr[-3000:]
    assert "the last complete checkpoint" in lines[-1] and "step-2" in lines[-1]
    cks = tmp_path/"full"/"checkpoints"
    assert (cks/"step-2"/"trainer_state.json").exists() and not list(cks.glob(".*tmp")), sorted(p.name for p in cks.iterdir())
    r = subprocess.run([sys.executable, str(script), *args, "resume=true"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "resumed from checkpoints/step-2" in r.stdout + r.stderr, r.stderr[-2000:]
