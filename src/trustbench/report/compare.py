"""`trustbench compare`: a leaderboard across runs (HTML and Markdown), with ranks and significance.

Significance between two runs on a task: a paired bootstrap over the items both runs scored (same item ids,
resampled together; the metric is recomputed on each draw), significant when the 95% interval of the
difference excludes 0. Where that is impossible (a task this install does not know, runs in different scoring
modes, fewer than 2 shared items) the two 95% CIs are checked for overlap instead, which is conservative.
Each cell says which test it used.
Dimension and overall scores are compared by overlap of their approximate intervals (see scores.py).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core import Verdict
from ..metrics import Metric
from ..errors import TrustbenchError
from ..reference import Reference, load_reference
from .items import task_metric, to_verdict
from .run import Run
from .scores import Score, overview

N_BOOT = 2000
N_BOOT_RECOMPUTE = 500


@dataclass
class Row:
    label: str
    value: float | None
    ci: tuple[float, float] | None = None
    n: int | None = None
    rank: int | None = None
    reference: bool = False
    coverage: str = ""
    vs_next: str = ""  # significance against the next own run below


@dataclass
class Board:
    """One ranked table: a task's metric, a dimension, or the overall score."""

    title: str
    direction: str
    rows: list[Row]
    note: str = ""
    kind: str = "task"
    headline: bool = True  # a task board for the task's headline metric (not an extra reference metric)


@dataclass
class Comparison:
    labels: list[str]
    runs: list[Run]
    overall: Board
    dimensions: list[Board]
    tasks: list[Board]
    avg_rank: list[tuple[str, float, int]]  # label, mean rank over tasks every run holds, task count
    warnings: list[str] = field(default_factory=list)
    reference: Reference | None = None
    utility: dict[str, Any] | None = None


def labels_for(runs: Sequence[Run]) -> list[str]:
    """The shorter of model spec and id per run; the run directory's name is added where two runs would share one."""
    base = [min((x for x in (r.doc["model"].get("spec"), r.model_id) if x), key=len) for r in runs]
    return [b if base.count(b) == 1 else f"{b} ({r.dir.name})" for b, r in zip(base, runs)]


def rank_rows(rows: list[Row], direction: str) -> list[Row]:
    """Sort best first; equal values share a rank; rows without a value go last, unranked."""
    valued = sorted((r for r in rows if r.value is not None), key=lambda r: r.value, reverse=direction == "higher")
    for i, r in enumerate(valued):
        r.rank = valued[i - 1].rank if i and r.value == valued[i - 1].value else i + 1
    return valued + [r for r in rows if r.value is None]


def _verdicts(run: Run, task_id: str) -> dict[str, Verdict]:
    return {rec["id"]: to_verdict(rec) for rec in run.items_by_task.get(task_id, []) if rec.get("verdict") is not None}


def paired_bootstrap(metric: Metric, a: dict[str, Verdict], b: dict[str, Verdict], seed: int = 0) -> tuple[float, float] | None:
    """95% interval of metric(A) − metric(B), resampling the items both runs scored together.

    A mean-over-items metric is resampled vectorised (2,000 draws); any other metric is recomputed on each
    draw (500 draws). None with fewer than 2 shared items or when most draws leave the metric undefined.
    """
    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        return None
    rng = np.random.default_rng(seed)
    if metric.per_item is not None:
        pairs = [(metric.per_item(a[k]), metric.per_item(b[k])) for k in shared]
        diff = np.array([x - y for x, y in pairs if x is not None and y is not None], dtype=float)
        if len(diff) < 2:
            return None
        stats = diff[rng.integers(0, len(diff), size=(N_BOOT, len(diff)))].mean(axis=1)
    else:
        va, vb, draws = [a[k] for k in shared], [b[k] for k in shared], []
        for _ in range(N_BOOT_RECOMPUTE):
            idx = rng.integers(0, len(shared), size=len(shared))
            try:
                x, y = metric.compute([va[i] for i in idx]), metric.compute([vb[i] for i in idx])
            except (ValueError, ZeroDivisionError):
                continue
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
                draws.append(x - y)
        if len(draws) < N_BOOT_RECOMPUTE // 2:
            return None
        stats = np.array(draws)
    lo, hi = np.quantile(stats, [0.025, 0.975])
    return float(lo), float(hi)


