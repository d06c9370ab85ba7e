"""Bring your own model: tiny random checkpoints of common Hugging Face architectures, fine-tuned for each task through
the `llm_ft` command — what works, and what is refused with a reason (the table in tutorial 7) — plus custom code,
pickle weights, a classifier with another number of classes, a foreign tokenizer, and chat on a Llama-style checkpoint."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
import transformers as T
from llm_ft.core import read_json
from llm_ft.sample_data import write_sample_data
from llm_ft.tokenizer import train_bpe_tokenizer
from llm_ft.test_utils import run_cli

def tiny(arch:str, vocab:int):
    "A 2-layer random checkpoint of `arch` with a 32-wide residual stream"
    dec = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
               max_position_embeddings=128)
    enc = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=130)
    return {"gpt2": lambda: T.GPT2LMHeadModel(T.GPT2Config(vocab_size=vocab, n_positions=128, n_embd=32, n_layer=2, n_head=2)),
            "llama": lambda: T.LlamaForCausalLM(T.LlamaConfig(**dec)), "qwen2": lambda: T.Qwen2ForCausalLM(T.Qwen2Config(**dec)),
            "mistral": lambda: T.MistralForCausalLM(T.MistralConfig(**dec)), "gemma": lambda: T.GemmaForCausalLM(T.GemmaConfig(head_dim=16, **dec)),
            "bert": lambda: T.BertForMaskedLM(T.BertConfig(**enc)), "roberta": lambda: T.RobertaForMaskedLM(T.RobertaConfig(**enc)),
            "bart": lambda: T.BartForConditionalGeneration(T.BartConfig(vocab_size=vocab, d_model=32, encoder_layers=1, decoder_layers=1,
                    encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128)),
            "t5": lambda: T.T5ForConditionalGeneration(T.T5Config(vocab_size=vocab, d_model=32, d_ff=64, d_kv=16, num_layers=1, num_heads=2)),
            }[arch]()

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("byo")
    paths = write_sample_data(root/"data", n_corpus=200, n_sentiment=80, n_test=24)
    tok = train_bpe_tokenizer(paths["corpus"].read_text().splitlines(), vocab_size=400)
    return root, paths, tok

def checkpoint(world, arch:str, tokenizer:bool=True)->Path:
    root, _, tok = world
    d = root/"models"/arch
    if not d.exists():
        m = tiny(arch, len(tok))
        m.config.pad_token_id, m.config.eos_token_id, m.config.bos_token_id = tok.pad_token_id, tok.eos_token_id, tok.bos_token_id
        if m.config.is_encoder_decoder: m.config.decoder_start_token_id = tok.bos_token_id
        m.save_pretrained(d)
        if tokenizer: tok.save_pretrained(d)
    return d

def task_args(world, task:str)->list:
    _, p, _ = world
    return {"classification": [f"data.train_file={p['sentiment_train']}", f"data.test_file={p['sentiment_test']}"],
            "generation": ["task=generation", f"data.train_file={p['translation']}", "prompt_template={src} =>", "target_template= {tgt}",
                           "data.test_fraction=0.02", "max_new_tokens=4"],
            "extractive_qa": ["task=extractive_qa", f"data.train_file={p['qa']}", "data.test_fraction=0.05"]}[task]

def finetune(world, name, model, *extra):
    root = world[0]
    return run_cli(["finetune", f"run_dir={root/'runs'}", f"name={name}", f"model.name_or_path={model}", "data.max_length=64",
                    "data.batch_size=8", "train.max_steps=2", "train.lr=1e-3", *extra])

# architecture -> task -> None (works) or the reason it is refused: the table in tutorial 7
TABLE = {a: {"classification": None, "generation": None, "extractive_qa": None} for a in ("gpt2", "llama", "qwen2", "mistral")}
TABLE.update({"gemma": {"classification": None, "generation": None, "extractive_qa": "has no extractive_qa model"},
              **{a: {"classification": None, "generation": "is an encoder: every token sees the whole text", "extractive_qa": None}
                 for a in ("bert", "roberta")},
              **{a: {"classification": None, "generation": "is an encoder-decoder", "extractive_qa": None} for a in ("bart", "t5")}})

@pytest.mark.parametrize("arch", list(TABLE))
def test_architecture_table(world, arch):
    for task, refusal in TABLE[arch].items():
        rc, out, err = finetune(world, f"{arch}_{task}", checkpoint(world, arch), *task_args(world, task))
        if refusal is None: assert rc == 0 and "test:" in out, (arch, task, err[-2000:])
        else: assert rc == 2 and refusal in err and len(err.strip().splitlines()) == 1, (arch, task, err[-2000:])

def test_our_gpt_row_of_the_table(world):
    "llm_ft's own GPT has no QA head: extractive QA is refused in one line, and nothing is left behind"
    root = world[0]
    rc, _, err = run_cli(["finetune", f"run_dir={root/'runs'}", "name=gpt_qa", "model.name_or_path=null", "model.n_layer=2", "model.n_embd=32",
                          "model.block_size=64", "data.max_length=64", "data.vocab_size=300", "train.max_steps=1", *task_args(world, "extractive_qa")])
    assert rc == 2 and "our GPT has no extractive_qa head" in err and len(err.strip().splitlines()) == 1, err[-2000:]
    assert not (root/"runs"/"gpt_qa").exists()

def test_best_reloads_in_plain_transformers(world):
    "A fine-tuned Llama is an ordinary Hugging Face directory: transformers alone loads it and computes the same logits"
    rc, _, err = finetune(world, "llama_plain", checkpoint(world, "llama"), *task_args(world, "generation"))
    assert rc == 0, err[-2000:]
    run = world[0]/"runs"/"llama_plain"
    from llm_ft.run import load_run_model
    ours, tok, _ = load_run_model(run, "causal_lm")
    plain = T.AutoModelForCausalLM.from_pretrained(run/"best").eval()
    ids = torch.tensor([tok("le chat est petit")["input_ids"]])
    with torch.no_grad(): assert torch.allclose(ours(ids).logits, plain(ids).logits, atol=1e-6)

def test_trusted_custom_code_everywhere(world, llm_ft_bin, offline_env):
    "A custom-code checkpoint: refused without trust, and with model.trust_remote_code=true it trains, evaluates, predicts and plans"
    d = world[0]/"models"/"custom"
    if not d.exists():
        shutil.copytree(checkpoint(world, "gpt2"), d)
        (d/"configuration_tiny.py").write_text("from transformers import GPT2Config\nclass TinyConfig(GPT2Config): model_type = 'tiny_custom'\n")
        (d/"modeling_tiny.py").write_text("from transformers import GPT2LMHeadModel, GPT2ForSequenceClassification\n"
                                          "from .configuration_tiny import TinyConfig\n"
                                          "class TinyLM(GPT2LMHeadModel): config_class = TinyConfig\n"
                                          "class TinyClassifier(GPT2ForSequenceClassification): config_class = TinyConfig\n")
        c = json.loads((d/"config.json").read_text())
        c.update(model_type="tiny_custom", auto_map={"AutoConfig": "configuration_tiny.TinyConfig", "AutoModelForCausalLM": "modeling_tiny.TinyLM",
                                                     "AutoModelForSequenceClassification": "modeling_tiny.TinyClassifier"})
        (d/"config.json").write_text(json.dumps(c))
    rc, _, err = finetune(world, "custom_no", d, *task_args(world, "classification"))
    assert rc == 2 and "needs code from its directory to run" in err and "model.trust_remote_code=true" in err, err[-2000:]
    rc, out, err = finetune(world, "custom", d, *task_args(world, "classification"), "model.trust_remote_code=true")
    assert rc == 0 and "test: accuracy" in out, err[-2000:]                          # the end-of-run evaluation trusts its own run
    run, p = world[0]/"runs"/"custom", world[1]
    assert run_cli(["evaluate", str(run)])[0] == 0
    assert run_cli(["predict", str(run), str(p["sentiment_test"]), str(world[0]/"custom.csv")])[0] == 0
    r = subprocess.run([llm_ft_bin, "plan", "--model", str(d)], env=offline_env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "model.trust_remote_code=true" in r.stderr and "EOFError" not in r.stderr, r.stderr[-2000:]
    r = subprocess.run([llm_ft_bin, "plan", "--model", str(d), "model.trust_remote_code=true"], env=offline_env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "parameters" in r.stdout, r.stderr[-2000:]

def test_pickle_weights_need_an_opt_in(world):
    d = world[0]/"models"/"pickled"
    if not d.exists():
        m = tiny("gpt2", len(world[2])); m.config.pad_token_id = world[2].pad_token_id
        m.config.save_pretrained(d); world[2].save_pretrained(d); torch.save(m.state_dict(), d/"pytorch_model.bin")
    rc, _, err = finetune(world, "pk_no", d, *task_args(world, "classification"))
    assert rc == 2 and "pickle weights only" in err and "model.allow_pickle=true" in err, err[-2000:]
    rc, _, err = finetune(world, "pk", d, *task_args(world, "classification"), "model.allow_pickle=true")
    assert rc == 0, err[-2000:]

def test_a_classifier_with_other_classes_needs_a_new_head(world, tmp_path):
    rc, _, err = finetune(world, "two", checkpoint(world, "bert"), *task_args(world, "classification"))
    assert rc == 0, err[-2000:]
    three = tmp_path/"three.csv"
    three.write_text("text,label\n" + "".join(f"review {i} of kind {k},{k}\n" for i in range(20) for k in ("a", "b", "c")))
    best = world[0]/"runs"/"two"/"best"
    rc, _, err = finetune(world, "three_no", best, f"data.train_file={three}")
    assert rc == 2 and "the checkpoint's classifier has 2 classes, the data has 3" in err and "model.reinit_head=true" in err, err
    rc, _, err = finetune(world, "three", best, f"data.train_file={three}", "model.reinit_head=true")
    assert rc == 0, err[-2000:]

def test_tokenizers_that_do_not_fit(world, tmp_path):
    "A checkpoint without tokenizer files takes data.tokenizer; a tokenizer larger than the model's vocabulary is refused up front"
    d = checkpoint(world, "llama")
    bare = tmp_path/"bare"; shutil.copytree(d, bare)
    for f in bare.glob("*token*"): f.unlink()
    rc, _, err = finetune(world, "bare_no", bare, *task_args(world, "classification"))
    assert rc == 2 and "the checkpoint has no tokenizer" in err and "data.tokenizer" in err, err[-2000:]
    rc, _, err = finetune(world, "bare", bare, *task_args(world, "classification"), f"data.tokenizer={d}")
    assert rc == 0, err[-2000:]
    big = train_bpe_tokenizer(world[1]["corpus"].read_text().splitlines() * 3, vocab_size=700); big.save_pretrained(tmp_path/"big")
    rc, _, err = finetune(world, "big", bare, *task_args(world, "classification"), f"data.tokenizer={tmp_path/'big'}")
    assert rc == 2 and f"the tokenizer has {len(big):,} tokens but the model embeds only {len(world[2]):,}" in err, err[-2000:]

def test_settings_a_checkpoint_does_not_take_are_named(world):
    rc, out, err = finetune(world, "drop", checkpoint(world, "bert"), *task_args(world, "classification"), "model.dropout=0.1")
    assert rc == 0 and "model.dropout=0.1 (a 'bert' checkpoint keeps its own settings): not applied" in err, err[-2000:]

def test_chat_on_a_llama_with_a_chat_template(world, tmp_path):
    "A Llama-style checkpoint whose tokenizer has its own (ChatML) template: chat SFT, evaluate, predict and generate"
    d = tmp_path/"chatml"; shutil.copytree(checkpoint(world, "llama"), d)
    tok = T.AutoTokenizer.from_pretrained(d)
    tok.chat_template = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
                         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    tok.save_pretrained(d)
    convs = [[{"role": "user", "content": r["src"]}, {"role": "assistant", "content": r["tgt"]}]
             for r in map(json.loads, world[1]["translation"].read_text().splitlines()[:80])]
    f = tmp_path/"chat.jsonl"; f.write_text("".join(json.dumps({"messages": c}) + "\n" for c in convs))
    rc, out, err = finetune(world, "llama_chat", d, "task=chat", f"data.train_file={f}", "data.test_fraction=0.1", "max_new_tokens=4")
    assert rc == 0 and "test: bleu" in out, err[-2000:]
    run = world[0]/"runs"/"llama_chat"
    from llm_ft.tasks import render
    from llm_ft.tokenizer import load_tokenizer
    assert render(load_tokenizer(run/"best"), convs[0][:1], True).endswith("<|im_start|>assistant\n")   # its own template, kept
    assert run_cli(["evaluate", str(run), "--data", str(f)])[0] == 0                 # every assistant turn, generated and scored
    assert run_cli(["predict", str(run), str(f), str(tmp_path/"p.jsonl")])[0] == 0
    assert len((tmp_path/"p.jsonl").read_text().splitlines()) == len(convs)
    rc, out, _ = run_cli(["generate", str(run), "the cat is small"])
    assert rc == 0 and out.startswith("> the cat is small")

def test_unknown_tokens_are_said(tmp_path):
    "English MiniLM on Chinese reviews: most of the text becomes [UNK], and the run says so"
    f = tmp_path/"zh.csv"
    f.write_text("text,label\n" + "".join(f"这部电影{'非常好看' if i % 2 else '太无聊了'}第{i}次,{i % 2}\n" for i in range(24)))
    rc, out, err = run_cli(["finetune", f"run_dir={tmp_path}", "name=zh", "model.name_or_path=all-MiniLM-L6-v2", f"data.train_file={f}",
                            "train.max_steps=1", "data.batch_size=8", "data.max_length=32"])
    assert rc == 0 and "the tokenizer's unknown token" in err, err[-2000:]
    assert read_json(tmp_path/"zh"/"data.json")["tokens"]["unknown_token_rate"] > 0.3
