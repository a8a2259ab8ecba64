"""Locating, validating and downloading the benchmark data."""

from .loader import DataDir, load_records, resolve_data_dir

__all__ = ["DataDir", "load_records", "resolve_data_dir"]