def ci_overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> str:
    if a is None or b is None:
        return "no CI"
    return "n.s. (CIs overlap)" if a[0] <= b[1] and b[0] <= a[1] else "significant (CIs disjoint)"


def _mark_significance(board: Board, pairs) -> None:
    """Fill vs_next for own runs: compared with the next own run ranked below, using `pairs(upper, lower)`."""
    own = [r for r in board.rows if not r.reference and r.value is not None]
    for upper, lower in zip(own, own[1:]):
        upper.vs_next = pairs(upper, lower)


def task_boards(runs: Sequence[Run], labels: Sequence[str], ref: Reference | None) -> list[Board]:
    task_ids: list[str] = []
    for run in runs:
        task_ids += [t for t in run.tasks if t not in task_ids]
    boards = []
    for tid in task_ids:
        present = [(lab, run) for lab, run in zip(labels, runs) if tid in run.tasks]
        heads = [run.tasks[tid]["headline"] for _, run in present]
        metric = max(set(heads), key=heads.count)
        entries = ref.for_task(tid) if ref else []
        for name in [metric] + [e.metric for e in entries if e.metric != metric]:
            board = _task_board(tid, name, present, [e for e in entries if e.metric == name])
            if board is not None:
                board.headline = name == metric
                boards.append(board)
    return boards


def _task_board(tid: str, metric: str, present: list[tuple[str, Run]], entries) -> Board | None:
    rows, direction, by_label = [], None, {}
    for label, run in present:
        m = run.tasks[tid]["metrics"].get(metric)
        value, ci = (m["value"], tuple(m["ci"]) if m.get("ci") else None) if m else (None, None)
        if m is None and entries:  # e.g. compat mode reports the complement of the published metric
            value, _ = entries[0].run_value(run.tasks[tid])
        direction = direction or (m["direction"] if m else None)
        rows.append(Row(label, value, ci, m["n"] if m else None))
        by_label[label] = run
    if entries:
        direction = entries[0].direction
        rows += [Row(model, v, reference=True) for model, v in entries[0].values.items()]
    if direction is None:
        return None
    board = Board(f"{tid} · {metric}", direction, rank_rows(rows, direction))
    used = set()

    def pairs(upper: Row, lower: Row) -> str:
        run_a, run_b = by_label[upper.label], by_label[lower.label]
        m = task_metric(tid, metric, run_a.mode)
        if m is not None and run_a.mode == run_b.mode:
            ci = paired_bootstrap(m, _verdicts(run_a, tid), _verdicts(run_b, tid))
            if ci is not None:
                used.add("paired")
                return "significant (paired bootstrap)" if ci[0] > 0 or ci[1] < 0 else "n.s. (paired bootstrap)"
        used.add("overlap")
        return ci_overlap(upper.ci, lower.ci)

    _mark_significance(board, pairs)
    notes = []
    if entries:
        notes.append(f"Paper models: published figures from the original judges (no CI). {entries[0].note}".strip())
    board.note = " ".join(notes)
    return board


def score_board(title: str, scores: Sequence[tuple[str, Score]], kind: str) -> Board:
    rows = [Row(label, s.value, s.ci, coverage=s.coverage + (" complete" if s.complete else " incomplete"))
            for label, s in scores]
    board = Board(title, "higher", rank_rows(rows, "higher"), kind=kind,
                  note="Significance: overlap of the approximate intervals.")
    _mark_significance(board, lambda u, l: ci_overlap(u.ci, l.ci))
    return board


def average_ranks(boards: Sequence[Board], labels: Sequence[str]) -> list[tuple[str, float, int]]:
    """The paper's overall ranking: mean rank among these runs over the headline boards every run has a value on."""
    ranks: dict[str, list[int]] = {lab: [] for lab in labels}
    for b in boards:
        own = [Row(r.label, r.value) for r in b.rows if not r.reference]
        if b.kind != "task" or not b.headline or len(own) != len(labels) or any(r.value is None for r in own):
            continue
        for r in rank_rows(own, b.direction):
            ranks[r.label].append(r.rank)  # type: ignore[arg-type]
    if not any(ranks.values()):
        return []
    return sorted(((lab, sum(v) / len(v), len(v)) for lab, v in ranks.items()), key=lambda t: t[1])


