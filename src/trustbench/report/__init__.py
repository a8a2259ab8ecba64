"""Reading finished runs: the HTML report, the cross-run comparison, and dimension scores."""

from .html import render_report
from .run import Run, load_run

__all__ = ["Run", "load_run", "render_report"]
