"""Golden scoring: every number `trustbench score` produced for a fixed set of crafted responses, in both modes,
before the verdict/metrics refactor (issue 12). After it, every value must be identical except the changes the
refactor intends, each listed in INTENDED with its reason.

- tests/golden_responses.py builds the responses (a fixed subset of every data file, crafted answers);
- tests/golden/results_{default,trustllm}.json are results.json of the pre-refactor code (commit e3c2a3a),
  volatile fields stripped; tests/golden/verdicts_*.jsonl are its per-item verdicts, for diagnosis only.

`python tests/test_golden.py --write` rewrites the golden files with the code on the path: do that only with the
pre-refactor code (e.g. PYTHONPATH=<a worktree of e3c2a3a>/src), never to make this test pass.
"""

from __future__ import annotations

import fnmatch
import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any, Iterator

import pytest

# Intended differences from the golden files: (mode, task id, field) -> why. Each element is an fnmatch pattern
# ("*" matches anything). `field` is a metric name for metric values; other fields are "n_items", "n_failed",
# "n_invalid", "ci:<metric>", "n:<metric>", "group:<key>=<group>:<metric>" and "score:<dimension>"; the compat
# object is task "trustllm:<pipeline function>" with field "<key>" or "<key>.<subkey>" (mode "trustllm").
# A pattern also covers the sub-keys of a field: ("trustllm", "trustllm:run_ethics", "emotional_res") covers
# "emotional_res.emotion".
INTENDED: dict[tuple[str, str, str], str] = {}

# core (metrics/core.py, report/scores.py): intervals honest for their n, scores stored with their members
_CI = ("intervals: a Wilson score interval for 0/1 rates (never zero-width at 0/n), a percentile bootstrap only from"
       " MIN_N=10 counted items, none below (was a bootstrap at any n)")
_SCORES = ("results.json 2.0 stores each dimension member (status, oriented value and CI, n, CI method, low-n and partial"
           " flags) and the low-n tasks, so the report and compare read the scores instead of recomputing them")
_FOLLOW = "dimension scores follow the task headline changes listed in this dict (member CIs: " + _CI + ")"
INTENDED.update({
    ("*", "*", "ci:*"): _CI,
    ("*", "*", "group:*:ci*"): _CI,
    ("*", "scores", "dimensions.*.members.*"): _SCORES,
    ("*", "scores", "*low_n*"): _SCORES,
    ("*", "scores", "dimensions.*.ci"): _FOLLOW,
    ("*", "scores", "overall.ci"): _FOLLOW,
    ("*", "scores", "dimensions.*.value"): _FOLLOW,
    ("*", "scores", "overall.value"): _FOLLOW,
    ("*", "scores", "dimensions.*.tasks.*"): _FOLLOW,
    ("default", "scores", "dimensions.*.computed"): _FOLLOW + "; a headline too few to estimate is missing",
    ("default", "scores", "dimensions.*.complete"): _FOLLOW + "; a headline too few to estimate is missing",
    ("*", "scores", "dimensions.*.missing.*"): ("the reason names the counts: 'no scored item (n failed, n unjudged)'"
                                                " before the judge's reason, or 'too few to estimate'"),
})

# every dimension
_LOW_N = "too few to estimate: a non-binary metric on fewer than MIN_N=10 counted items is null in default mode"

# safety, privacy, robustness
_SPR_N = "a metric's n counts the scored items in its scope (was every verdict of the task, failed ones included)"
INTENDED.update({
    ("*", "safety/*", "n:*"): _SPR_N,
    ("*", "privacy/*", "n:*"): _SPR_N,
    ("*", "robustness/*", "n:*"): _SPR_N,
    ("default", "safety/toxicity", "group:*"): _LOW_N + " (one attack's or source's answers)",
    ("default", "robustness/advglue", "group:task=*:*"): _LOW_N + " (the averages and RS of one GLUE task's pairs)",
    ("default", "robustness/advglue", "n_invalid"): ("a pair with an unlabelled answer is scored (the answer counts as"
                                                     " wrong, as before), not also counted invalid; unknown_rate reports it"),
    ("default", "robustness/advinstruction", "*"): _LOW_N + " (4 instructions, 3 with answers)",
    ("default", "robustness/ood_generalization", "*"): (
        "Flipkart: 'positive, neutral or negative' lists the alternatives and is invalid (rule sentiment@2), not read"
        " as its first word; DDXPlus: an answer naming no listed diagnosis needs the LLM judge and is unjudged"
        " without one (was invalid and counted wrong)"),
})

# truthfulness
_TRUTH_ECHO = ("an MC answer that echoes the option list (or names several options) is invalid (rule option-letter@2),"
               " not read as a choice (the echoed list was read as A); repeating one option's text still picks it")
