"""What every benchmark stores beside its numbers: the commit, the machine, the fp32 matmul peak, and how many cores each
contender really got.

A timing taken while something else ran on the machine is not a measurement of the code. Each contender's run is wrapped in
`CoreMeter`, which reads the process's CPU time (all threads) over its wall time: on a quiet 2-core machine a run that
uses both threads gets about 2.0 cores; a run that got less than `CONTENDED_SHARE` of the threads it asked for shared the
machine, is marked `contended`, and is kept out of headline ratios. MFU is reported against the best matmul peak ever
stored in the result file (`quiet_peak_gflops`), not against a peak measured inside a run that may have been contended;
a peak stored by another CPU model is ignored (the file records the machine it was measured on).
"""
import json, os, subprocess, time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/"results"
CONTENDED_SHARE = 0.9          # of the threads a run uses: 1.8 of 2 cores

def commit()->str:
    "The short commit of the code measured, with -dirty when tracked files other than stored results differ from it"
    root = Path(__file__).resolve().parents[1]
    try:
        c = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return c + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError): return "unknown"

def machine()->dict:
    "Core count, the threads torch uses, and the CPU model"
    import torch
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), None) \
            if Path("/proc/cpuinfo").exists() else None
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "cpu_model": model}

def matmul_gflops(n:int=1024, repeats:int=5)->float:
    "fp32 matmul GFLOP/s measured now: llm_ft's own probe without the per-process cache of `matmul_peak_flops`"
    from llm_ft.train import _peak_flops
    return _peak_flops.__wrapped__("cpu", n, repeats) / 1e9

def slow_host(peak_gflops:float, best_gflops:float)->bool:
    "True when a run's matmul probe fell under CONTENDED_SHARE of the machine's best: the host under the VM was busy"
    return peak_gflops < CONTENDED_SHARE * best_gflops

class CoreMeter:
    """with CoreMeter() as m: ...  (or m.start() ... m.stop())  -> m.wall_s, m.cores_used (process CPU seconds per wall second), m.contended;
    with `probe=True` it first measures the matmul peak (m.peak_gflops), which a busy host lowers though the process gets its cores"""
    def __init__(self, threads:int=None, probe:bool=False): self.threads, self.probe = threads, probe
    def start(self):
        if self.probe: self.peak_gflops = matmul_gflops()
        self.t0, self.c0 = time.perf_counter(), time.process_time(); return self
    def stop(self):
        import torch
        self.wall_s = time.perf_counter() - self.t0
        self.cores_used = (time.process_time() - self.c0) / max(self.wall_s, 1e-9)
        self.contended = contended(self.cores_used, self.threads or torch.get_num_threads())
        return self
    def __enter__(self): return self.start()
    def __exit__(self, *exc): self.stop()

def contended(cores_used:float, threads:int)->bool:
    "True when a run got less than CONTENDED_SHARE of the threads it used"
    return cores_used < CONTENDED_SHARE * threads

def stored_peak(name:str)->float:
    "The best quiet matmul peak (GFLOP/s) already stored in results/<name>.json, 0 if none or if it was measured on another machine"
    f = RESULTS/f"{name}.json"
    try: stored = json.loads(f.read_text())
    except (OSError, ValueError): return 0.0
    here, there = machine(), stored.get("machine", {})
    if (there.get("cpu_model"), there.get("cpu_count")) != (here["cpu_model"], here["cpu_count"]):
        return 0.0                                   # another CPU's peak is no denominator for this one's FLOP/s
    return float(stored.get("quiet_peak_gflops") or 0)

def quiet_peak(stored:float, runs:list)->float:
    "The machine's best matmul peak (GFLOP/s) so far: `stored` (see `stored_peak`) or the probe of any run in `runs` that got its cores"
    return max([stored] + [r["peak_gflops"] for r in runs if not r["contended"]])

def write_result(name:str, result:dict)->Path:
    "results/<name>.json, with the commit and the machine, written atomically"
    RESULTS.mkdir(parents=True, exist_ok=True)
    f, tmp = RESULTS/f"{name}.json", RESULTS/f".{name}.json.tmp"
    tmp.write_text(json.dumps({"bench": name, "commit": commit(), "machine": machine(), **result}, indent=1) + "\n")
    os.replace(tmp, f)
    return f
