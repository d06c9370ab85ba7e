"""Run `llm_ft.pretrain.pretrain` with key=value overrides; used by the black-box tests (also under accelerate launch).

    python tests/scripts/pretrain_run.py [--step-sleep S] key=value ...
"""
import sys, time
from llm_ft.config import PretrainConfig, apply_overrides
from llm_ft.pretrain import pretrain
from llm_ft.train import Callback

class Slow(Callback):
    "Sleep after each step so a test can kill the run mid-way"
    def __init__(self, s): self.s = s
    def on_step(self, state, record): time.sleep(self.s)

if __name__ == "__main__":
    args, sleep = sys.argv[1:], 0.0
    if args and args[0] == "--step-sleep": sleep, args = float(args[1]), args[2:]
    pretrain(apply_overrides(PretrainConfig(), args), callbacks=[Slow(sleep)] if sleep else [])
