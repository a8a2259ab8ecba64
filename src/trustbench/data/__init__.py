"""Locating, validating and downloading the benchmark data."""

from .loader import DataDir, load_records, resolve_data_dir, resolve_survey_dir, survey_inputs

__all__ = ["DataDir", "load_records", "resolve_data_dir", "resolve_survey_dir", "survey_inputs"]
