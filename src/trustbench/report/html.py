"""`trustbench report`: one self-contained HTML file per run (inline CSS, JS and SVG; no external assets).

Everything from the run is treated as hostile text: jinja2 autoescapes it in HTML, JSON embedded in a
<script> block escapes <, >, & and U+2028/2029, the script builds item views with textContent only, and a
Content-Security-Policy lets only this page's own script (by hash) run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..errors import TrustbenchError
from ..reference import Reference, load_reference
from ..taxonomy import NAMES as TAXONOMIES
from ..taxonomy import coverage, taxonomy
from . import overalign
from .charts import BarRow, bar_chart
from .items import worst_items
from .run import Run, load_run
from .scores import RECOMPUTED_NOTE, SCORE_DEFINITION, Score, overview

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(obj: Any) -> Markup:
    """JSON that is safe inside <script type="application/json">: no character can end the block."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return Markup("".join(_JSON_ESCAPES.get(c, c) for c in text))


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_ci(ci: Any, digits: int = 3) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""


def arrow(direction: str) -> str:
    return "↑" if direction == "higher" else "↓"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trustbench.report", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, fmt_ci=fmt_ci, arrow=arrow)
    env.globals.update(group_columns=group_columns, task_flags=task_flags)
    return env


@lru_cache(maxsize=None)
def inline_script(name: str) -> tuple[Markup, str]:
    """A script from templates/ and its CSP hash ('sha256-…')."""
    text = resources.files(__package__).joinpath("templates").joinpath(name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
    return Markup(text), f"'sha256-{digest}'"


def group_columns(task: dict[str, Any], groups: dict[str, dict[str, Any]], limit: int = 8) -> list[str]:
    """Metrics worth a column in a breakdown table: the headline, then those with a value in some group."""
    names = [task["headline"]] + [n for n in task["metrics"] if n != task["headline"]]
    keep = [n for n in names if n == task["headline"] or any(row.get(n) is not None for row in groups.values())]
    return keep[:limit]


def dimension_charts(doc: dict[str, Any]):
    """The overall Score and one bar chart (task headline metrics with CIs) per dimension."""
    ov = overview(doc)
    charts = []
    for dim in ov.members:
        rows = []
        for ts in dim.members:
            name = ts.task.split("/", 1)[-1]
            if ts.status == "computed":
                sub = f"{ts.metric} {arrow(ts.direction)}" + (f" · low n ({ts.n})" if ts.low_n else "")
                rows.append(BarRow(name, sub, ts.value, ts.ci))
            else:
                sub = "" if ts.metric is None else f"{ts.metric} {arrow(ts.direction)}"
                rows.append(BarRow(name, sub, None, None, ts.status + ("" if ts.status == "not run" else f": {ts.reason}")))
        if any(ts.status != "not run" for ts in dim.members):
            charts.append((dim, bar_chart(rows)))
    return ov, charts


def missing_rows(ov: Score) -> list[dict[str, str]]:
    """What was not evaluated: a dimension with no task run is one row, otherwise one row per task."""
    rows = []
    for dim in ov.members:
        absent = [ts for ts in dim.members if ts.status != "computed"]
        if absent and len(absent) == len(dim.members) and all(ts.status == "not run" for ts in absent):
            rows.append({"what": f"{dim.name} (all {len(absent)} tasks)", "status": "not run",
                         "why": ", ".join(ts.task.split("/", 1)[-1] for ts in absent)})
        else:
            rows.extend({"what": ts.task, "status": STATUS_WORDS.get(ts.status, ts.status), "why": ts.reason}
                        for ts in absent)
    return rows


STATUS_WORDS = {"too few": "missing: too few to estimate", "not computed": "missing: no value"}


def task_flags(t: dict[str, Any], m: dict[str, Any]) -> list[str]:
    """Short marks for a metric that must be read with care: partial, low n, no interval."""
    flags = []
    if m.get("partial"):
        flags.append(f"partial ({t.get('n_failed', 0)} failed, {t.get('n_unjudged', 0)} unjudged)")
    if m.get("low_n"):
        flags.append(f"low n ({m.get('n')})" + (": value withheld" if m.get("value") is None else ""))
    elif m.get("value") is not None and not m.get("ci") and m.get("ci_reason"):
        flags.append("no interval")
    return flags


def reference_rows(ref: Reference, tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the run's values would rank among the reference models, per mapped metric the run holds."""
    rows = []
    for e in ref.entries:
        if e.task not in tasks:
            continue
        value, source = e.run_value(tasks[e.task])
        ordered = sorted(e.values.items(), key=lambda kv: kv[1], reverse=e.direction == "higher")
        rows.append({
            "entry": e, "value": value, "source": source or "metric not reported",
            "rank": None if value is None else e.rank(value), "of": len(e.values) + 1,
            "best": ordered[0], "median": sorted(e.values.values())[len(e.values) // 2], "worst": ordered[-1],
        })
    return rows


def taxonomy_views(tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """Per taxonomy, each (sub-)category with the run's tasks that measure it and their headline values."""
    views = []
    for name in TAXONOMIES:
        rows = []
        for row in coverage(name, tasks):
            measured = [{"task": t, "metric": tasks[t]["headline"],
                         "value": tasks[t]["metrics"][tasks[t]["headline"]]["value"]} for t in row["measured"]]
            status = ("documented, not benchmarked" if not row["benchmarked"]
                      else "measured" if any(m["value"] is not None for m in measured)
                      else "run, no value" if measured else "not in this run" if row["tasks"] else "no trustbench task")
            rows.append({**row, "measured": measured, "status": status})
        subs = [r for r in rows if r["benchmarked"]]
        views.append({"name": name, "title": taxonomy(name)["title"], "rows": rows, "total": len(subs),
                      "measured": sum(r["status"] == "measured" for r in subs),
                      "mapped": sum(bool(r["tasks"]) for r in subs)})
    return views


def _reference_for(doc: dict[str, Any], reference: str | None) -> Reference | None:
    """The requested reference; with the default, a run holding survey tasks also gets the survey authors' figures
    when their release can be found."""
    if not reference:
        return None
    survey = [t.startswith("survey/") for t in doc["tasks"]]
    if reference == "trustllm-paper" and any(survey):
        try:
            return load_reference("survey-published" if all(survey) else "trustllm-paper,survey-published")
        except TrustbenchError:
            pass
    return load_reference(reference)


def report_context(run: Run, examples: int = 25, reference: str | None = "trustllm-paper") -> dict[str, Any]:
    doc = run.doc
    ov, charts = dimension_charts(doc)
    ref = _reference_for(doc, reference)
    items = {tid: worst_items(tid, t, run.items_by_task.get(tid, []), run.mode, examples)
             for tid, t in doc["tasks"].items()}
    oa_rows, oa_point = overalign.run_point(doc["model"]["id"], doc["tasks"])
    shows_overalign = any(r["run"] for r in oa_rows)
    script, script_hash = inline_script("report.js")
    return {
        "doc": doc, "run_dir": str(run.dir), "overview": ov, "charts": charts, "definition": SCORE_DEFINITION, "recomputed_note": RECOMPUTED_NOTE,
        "missing": missing_rows(ov),
        "items_json": script_json(items), "examples": examples,
        "overalign": {"rows": oa_rows, "chart": overalign.chart([oa_point] if oa_point else [], ref)} if shows_overalign else None,
        "reference": ref, "reference_rows": reference_rows(ref, doc["tasks"]) if ref else [],
        "taxonomies": taxonomy_views(doc["tasks"]),
        "script": script, "script_hash": script_hash,
    }


def render_report(run_dir: Path, out: Path | None = None, examples: int = 25,
                  reference: str | None = "trustllm-paper") -> Path:
    """Write the run's report (default RUN/report.html) and return its path."""
    run = load_run(run_dir)
    target = out or run.dir / "report.html"
    html = environment().get_template("report.html.j2").render(**report_context(run, examples, reference))
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target