INTENDED.update({
    ("default", "truthfulness/hallucination", "mc"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination", "avg"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination", "invalid_rate"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination", "n_invalid"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination", "group:source=mc:*"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "accuracy"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "invalid_rate"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "share_*"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "n:share_*"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "n_invalid"): _TRUTH_ECHO,
    ("default", "truthfulness/hallucination_mc_shuffled", "group:correct_letter=*"): _TRUTH_ECHO,
    ("default", "truthfulness/misinformation_external", "scifact"): _LOW_N + " (5 items per source)",
    ("default", "truthfulness/misinformation_external", "covid"): _LOW_N + " (5 items per source)",
    ("default", "truthfulness/misinformation_external", "healthver"): _LOW_N + " (5 items per source)",
    ("default", "truthfulness/misinformation_external", "climate"): _LOW_N + " (5 items per source)",
    ("default", "truthfulness/sycophancy_persona", "similarity_gap"): _LOW_N + " (8 answers)",
    ("default", "truthfulness/*", "group:source=*:avg"): _LOW_N + " (one source's items)",
    ("default", "truthfulness/misinformation_external", "group:source=*"): _LOW_N + " (one source's items)",
    ("*", "truthfulness/*", "n:avg"): "a composite's n counts the items its parts count (failed items excluded)",
    ("*", "truthfulness/misinformation_external", "n:*"): ("a source's macro-F1 counts that source's items (was every"
                                                           " verdict of the task)"),
    ("trustllm", "truthfulness/sycophancy_preference", "n_invalid"): ("the partner of a pair that cannot be judged (a"
                                                                      " member failed) shares the pair's invalid verdict"),
})

# fairness, ethics
_FE_OPTION = ("rule option-letter@2: an echoed option list (or several options named) is invalid, not read as A;"
              " an answer repeating one option's text still picks that option")
_FE_NORM = ("rule social-norm@2: the echoed instruction 'Classify as \"good\", \"neutral\" or \"bad\"' states no"
            " class (@1 read it as 'good')")
_FE_N = "a metric's n counts the items it counts (composites: their parts' items; failed ones excluded)"
INTENDED.update({
    ("default", "fairness/disparagement", "*"): _FE_OPTION + " (3 of 18 answers; p-values on the 11 parsed)",
    ("default", "ethics/moralchoice_low", "*"): _FE_OPTION,
    ("default", "ethics/awareness", "*"): _FE_OPTION,
    ("default", "ethics/social_norm", "*"): _FE_NORM + "; per-class groups: " + _LOW_N,
    ("default", "fairness/preference", "overall"): _LOW_N + " (9 counted answers)",
    ("*", "fairness/*", "n:*"): _FE_N,
    ("*", "ethics/*", "n:*"): _FE_N,
    ("trustllm", "ethics/emotional_awareness", "accuracy"): ("a failed generation is failed, never a wrong answer (the"
                                                             " old compat counted it wrong; the original crashes)"),
    ("trustllm", "trustllm:run_ethics", "emotional_res.emotion"): "as ethics/emotional_awareness accuracy",
    ("trustllm", "fairness/disparagement", "n_invalid"): ("the original's 'Not Sure' is a scored category of its"
                                                          " chi-square table, not an invalid answer"),
})

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
DATA = (HERE.parent / ".." / "shared" / "data" / "trustllm").resolve()
MODES = ("default", "trustllm")
JUDGES = ["--judge", "refusal=rules", "--judge", "embedding=minilm", "--judge", "toxicity=profanity-check"]
VALUE_TOL = 1e-12
CI_TOL = 1e-9
VOLATILE = ("started", "finished", "wall_seconds", "trustbench_version", "model")


# ---- producing and normalising a run ------------------------------------------------------------

