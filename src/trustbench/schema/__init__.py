"""The versioned JSON Schema of results.json, and validation that names the offending field."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import TrustbenchError


@lru_cache(maxsize=1)
def results_schema() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("results.schema.json").read_text(encoding="utf-8"))


def validate_results(doc: Any, where: str | Path = "results.json") -> None:
    """Raise one TrustbenchError listing where `doc` breaks the schema (up to five problems)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(results_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"at {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {_short(e.message)}" for e in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise TrustbenchError(f"{where} does not match the results schema{more}:\n  " + "\n  ".join(lines))


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
