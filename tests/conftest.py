"""Shared pytest setup: markers, the real datasets (committed slices, or full copies when this machine has them), the
installed `llm_ft` command."""
import os, shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT/"tests"/"data"       # a few hundred real rows of every registered dataset (tools/make_samples.py)

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes a minute or more on 2 CPU cores")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "full_data: reads a full registered dataset (LLM_FT_DATA or the user cache)")

def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available(): return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords: item.add_marker(skip)

@pytest.fixture(scope="session")
def samples() -> Path:
    "The committed test slices (always present in a clone)"
    assert SAMPLES.is_dir(), SAMPLES
    return SAMPLES

@pytest.fixture(scope="session")
def full_dataset():
    "full_dataset(name): the full registered dataset from LLM_FT_DATA or the cache; the test is skipped, saying why, without one"
    from llm_ft.datasets import find_dataset
    def get(name):
        ds = find_dataset(name)
        if ds is None or ds.sample:
            pytest.skip(f"the full {name} is not on this machine (set LLM_FT_DATA to a mirror, or run `llm_ft data get {name}`)")
        return ds
    return get

@pytest.fixture(scope="session")
def llm_ft_bin() -> str:
    "Path of the installed `llm_ft` console script (the one pip created, not an import)."
    exe = Path(sys.executable).parent/"llm_ft"
    path = str(exe) if exe.exists() else shutil.which("llm_ft")
    if not path: pytest.fail("the llm_ft command is not installed: pip install -e .")
    return path

@pytest.fixture
def offline_env() -> dict:
    "Environment for subprocesses: no hub access, quiet tokenizers."
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}
