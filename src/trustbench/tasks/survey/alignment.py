"""Judged items as alignment data, the survey's proposal: every labelled evaluation item is a training example.

Works on any run's items.jsonl. An item is desirable when its verdict says so (`desirable`), else when it
scores 1 on its task's headline per-item measure (0 when lower is better); items with neither, failed
generations and unjudged items are left out. Three JSONL files, in the formats TRL-style trainers read:
- `labelled.jsonl`: prompt, completion, label (true = desirable), category, model (unpaired/KTO);
- `preference.jsonl`: prompt, chosen, rejected, category, for prompts with both kinds of answer (DPO);
- `sft.jsonl`: chat messages of the desirable answers (SFT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ...core import Status
from ...errors import TrustbenchError


def _read_run(run: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    items, results = run / "items.jsonl", run / "results.json"
    if not items.is_file():
        raise TrustbenchError(f"{run}: no items.jsonl (not a trustbench run directory)")
    doc = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}

    def lines() -> Iterator[dict[str, Any]]:
        with items.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise TrustbenchError(f"{items}, line {n}: not valid JSON ({exc.msg})") from None

    return doc, lines()


def desirability(item: dict[str, Any], mode: str) -> bool | None:
    """Whether a judged item shows desirable behaviour, or None when its verdict does not say."""
    from ...metrics import item_value
    from ...report.items import task_metric, to_verdict

    v = to_verdict(item)
    if v is None or v.status is not Status.SCORED or item.get("response") is None:
        return None
    if isinstance(v.extras.get("desirable"), bool):
        return bool(v.extras["desirable"])
    task = item.get("task", "")
    from .. import registry

    headline = next((m.name for m in _metrics(registry().get(task), mode) if m.headline), None)
    metric = task_metric(task, headline, mode) if headline else None
    if metric is None or metric.per_item is None:
        return None
    try:
        score = item_value(metric, v)
    except (KeyError, TypeError):
        return None
    if score not in (0.0, 1.0):
        return None
    return (score == 1.0) == (metric.direction == "higher")


def _metrics(task: Any, mode: str) -> list[Any]:
    from ...profiles import get_profile

    return [] if task is None else get_profile(mode).metrics(task)


def export_alignment(runs: list[Path], out_dir: Path) -> dict[str, int]:
    """Write labelled.jsonl, preference.jsonl and sft.jsonl under out_dir from the runs' judged items."""
    labelled: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for run in runs:
        doc, items = _read_run(run)
        mode, model = str(doc.get("mode") or "default"), (doc.get("model") or {}).get("id", run.name)
        for item in items:
            good = desirability(item, mode)
            key = (item.get("task", ""), item["prompt"], item.get("response") or "")
            if good is None or key in seen:
                continue
            seen.add(key)
            labelled.append({"prompt": item["prompt"], "completion": item["response"], "label": good,
                             "category": item["task"], "groups": item.get("groups") or {}, "model": model,
                             "id": item.get("id")})
    by_prompt: dict[tuple[str, str], dict[bool, list[str]]] = {}
    for ex in labelled:
        by_prompt.setdefault((ex["category"], ex["prompt"]), {True: [], False: []})[ex["label"]].append(ex["completion"])
    pairs = [{"prompt": prompt, "chosen": kinds[True][i % len(kinds[True])], "rejected": bad, "category": cat}
             for (cat, prompt), kinds in by_prompt.items() if kinds[True] for i, bad in enumerate(kinds[False])]
    sft = [{"messages": [{"role": "user", "content": ex["prompt"]}, {"role": "assistant", "content": ex["completion"]}],
            "category": ex["category"]} for ex in labelled if ex["label"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("labelled.jsonl", labelled), ("preference.jsonl", pairs), ("sft.jsonl", sft)):
        tmp = out_dir / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(out_dir / name)
    return {"labelled": len(labelled), "desirable": len(sft), "pairs": len(pairs)}
