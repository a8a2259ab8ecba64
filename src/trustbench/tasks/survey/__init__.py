"""The "Trustworthy LLMs" survey (Liu et al. 2023): its eight measurement studies as `survey/...` tasks.

Importing this package registers them, in the paper's order (§11.2–§11.9).
"""

from . import hallucination, safety, fairness, miscalibration, misuse, copyright, causal, typo  # noqa: F401,I001
from .published import published_figures

__all__ = ["published_figures"]
