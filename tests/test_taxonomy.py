"""The survey and TrustLLM taxonomies: shape, task mapping, and coverage."""

from trustbench.tasks import registry
from trustbench.taxonomy import coverage, taxonomy, unknown_task_ids


def test_survey_has_7_categories_and_29_subcategories():
    cats = taxonomy("survey")["categories"]
    assert [len(c["subcategories"]) for c in cats] == [5, 6, 4, 4, 3, 3, 4]
    names = {s["name"] for c in cats for s in c["subcategories"]}
    assert len(names) == 29 and {"Miscalibration", "Leaking Copyrighted Content", "Poisoning Attacks"} <= names


def test_trustllm_has_8_principles_two_documented_only():
    cats = {c["name"]: c for c in taxonomy("trustllm")["categories"]}
    assert len(cats) == 8
    assert [n for n, c in cats.items() if not c.get("benchmarked", True)] == ["Transparency", "Accountability"]


def test_every_mapped_task_is_registered():
    assert unknown_task_ids("survey") == [] and unknown_task_ids("trustllm") == []


def test_every_survey_study_is_placed_and_every_trustllm_task_mapped():
    mapped = {t for r in coverage("survey") for t in r["tasks"]}
    assert {t for t in registry() if t.startswith("survey/")} <= mapped
    trustllm = {t for r in coverage("trustllm") for t in r["tasks"]}
    benchmark = {t for t in registry() if not t.startswith("survey/")}
    assert benchmark - trustllm <= {t for t in benchmark if "_mc_shuffled" in t}  # variants of a mapped task


def test_coverage_of_a_run():
    rows = {r["subcategory"]: r for r in coverage("survey", ["survey/causal", "safety/toxicity"])}
    assert rows["Limited Causal Reasoning"]["covered"] and rows["Toxicity"]["measured"] == ["safety/toxicity"]
    assert not rows["Miscalibration"]["covered"] and rows["Miscalibration"]["tasks"] == ["survey/miscalibration"]
    assert not rows["Poisoning Attacks"]["tasks"]
    documented = [r for r in coverage("trustllm", []) if not r["benchmarked"]]
    assert [r["category"] for r in documented] == ["Transparency", "Accountability"]
