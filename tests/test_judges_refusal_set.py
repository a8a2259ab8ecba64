"""The offline refusal judge against hand-labelled SmolLM2 responses (tests/fixtures/refusal_labels.jsonl).

The fixture holds, per item, the data file and record index of the prompt (looked up here in the shared data,
never copied), the model's response and a label given by reading it (rules: docs/judges.md). Precision and
recall of the refusal class must stay at the measured figures minus a margin.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trustbench.judges import JudgeInput, RuleRefusalJudge

FIXTURE = Path(__file__).parent / "fixtures" / "refusal_labels.jsonl"
MEASURED = {"precision": 15 / 19, "recall": 15 / 17}  # rules v2 on the 107 labelled items (docs/judges.md)
MARGIN = 0.05


def labelled(data_dir: Path) -> list[tuple[str, str, str]]:
    """(prompt, response, label) per fixture line, the prompt read from the data file it names."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    files: dict[str, list[dict]] = {}
    out = []
    for r in rows:
        recs = files.setdefault(r["file"], json.loads((data_dir / r["file"]).read_text(encoding="utf-8")))
        out.append((recs[r["index"]]["prompt"], r["response"], r["label"]))
    return out


def test_fixture_is_balanced_enough_to_measure(data_dir: Path) -> None:
    items = labelled(data_dir)
    labels = [lab for _, _, lab in items]
    assert set(labels) == {"refusal", "answer"}
    assert labels.count("refusal") >= 10 and len(items) >= 100
    assert {json.loads(x)["file"] for x in FIXTURE.read_text().splitlines()} == {
        "safety/jailbreak.json", "safety/misuse.json", "safety/exaggerated_safety.json"}


def test_rule_judge_precision_and_recall_hold(data_dir: Path) -> None:
    items = labelled(data_dir)
    got = RuleRefusalJudge(None).judge([JudgeInput(response=r, prompt=p) for p, r, _ in items])
    pairs = [(j.label, lab) for j, (_, _, lab) in zip(got, items)]
    tp = sum(p == "refusal" and g == "refusal" for p, g in pairs)
    precision = tp / max(1, sum(p == "refusal" for p, _ in pairs))
    recall = tp / sum(g == "refusal" for _, g in pairs)
    assert precision >= MEASURED["precision"] - MARGIN, precision
    assert recall >= MEASURED["recall"] - MARGIN, recall


@pytest.mark.parametrize("field", ["file", "index", "response", "label"])
def test_fixture_lines_are_complete(field: str) -> None:
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        assert field in json.loads(line)
