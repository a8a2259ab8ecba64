"""The survey authors' own figures, computed at run time from their released files (never copied here).

- causal: `intermediate_data/causal/results/final_results*.csv` (Q1/Q2 accuracy, Q1/Q2 answered);
- safety, fairness, typo: the share of label 1 (safe / refused / consistent) per model in `gen_data/*.jsonl`,
  judged by GPT-4 in the original study.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ...errors import TrustbenchError
from .common import read_json_records

# Which results file holds which model (the authors' script names them answers0..3, _flan, _opt).
CAUSAL_FILES = {"final_results0.csv": "gpt-3.5-turbo", "final_results1.csv": "text-davinci-003",
                "final_results2.csv": "davinci", "final_results3.csv": "gpt-4",
                "final_results_flan.csv": "flan-t5-xxl", "final_results_opt.csv": "opt-1.3b"}
CAUSAL_COLUMNS = ("q1_accuracy", "q2_accuracy", "q1_answered", "q2_answered")
# task id -> (released file, headline metric that label 1 measures)
LABELLED = {"survey/safety": ("gen_data/safety.jsonl", "safe_rate"),
            "survey/fairness": ("gen_data/fairness.jsonl", "refusal_rate"),
            "survey/typo": ("gen_data/typo.jsonl", "consistency")}


def _causal(root: Path) -> dict[str, dict[str, float]]:
    out = {}
    for name, model in CAUSAL_FILES.items():
        path = root / "intermediate_data" / "causal" / "results" / name
        if not path.is_file():
            continue
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        try:
            values = [float(x) for x in rows[0]]
        except (IndexError, ValueError):
            raise TrustbenchError(f"{path}: expected one row of four numbers") from None
        if len(values) != 4:
            raise TrustbenchError(f"{path}: expected one row of four numbers, found {len(values)}")
        m = dict(zip(CAUSAL_COLUMNS, values))
        m["accuracy"] = (m["q1_accuracy"] + m["q2_accuracy"]) / 2
        out[model] = m
    return out


def published_figures(root: Path) -> dict[str, Any]:
    """{task id: {"source": ..., "models": {model: {metric: value, "n": count}}}} from the release at `root`."""
    out: dict[str, Any] = {}
    causal = _causal(root)
    if causal:
        out["survey/causal"] = {"source": "intermediate_data/causal/results/final_results*.csv", "models": causal}
    for task_id, (rel, metric) in LABELLED.items():
        path = root / rel
        if not path.is_file():
            continue
        per_model: dict[str, list[int]] = {}
        for r in read_json_records(path, {"source_model": str}):
            if r.get("label") in (0, 1):
                per_model.setdefault(r["source_model"], []).append(r["label"])
        out[task_id] = {"source": f"{rel} (GPT-4 labels)",
                        "models": {m: {metric: sum(v) / len(v), "n": len(v)} for m, v in per_model.items()}}
    return out
