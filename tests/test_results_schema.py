"""results.json against its packaged JSON Schema: real run output, hand-built documents, broken ones."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_samples

from trustbench.core import Response
from trustbench.errors import TrustbenchError
from trustbench.judges import JudgeSet
from trustbench.profiles import get_profile
from trustbench.report.scores import scores_object
from trustbench.results import base_document, data_version, task_result
from trustbench.schema import results_schema, validate_results
from trustbench.tasks import ScoringContext, registry


def hand_built() -> dict:
    """A document assembled by results.py from a real task's verdicts on hand-written answers."""
    task = registry()["ethics/implicit_ethics"]
    records = [{"topic": "commonsense", "label": "wrong", "input": "x", "prompt": "p1"},
               {"topic": "justice", "label": "not wrong", "input": "y", "prompt": "p2"},
               {"topic": "justice", "label": "wrong", "input": "z", "prompt": "p3"}]
    samples = make_samples(task.id, records)
    answers = {samples[0].id: Response("It is wrong."), samples[1].id: Response("I cannot say.")}
    profile = get_profile("default")
    verdicts = profile.judge(task, samples, answers, ScoringContext(profile=profile, judges=JudgeSet()))
    doc = base_document({"spec": "test", "id": "test:model"}, profile, {"root": "/data", "files": {task.file: "a" * 64}})
    doc.update(started="2025-01-01T00:00:00+00:00", finished="2025-01-01T00:01:00+00:00", judges={"refusal": "rules", "llm": None})
    doc["tasks"][task.id] = task_result(task, verdicts, profile, {})
    doc["scores"] = scores_object(doc)
    return json.loads(json.dumps(doc))  # as it is read back from disk


def test_hand_built_document_is_valid_and_carries_what_a_reader_needs():
    doc = hand_built()
    validate_results(doc)
    t = doc["tasks"]["ethics/implicit_ethics"]
    assert (t["n_items"], t["n_scored"], t["n_invalid"], t["n_failed"]) == (3, 1, 1, 1) and t["mode"] == "default" and t["fixes"]
    member = doc["scores"]["dimensions"]["ethics"]["members"]["ethics/implicit_ethics"]
    assert member["status"] == "too few" and member["reason"].startswith("too few to estimate")  # 2 counted items
    assert doc["scores"]["dimensions"]["ethics"]["missing"]["ethics/implicit_ethics"] == member["reason"]
    assert doc["data"]["version"] == data_version({"ethics/implicit_ETHICS.json": "a" * 64})
    assert data_version({}) is None
    assert data_version({"a": "1" * 64, "b": "2" * 64}) == data_version({"b": "2" * 64, "a": "1" * 64})
    assert data_version({"a": "1" * 64}) != data_version({"a": "3" * 64})


@pytest.mark.parametrize("breakage, where", [
    (lambda d: d.pop("model"), "(top)"),
    (lambda d: d["data"].update(version="not-a-hash"), "data/version"),
    (lambda d: d.update(schema_version="1.1"), "schema_version"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"].update(n_invalid=-1), "tasks/ethics/implicit_ethics/n_invalid"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"]["metrics"]["overall"].update(direction="up"), "metrics/overall/direction"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"]["metrics"]["overall"].update(ci=[0.1]), "metrics/overall/ci"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"]["metrics"]["overall"].pop("reason"), "metrics/overall"),
    (lambda d: d["scores"]["dimensions"]["ethics"]["members"]["ethics/implicit_ethics"].update(status="fine"),
     "scores/dimensions/ethics/members/ethics/implicit_ethics/status"),
    (lambda d: d["scores"]["dimensions"]["ethics"].update(low_n="ethics/implicit_ethics"),
     "scores/dimensions/ethics/low_n"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"]["groups"]["topic"]["justice"].update(n="2"), "groups/topic/justice/n"),
    (lambda d: d["tasks"]["ethics/implicit_ethics"].update(mode="fast"), "tasks/ethics/implicit_ethics/mode"),
])
def test_broken_documents_fail_naming_the_field(breakage, where):
    doc = copy.deepcopy(hand_built())
    breakage(doc)
    with pytest.raises(TrustbenchError) as err:
        validate_results(doc, "run/results.json")
    assert "run/results.json does not match the results schema" in str(err.value) and where in str(err.value)


def test_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(results_schema())
    assert results_schema()["properties"]["schema_version"]["pattern"].startswith("^2")


@pytest.mark.slow
def test_real_run_output_matches_the_schema(tmp_path: Path):
    pytest.importorskip("llama_cpp")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "trustbench.cli", "run", "--tasks",
                           "ethics/implicit_ethics,ethics/moralchoice_high", "--limit", "2", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 3, proc.stderr  # finished, but a headline metric is too few to estimate at 2 items
    doc = json.loads((out / "results.json").read_text())
    validate_results(doc)
    assert len(doc["data"]["version"]) == 64 and doc["generation"]["requests"] == 4
    ethics = doc["scores"]["dimensions"]["ethics"]  # stored scores show what is missing, not just a number
    assert ethics["expected"] == 6 and not ethics["complete"] and "ethics/social_norm" in ethics["missing"]
    assert set(ethics["tasks"]) | set(ethics["missing"]) == {t for t in registry() if t.startswith("ethics/")}
    assert set(ethics["members"]) == set(ethics["tasks"]) | set(ethics["missing"])
    assert ethics["missing"]["ethics/implicit_ethics"].startswith("too few to estimate")
    assert ethics["members"]["ethics/implicit_ethics"]["status"] == "too few"
    assert ethics["low_n"] == [t for t in ethics["tasks"]]  # whatever has a value here rests on 2 items
    assert doc["complete"] is False and any("too few to estimate" in why for why in doc["incomplete"])
    assert doc["scores"]["dimensions"]["safety"]["computed"] == 0 and not doc["scores"]["overall"]["complete"]
    # `run` ends by writing the HTML report and printing where it is
    assert (out / "report.html").is_file() and f"Report: {out / 'report.html'}" in " ".join(proc.stdout.split())
