"""Shared fixtures: the real data through the normal lookup (TRUSTBENCH_DATA) and an isolated store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data" / "trustllm").resolve()
SURVEY_DATA = (ROOT / ".." / "shared" / "data" / "llm_eval").resolve()


@pytest.fixture(scope="session", autouse=True)
def _environment(tmp_path_factory: pytest.TempPathFactory):
    """Every test sees the shared TrustLLM data via TRUSTBENCH_DATA and a per-session store."""
    home = tmp_path_factory.mktemp("trustbench-home")
    os.environ.setdefault("TRUSTBENCH_DATA", str(SHARED_DATA))
    os.environ.setdefault("TRUSTBENCH_SURVEY_DATA", str(SURVEY_DATA))
    os.environ["TRUSTBENCH_HOME"] = str(home)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "ethics").is_dir():
        pytest.skip("shared TrustLLM data not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def survey_dir() -> Path:
    if not (SURVEY_DATA / "gen_data").is_dir():
        pytest.skip("shared survey (llm_eval) data not present")
    return SURVEY_DATA
