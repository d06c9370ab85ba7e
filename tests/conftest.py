"""Shared pytest setup: markers, the real-data folder, the installed `llm_ft` command."""
import os, shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real datasets live beside the project (../shared/data); LLM_FT_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("LLM_FT_SHARED_DATA", ROOT.parent/"shared"/"data"))

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes a minute or more on 2 CPU cores")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "shared_data: reads the real datasets in ../shared/data")

def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available(): return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords: item.add_marker(skip)

@pytest.fixture(scope="session")
def shared_data() -> Path:
    "The real-data folder; the test is skipped (saying where it looked) only if it is truly absent."
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set LLM_FT_SHARED_DATA to its location)")
    return SHARED_DATA

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
