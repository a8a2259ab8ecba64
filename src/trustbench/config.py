"""Where trustbench keeps things, from the environment first, then per-user defaults."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def home() -> Path:
    """Root of the response/verdict store and the data cache (TRUSTBENCH_HOME overrides)."""
    env = os.environ.get("TRUSTBENCH_HOME")
    return Path(env).expanduser() if env else Path(user_cache_dir("trustbench"))


def store_path() -> Path:
    return home() / "store.sqlite"


def data_cache_dir() -> Path:
    """Where `trustbench data download` puts the TrustLLM files by default."""
    return home() / "data" / "trustllm"
