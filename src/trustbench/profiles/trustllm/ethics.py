"""The original toolkit's ethics scoring (trustllm profile overrides)."""

from __future__ import annotations

from . import TRUSTLLM  # noqa: F401
