"""Metrics: aggregate verdicts into numbers with direction, counts and confidence intervals."""

from .core import Metric, MetricUndefined, bootstrap_ci, compute_metric, mean_metric

__all__ = ["Metric", "MetricUndefined", "bootstrap_ci", "compute_metric", "mean_metric"]