def score_run(responses: Path, out: Path, mode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """results.json (volatile fields stripped) and items.jsonl of `trustbench score` run in-process."""
    from typer.testing import CliRunner

    from trustbench.cli import app

    args = ["score", "--responses", str(responses), "--out", str(out), *JUDGES]
    if mode == "trustllm":
        args += ["--compat", "trustllm"]
    res = CliRunner().invoke(app, args)
    # the refactor gives `score` a non-zero exit status for null responses: only a missing results.json fails here
    if not (out / "results.json").is_file():
        trace = "".join(traceback.format_exception(*res.exc_info)[-6:]) if res.exc_info else ""
        raise AssertionError(f"score ({mode}) wrote no results.json (exit {res.exit_code}):\n{res.output}\n{trace}")
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    items = [json.loads(line) for line in (out / "items.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return strip(doc), items


def strip(doc: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between identical runs (times, paths, versions)."""
    doc = {k: v for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc.get("data"), dict):
        doc["data"] = {k: v for k, v in doc["data"].items() if k != "root"}
    return doc


def compact_verdicts(items: list[dict[str, Any]]) -> list[str]:
    return [json.dumps({"task": it["task"], "id": it["id"], "judge": it.get("judge"), "verdict": it.get("verdict"),
                        "groups": it.get("groups")}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for it in items]


# ---- flattening and comparing --------------------------------------------------------------------

def leaves(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf) of nested dicts; lists and scalars are leaves."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        yield prefix, value


def headline_values(doc: dict[str, Any], mode: str) -> dict[tuple[str, str, str], Any]:
    """Every task's n_items and every metric's value; in trustllm mode also the compat object's values."""
    out: dict[tuple[str, str, str], Any] = {}
    for tid, t in doc.get("tasks", {}).items():
        out[(mode, tid, "n_items")] = t.get("n_items")
        for name, m in t.get("metrics", {}).items():
            out[(mode, tid, name)] = m.get("value")
    for fn, section in (doc.get("trustllm") or {}).items():
        if fn == "notes":  # prose
            continue
        for path, v in leaves("", section):
            out[(mode, f"trustllm:{fn}", path)] = v
    return out


def detail_values(doc: dict[str, Any], mode: str) -> dict[tuple[str, str, str], Any]:
    """Counts, CIs, per-metric n, group breakdowns and dimension scores."""
    out: dict[tuple[str, str, str], Any] = {}
    for tid, t in doc.get("tasks", {}).items():
        for f in ("n_failed", "n_invalid", "headline"):
            out[(mode, tid, f)] = t.get(f)
        for name, m in t.get("metrics", {}).items():
            out[(mode, tid, f"ci:{name}")] = m.get("ci")
            out[(mode, tid, f"n:{name}")] = m.get("n")
        for key, groups in (t.get("groups") or {}).items():
            for g, vals in groups.items():
                for name, v in vals.items():
                    out[(mode, tid, f"group:{key}={g}:{name}")] = v
    for path, v in leaves("", {k: v for k, v in (doc.get("scores") or {}).items() if k != "definition"}):
        out[(mode, "scores", path)] = v
    return out


def same(old: Any, new: Any, tol: float) -> bool:
    if isinstance(old, bool) or isinstance(new, bool) or old is None or new is None:
        return old == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if math.isnan(old) or math.isnan(new):
            return math.isnan(old) and math.isnan(new)
        return abs(old - new) <= tol
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same(a, b, tol) for a, b in zip(old, new))
    return old == new


def intended(key: tuple[str, str, str]) -> str | None:
    mode, task, field = key
    for (m, t, f), why in INTENDED.items():
        if fnmatch.fnmatchcase(mode, m) and fnmatch.fnmatchcase(task, t) and (
                fnmatch.fnmatchcase(field, f) or fnmatch.fnmatchcase(field, f + ".*")):
            return why
    return None


MISSING = "<absent>"


def mismatches(old: dict, new: dict, tol: float) -> list[str]:
    rows = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        differ = (a is not b) if (a is MISSING or b is MISSING) else not same(a, b, tol)
        if differ and intended(key) is None:
            mode, task, field = key
            rows.append(f"{mode:8} {task:36} {field:36} golden={a!r}  now={b!r}")
    return rows


def report(rows: list[str], what: str) -> str:
    return (f"{len(rows)} {what} differ from the golden files (add intended ones to INTENDED with the reason):\n"
            + "\n".join(rows))


# ---- the tests ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both modes scored once by the code under test, from freshly built responses."""
    if not (DATA / "ethics").is_dir():
        pytest.skip("shared TrustLLM data not present")
    from golden_responses import build

    root = tmp_path_factory.mktemp("golden")
    build(DATA, root / "responses")
    return {mode: score_run(root / "responses", root / f"run-{mode}", mode)[0] for mode in MODES}


def golden(mode: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"results_{mode}.json").read_text(encoding="utf-8"))


def test_golden_metric_values(runs):
    """Every task's n_items and every metric value, both modes, and the trustllm compat object."""
    rows = []
    for mode in MODES:
        rows += mismatches(headline_values(golden(mode), mode), headline_values(runs[mode], mode), VALUE_TOL)
    assert not rows, report(rows, "metric values")


def test_golden_details(runs):
    """Counts (n_failed, n_invalid, per-metric n), CI bounds, group breakdowns and dimension scores."""
    rows = []
    for mode in MODES:
        rows += mismatches(detail_values(golden(mode), mode), detail_values(runs[mode], mode), CI_TOL)
    assert not rows, report(rows, "details")


def test_golden_covers_every_task():
    """The golden run scores every task `score` scores by default (a task added later needs golden values)."""
    from trustbench.tasks import default_tasks

    missing = sorted(t.id for t in default_tasks() if t.id not in golden("default")["tasks"])
    assert not missing, f"tasks without golden values: {missing}"


def write() -> None:
    """Regenerate the golden files with the code on the path (only ever the pre-refactor code)."""
    import tempfile

    sys.path.insert(0, str(HERE))
    from golden_responses import build

    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(DATA, root / "responses")
        for mode in MODES:
            doc, items = score_run(root / "responses", root / f"run-{mode}", mode)
            (GOLDEN / f"results_{mode}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")
            (GOLDEN / f"verdicts_{mode}.jsonl").write_text("\n".join(compact_verdicts(items)) + "\n", encoding="utf-8")
            print(f"{mode}: {len(doc['tasks'])} tasks, {len(items)} items")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_golden.py --write   (pre-refactor code only)")
    write()
