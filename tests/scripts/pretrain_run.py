"""Run `llm_ft.pretrain.pretrain` with key=value overrides; used by the black-box tests (also under accelerate launch).

    python tests/scripts/pretrain_run.py [--kill-at STEP] key=value ...

--kill-at sends SIGKILL to the process itself right after optimizer step STEP is logged, before anything else is saved: a
crash at a chosen point, with no race against the clock.
"""
import os, signal, sys
from llm_ft.config import PretrainConfig, apply_overrides
from llm_ft.pretrain import pretrain
from llm_ft.train import Callback

class KillAt(Callback):
    "SIGKILL this process at step `at` (nothing runs after it: no finally, no atexit)"
    def __init__(self, at): self.at = at
    def on_step(self, state, record):
        if state.step == self.at: os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    args, kill = sys.argv[1:], None
    if args and args[0] == "--kill-at": kill, args = int(args[1]), args[2:]
    pretrain(apply_overrides(PretrainConfig(), args), callbacks=[KillAt(kill)] if kill else [])