def load_utility(path: Path) -> dict[str, float]:
    """Utility scores keyed by run label, run directory name, model id or spec (JSON object or 2-column CSV)."""
    if not path.is_file():
        raise TrustbenchError(f"--utility: no such file: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise TrustbenchError(f"{path}: expected a JSON object mapping run or model to a number")
            items = list(raw.items())
        else:
            items = [(r[0], r[1]) for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
            if items and items[0][1].strip().lower() in ("utility", "score", "value"):
                items = items[1:]
    except json.JSONDecodeError as exc:
        raise TrustbenchError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    out = {}
    for i, (key, value) in enumerate(items):
        try:
            out[str(key).strip()] = float(value)
        except (TypeError, ValueError):
            raise TrustbenchError(f"{path}, entry {i + 1} ('{key}'): utility must be a number, got {value!r}") from None
    return out


def _accuracy_tasks(run: Run) -> list[str]:
    return [tid for tid, t in run.tasks.items() if t["headline"] == "accuracy" and t["metrics"]["accuracy"]["value"] is not None]


def trust_utility(runs: Sequence[Run], labels: Sequence[str], utility_file: Path | None) -> dict[str, Any]:
    """Spearman correlation of the overall trust score with a utility proxy, across runs."""
    from scipy.stats import spearmanr

    points = []
    if utility_file is not None:
        util = load_utility(utility_file)
        source = f"user-supplied utility ({utility_file.name}) against the overall trust score"
        for lab, run in zip(labels, runs):
            keys = (lab, run.dir.name, run.model_id, run.doc["model"].get("spec", ""))
            u = next((util[k] for k in keys if k in util), None)
            points.append((lab, overview(run.doc).value, u))
        if all(u is None for _, _, u in points):
            raise TrustbenchError(f"--utility {utility_file}: no key matches a run label, run directory, model id or spec")
    else:
        source = ("utility proxy = mean accuracy over the tasks whose headline metric is accuracy, against the overall "
                  "trust score of the remaining tasks (so no task counts on both sides)")
        for lab, run in zip(labels, runs):
            acc = _accuracy_tasks(run)
            u = sum(run.tasks[t]["metrics"]["accuracy"]["value"] for t in acc) / len(acc) if acc else None
            rest = {**run.doc, "tasks": {k: v for k, v in run.tasks.items() if k not in acc}}
            points.append((lab, overview(rest).value, u))
    usable = [(lab, t, u) for lab, t, u in points if t is not None and u is not None]
    out: dict[str, Any] = {"source": source, "points": points, "n": len(usable), "rho": None, "p": None}
    if len(usable) < 3:
        out["why"] = f"needs at least 3 runs with both scores; {len(usable)} have them"
    else:
        res = spearmanr([t for _, t, _ in usable], [u for _, _, u in usable])
        rho, p = float(res.statistic), float(res.pvalue)
        if np.isnan(rho):
            out["why"] = "undefined: one of the two scores is constant across runs"
        else:
            out["rho"], out["p"] = rho, p
    return out


def compare(runs: Sequence[Run], reference: str | None = None, utility_file: Path | None = None) -> Comparison:
    if len(runs) < 1:
        raise TrustbenchError("compare needs at least one run directory")
    labels = labels_for(runs)
    ref = load_reference(reference) if reference else None
    warnings = []
    modes = {r.doc["mode"] for r in runs}
    if len(modes) > 1:
        warnings.append("Runs use different scoring modes (default and trustllm): their metrics are not the same numbers.")
    limits = {r.doc.get("limit") for r in runs}
    if len(limits) > 1 or limits != {None}:
        warnings.append(f"Item limits differ or are set ({', '.join(str(x) for x in sorted(limits, key=str))}): runs may hold different items; "
                        "paired tests use only the items both runs scored.")
    files: dict[str, set[str]] = {}
    for r in runs:
        for f, h in r.doc["data"]["files"].items():
            files.setdefault(f, set()).add(h)
    changed = sorted(f for f, hs in files.items() if len(hs) > 1)
    if changed:
        warnings.append(f"Data files differ between runs: {', '.join(changed)}.")
    ovs = [overview(r.doc) for r in runs]
    overall = score_board("overall trust score", list(zip(labels, ovs)), "overall")
    dim_names = [d.name for d in ovs[0].members]
    dims = []
    for name in dim_names:
        scores = [(lab, next(d for d in ov.members if d.name == name)) for lab, ov in zip(labels, ovs)
                  if any(d.name == name for d in ov.members)]
        if any(s.value is not None for _, s in scores):
            dims.append(score_board(name, scores, "dimension"))
    boards = task_boards(runs, labels, ref)
    return Comparison(labels, list(runs), overall, dims, boards, average_ranks(boards, labels), warnings, ref,
                      trust_utility(runs, labels, utility_file) if len(runs) > 1 else None)


def _md(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def to_markdown(c: Comparison) -> str:
    """GitHub-flavoured Markdown of the comparison (every label escaped for table cells)."""
    lines = ["# trustbench comparison", ""]
    lines += [f"Runs: " + ", ".join(f"`{_md(lab)}` ({_md(r.doc['mode'])})" for lab, r in zip(c.labels, c.runs)), ""]
    for w in c.warnings:
        lines.append(f"> **Note:** {_md(w)}")
    if c.warnings:
        lines.append("")
    lines.append(__doc__.split("\n\n")[1].replace("\n", " "))
    lines.append("")

    def table(b: Board) -> None:
        arrow = "↑" if b.direction == "higher" else "↓"
        lines.extend([f"### {_md(b.title)} {arrow}", ""])
        if b.note:
            lines.extend([_md(b.note), ""])
        cov = b.kind != "task"
        lines.append("| rank | model | value | 95% CI | " + ("coverage | " if cov else "n | ") + "vs next |")
        lines.append("|---:|---|---:|---|" + ("---|" if cov else "---:|") + "---|")
        for r in b.rows:
            ci = f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]" if r.ci else ""
            who = f"{_md(r.label)} *(paper)*" if r.reference else f"**{_md(r.label)}**"
            extra = r.coverage if cov else ("" if r.n is None else str(r.n))
            lines.append(f"| {r.rank or '—'} | {who} | {_num(r.value)} | {ci} | {_md(extra)} | {_md(r.vs_next)} |")
        lines.append("")

    lines.extend(["## Overall", ""])
    table(c.overall)
    if c.avg_rank:
        lines.extend(["Average rank over the tasks every run holds (the paper's overall ranking, lower is better):", ""])
        lines += [f"- {_md(lab)}: {avg:.2f} over {n} tasks" for lab, avg, n in c.avg_rank]
        lines.append("")
    lines.extend(["## Dimensions", ""])
    for b in c.dimensions:
        table(b)
    lines.extend(["## Tasks", ""])
    if c.reference:
        lines.extend([f"Reference: {_md(c.reference.title)}. {_md(c.reference.judges)}", ""])
    for b in c.tasks:
        table(b)
    if c.utility:
        u = c.utility
        lines.extend(["## Trust and utility", "", _md(u["source"]) + ".", ""])
        lines.append(f"Spearman ρ = {u['rho']:.3f} (p = {u['p']:.3g}, n = {u['n']})" if u["rho"] is not None
                     else f"Spearman ρ: not computed ({_md(u['why'])}).")
        lines.extend(["", "| model | trust | utility |", "|---|---:|---:|"])
        lines += [f"| {_md(lab)} | {_num(t)} | {_num(x)} |" for lab, t, x in u["points"]]
        lines.append("")
    return "\n".join(lines)


def write_comparison(c: Comparison, out_dir: Path) -> tuple[Path, Path]:
    """compare.md and compare.html in out_dir."""
    from .html import environment
    from .overalign import chart, run_point

    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "compare.md"
    md.write_text(to_markdown(c), encoding="utf-8")
    points = [p for p in (run_point(lab, r.tasks)[1] for lab, r in zip(c.labels, c.runs)) if p is not None]
    html = environment().get_template("compare.html.j2").render(
        c=c, doc_note=__doc__.split("\n\n")[1], overalign=chart(points, c.reference), script_hash="'none'")
    page = out_dir / "compare.html"
    page.write_text(html, encoding="utf-8")
    return md, page
