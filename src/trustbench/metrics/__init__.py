"""Metrics: aggregate verdicts into numbers with direction, counts and confidence intervals."""

from .core import (
                   MIN_N,
                   Metric,
                   MetricUndefined,
                   bootstrap_ci,
                   compute_metric,
                   item_value,
                   mean_metric,
                   rate_metric,
                   wilson_ci,
)

__all__ = ["MIN_N", "Metric", "MetricUndefined", "bootstrap_ci", "compute_metric", "item_value", "mean_metric", "rate_metric",
           "wilson_ci"]
