"""The original toolkit's robustness scoring (trustllm profile overrides)."""

from __future__ import annotations

from . import TRUSTLLM  # noqa: F401
