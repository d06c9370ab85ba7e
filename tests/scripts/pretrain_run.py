"""Run `llm_ft pretrain key=value ...` through the command's own `main` (also under accelerate launch), optionally with a
fault at a chosen optimizer step, for the black-box tests:

    python tests/scripts/pretrain_run.py [--kill-at STEP] [--fsize-after STEP BYTES] key=value ...

--kill-at sends SIGKILL to the process itself right after step STEP is logged, before anything else is saved: a crash at
a chosen point, with no race against the clock. --fsize-after lets no file grow past BYTES from step STEP on, as a disk
that fills up mid-run would (writes fail with EFBIG instead of ENOSPC; the code path is the same).
"""
import os, resource, signal, sys
import llm_ft.train as train
from llm_ft.cli import main

args, kill, fsize = sys.argv[1:], None, None
while args and args[0].startswith("--"):
    if args[0] == "--kill-at": kill, args = int(args[1]), args[2:]
    elif args[0] == "--fsize-after": fsize, args = (int(args[1]), int(args[2])), args[3:]
    else: sys.exit(f"unknown option {args[0]}")

class Faults(train.ProgressBar):
    "The default progress bar, plus the requested fault"
    def on_step(self, state, record):
        super().on_step(state, record)
        if state.step == kill: os.kill(os.getpid(), signal.SIGKILL)
        if fsize and state.step == fsize[0]:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (fsize[1], fsize[1]))

train.ProgressBar = Faults                                     # fit's default callbacks are looked up when it runs
sys.exit(main(["pretrain", *args]))
