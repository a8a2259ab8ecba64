"""The original toolkit's truthfulness scoring (trustllm profile overrides)."""

from __future__ import annotations

from . import TRUSTLLM  # noqa: F401
