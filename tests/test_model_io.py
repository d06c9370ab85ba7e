"""A saved llm_ft GPT is a plain Hugging Face directory: another process loads it with the Auto classes."""
import subprocess, sys, textwrap

SAVE = textwrap.dedent("""
    import sys, torch
    from llm_ft.model import GPTConfig, GPTForCausalLM
    torch.manual_seed(0)
    m = GPTForCausalLM(GPTConfig(vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=2, pad_token_id=0)).eval()
    m.save_pretrained(sys.argv[1])
    torch.save(m(torch.arange(1, 17)[None]).logits, sys.argv[1] + "/expected.pt")
""")
LOAD = textwrap.dedent("""
    import sys, torch, llm_ft.model
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    m = AutoModelForCausalLM.from_pretrained(sys.argv[1], local_files_only=True).eval()
    assert torch.equal(m(torch.arange(1, 17)[None]).logits, torch.load(sys.argv[1] + "/expected.pt"))
    assert m.lm_head.weight.data_ptr() == m.transformer.wte.weight.data_ptr()
    c = AutoModelForSequenceClassification.from_pretrained(sys.argv[1], local_files_only=True, num_labels=3)
    print(type(m).__name__, type(c).__name__)
""")

def test_saved_gpt_loads_in_a_fresh_process(tmp_path, offline_env):
    for script in (SAVE, LOAD):
        r = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                           env=offline_env, timeout=300)
        assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["GPTForCausalLM", "GPTForSequenceClassification"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "expected.pt", "generation_config.json", "model.safetensors"]
