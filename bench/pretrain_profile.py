"""Where a training step's time goes: torch.profiler over llm_ft's own loop, top operators by self CPU time.

    python bench/pretrain_profile.py [--label after] [--steps 5]
    python bench/pretrain_profile.py --task classify [--steps 100]     # stored under the label "classify"

Pretraining (the default): the model, batch and optimizer of the pretraining throughput benchmark (4 layers, 256 wide, block
256, vocab 8192, batch 16, fp32 AdamW, clipping 1.0), trained by `fit` on random tokens (operator times do not depend on
the token values). `--task classify`: the classification throughput benchmark's llm_ft run (the same-shaped classifier on
SST-2 sentences, length-grouped batches of 16, fp32 AdamW, clipping 1.0). The profiler runs inside the loop, from the end
of step 2 + --steps to the end of step 2 + 2 * --steps, so it sees exactly what `fit` runs: forward, the loss, backward,
clipping, the AdamW update and the loop's own work; the --steps before it are timed without the profiler, whose own
bookkeeping (one record per operator call, on the main thread) slows a step of many small operators. The result is stored
under --label in bench/results/pretrain_profile.json; other labels already there are kept, so the file holds the profile
before a change (with the commit and machine it measured) beside the one after.
"""
import argparse, json, tempfile
from common import CoreMeter, RESULTS, commit, machine, write_result
from pretrain_throughput import SHAPE, BATCH, T, llm_ft_config

def pretrain_run(steps:int):
    "Model, batches, config and objective of the pretraining throughput benchmark, on random tokens"
    import torch
    from torch.utils.data import default_collate
    from llm_ft.model import GPTConfig, GPTForCausalLM
    from llm_ft.train import Batches
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    rows = [{"input_ids": x, "labels": x} for x in torch.randint(0, SHAPE["vocab_size"], (BATCH * (2 * steps + 3), T), generator=g)]
    return GPTForCausalLM(GPTConfig(**SHAPE)), Batches(rows, BATCH, default_collate), llm_ft_config(2 * steps + 3), None

def classify_run(steps:int):
    "Model, batches, config and objective of the classification throughput benchmark's llm_ft run"
    import classify_throughput as ct
    from llm_ft.data import Collator
    train, _, tok = ct.sst2(None, 2000)
    batches, cfg, objective = ct.llm_ft_recipe(train, Collator(tok.pad_token_id), max_steps=2 * steps + 3, log_every=10**6)
    return ct.our_model(ct.hf_model(tok)), batches, cfg, objective

def profile(steps:int, task:str="pretrain", top:int=12)->dict:
    import torch
    from torch.profiler import profile as tprofile, ProfilerActivity
    from llm_ft.train import Callback, fit
    torch.set_num_threads(2)
    model, batches, cfg, objective = (classify_run if task == "classify" else pretrain_run)(steps)
    prof = tprofile(activities=[ProfilerActivity.CPU])
    class Window(Callback):                        # `steps` steps timed without the profiler, then the same number profiled
        def on_step(self, state, record):
            if state.step == 2: self.plain = CoreMeter().start()
            if state.step == 2 + steps: self.plain.stop(); self.meter = CoreMeter().start(); prof.start()
            if state.step == 2 + 2 * steps: prof.stop(); self.meter.stop()
    w = Window()
    with tempfile.TemporaryDirectory() as d:
        fit(model, batches, cfg, d, objective, callbacks=[w])
    ev = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ev)
    ops = [{"op": e.key, "self_ms_per_step": e.self_cpu_time_total / 1e3 / steps, "share": e.self_cpu_time_total / total,
            "calls_per_step": e.count / steps} for e in ev[:top]]
    return {"task": task, "steps": steps, "s_per_step": w.meter.wall_s / steps, "cores_used": w.meter.cores_used,
            "contended": w.meter.contended, "s_per_step_unprofiled": w.plain.wall_s / steps, "cores_used_unprofiled": w.plain.cores_used,
            "self_cpu_ms_per_step": total / 1e3 / steps, "top_ops": ops}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=("pretrain", "classify"), default="pretrain")
    ap.add_argument("--label", default=None, help="the name this profile is stored under (default: current, or classify)")
    ap.add_argument("--steps", type=int, default=None, help="profiled steps (default: 5 pretraining, 100 classification)")
    ap.add_argument("--top", type=int, default=20, help="operators kept")
    a = ap.parse_args()
    label, steps = a.label or ("classify" if a.task == "classify" else "current"), a.steps or (100 if a.task == "classify" else 5)
    p = profile(steps, a.task, a.top)
    print(f"{steps} steps unprofiled: {p['s_per_step_unprofiled']:.3f} s/step, {p['cores_used_unprofiled']:.2f} cores; "
          f"{steps} profiled: {p['s_per_step']:.3f} s/step, {p['cores_used']:.2f} cores" + ("  CONTENDED" if p["contended"] else ""))
    print(f"{'op':<44}{'ms/step':>9}{'share':>8}{'calls/step':>12}")
    for o in p["top_ops"]: print(f"{o['op'][:43]:<44}{o['self_ms_per_step']:>9.1f}{o['share']:>8.1%}{o['calls_per_step']:>12.1f}")
    f = RESULTS/"pretrain_profile.json"
    old = json.loads(f.read_text())["profiles"] if f.exists() else {}
    out = write_result("pretrain_profile", {"profiles": {**old, label: {"commit": commit(), "machine": machine(), **p}}})
    print("wrote", out)

if __name__ == "__main__": main()
