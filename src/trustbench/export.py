"""`trustbench export`: a run's per-item records as JSONL or Parquet, one row per item.

Rows carry the run's model id and scoring mode, so exports of several runs can be concatenated. The typed
verdict's fields are columns (status: scored / invalid / failed / unjudged; label, score, correct, reason, judge),
so a reader filters and aggregates without parsing anything. The whole verdict (with its task-specific extras) is
kept too: a JSON string column in Parquet, an object in JSONL, like groups (a string map in Parquet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import TrustbenchError
from .report.items import to_verdict
from .report.run import Run, load_run

FORMATS = ("jsonl", "parquet")


def rows(run: Run, tasks: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    known = run.tasks
    for t in tasks or []:
        if t not in known:
            raise TrustbenchError(f"--tasks: '{t}' is not in {run.dir}; it holds {', '.join(known) or 'no tasks'}")
    for rec in run.items():
        if tasks and rec["task"] not in tasks:
            continue
        v = to_verdict(rec)
        yield {
            "model": run.model_id, "mode": run.doc["mode"], "task": rec["task"],
            "dimension": known.get(rec["task"], {}).get("dimension", rec["task"].split("/", 1)[0]),
            "id": rec["id"], "prompt": rec.get("prompt"), "response": rec.get("response"), "error": rec.get("error"),
            "status": None if v is None else v.status.value, "label": None if v is None else _text(v.label),
            "score": None if v is None else _number(v.score), "correct": None if v is None else _bool(v.correct),
            "reason": None if v is None else v.reason, "judge": rec.get("judge"),
            "verdict": rec.get("verdict"), "groups": rec.get("groups"),
        }


def _text(x: Any) -> str | None:
    return None if x is None else str(x)


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _bool(x: Any) -> bool | None:
    return x if isinstance(x, bool) else None


def _parquet(records: list[dict[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TrustbenchError("Parquet export needs pyarrow: pip install 'trustbench[parquet]'") from None
    schema = pa.schema([
        ("model", pa.string()), ("mode", pa.string()), ("task", pa.string()), ("dimension", pa.string()),
        ("id", pa.string()), ("prompt", pa.string()), ("response", pa.string()), ("error", pa.string()),
        ("status", pa.string()), ("label", pa.string()), ("score", pa.float64()), ("correct", pa.bool_()),
        ("reason", pa.string()), ("judge", pa.string()), ("verdict", pa.string()),
        ("groups", pa.map_(pa.string(), pa.string())),
    ])
    cols: dict[str, list[Any]] = {name: [] for name in schema.names}
    for r in records:
        for name in schema.names:
            v = r[name]
            if name == "verdict" and v is not None:
                v = json.dumps(v, ensure_ascii=False, default=str)
            elif name == "groups" and v is not None:
                v = [(str(k), str(x)) for k, x in v.items()]
            cols[name].append(v)
    pq.write_table(pa.table(cols, schema=schema), path)


def export(run_dir: Path, fmt: str, out: Path | None = None, tasks: Sequence[str] | None = None) -> tuple[Path, int]:
    """Write the export (default RUN/export.<fmt>) and return its path and row count."""
    if fmt not in FORMATS:
        raise TrustbenchError(f"--format accepts {' or '.join(FORMATS)}; got '{fmt}'")
    run = load_run(run_dir)
    if not (run.dir / "items.jsonl").is_file():
        raise TrustbenchError(f"{run.dir}: no items.jsonl, so there are no per-item records to export")
    target = out or run.dir / f"export.{fmt}"
    records = list(rows(run, tasks))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if fmt == "jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    else:
        _parquet(records, tmp)
    tmp.replace(target)
    return target, len(records)
