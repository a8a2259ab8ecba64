"""A finished run as the report, compare and export commands see it: results.json plus items.jsonl."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from ..errors import TrustbenchError
from ..schema import validate_results


@dataclass
class Run:
    """A run directory; results.json is validated against the schema when the run is opened."""

    dir: Path
    doc: dict[str, Any]

    @property
    def model_id(self) -> str:
        return self.doc["model"]["id"]

    @property
    def mode(self) -> str:
        """The scoring profile the run was scored under."""
        return str(self.doc["mode"])

    @property
    def compat(self) -> bool:
        return self.mode == "trustllm"

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.doc["tasks"]

    def items(self) -> Iterator[dict[str, Any]]:
        """Per-item records (task, id, prompt, response, error, verdict, judge, groups) in run order."""
        path = self.dir / "items.jsonl"
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrustbenchError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(rec, dict) or "task" not in rec or "id" not in rec:
                    raise TrustbenchError(f"{path}, line {lineno}: expected an object with 'task' and 'id'")
                yield rec

    @cached_property
    def items_by_task(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for rec in self.items():
            out.setdefault(rec["task"], []).append(rec)
        return out


def load_run(path: Path) -> Run:
    """Open a run directory (or its results.json) and check results.json against the schema."""
    path = Path(path)
    run_dir = path.parent if path.name == "results.json" else path
    results = run_dir / "results.json"
    if not results.is_file():
        raise TrustbenchError(f"{run_dir}: no results.json here; pass a run directory written by `trustbench run`")
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TrustbenchError(f"{results}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    validate_results(doc, results)
    return Run(run_dir, doc)
