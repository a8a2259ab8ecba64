"""`trustbench compare`: a leaderboard across runs (HTML and Markdown), with ranks and significance.

Significance between two runs on a task: a test valid at the n it has (trustbench.report.significance): on the
items both runs scored, McNemar's exact test for 0/1 items, an exact sign-flip permutation test for other
per-item values, a paired permutation test (per-item swaps, metric recomputed) for other metrics; with no shared
item, Fisher's exact or an unpaired permutation test. "significant" means p < 0.05 from such a test; runs under
different scoring profiles or without per-item records are "not tested". Intervals are never used to decide.
A dimension (or the overall score) is called significantly better only when the run is significantly better on
every task (every dimension) both runs computed there, each by its own test (an intersection-union test, valid
at level 0.05); otherwise "n.s." or "not tested". Dimension and overall scores are read from each run's stored
scores, never recomputed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Verdict
from ..errors import TrustbenchError
from ..reference import Reference, load_reference
from .items import task_metric, to_verdict
from .run import Run
from .scores import Score, excluding, overview
from .significance import Test, not_tested, paired_test


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
    note: str = ""  # why there is no value, low n, partial
    ci_method: str | None = None


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
    valued = sorted((r for r in rows if r.value is not None), key=lambda r: r.value or 0.0, reverse=direction == "higher")
    for i, r in enumerate(valued):
        r.rank = valued[i - 1].rank if i and r.value == valued[i - 1].value else i + 1
    return valued + [r for r in rows if r.value is None]


def _verdicts(run: Run, task_id: str) -> dict[str, Verdict]:
    return {rec["id"]: v for rec in run.items_by_task.get(task_id, []) if (v := to_verdict(rec)) is not None}


class Tester:
    """Tests between pairs of runs on one task's metric, each computed once per comparison."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int, str, str], Test] = {}

    def task(self, run_a: Run, run_b: Run, task_id: str, metric_name: str) -> Test:
        key = (id(run_a), id(run_b), task_id, metric_name)
        if key not in self._cache:
            self._cache[key] = self._test(run_a, run_b, task_id, metric_name)
        return self._cache[key]

    @staticmethod
    def _test(run_a: Run, run_b: Run, task_id: str, metric_name: str) -> Test:
        if run_a.mode != run_b.mode:
            return not_tested("different scoring profiles")
        metric = task_metric(task_id, metric_name, run_a.mode)
        if metric is None:
            return not_tested("metric unknown to this install")
        va, vb = _verdicts(run_a, task_id), _verdicts(run_b, task_id)
        if not va or not vb:
            return not_tested("no per-item verdicts in items.jsonl")
        return paired_test(metric, va, vb)


def _mark_significance(board: Board, pairs: Callable[[Row, Row], str]) -> None:
    """Fill vs_next for own runs: compared with the next own run ranked below, using `pairs(upper, lower)`."""
    own = [r for r in board.rows if not r.reference and r.value is not None]
    for upper, lower in zip(own, own[1:]):
        upper.vs_next = pairs(upper, lower)


def _row_note(m: dict[str, Any] | None) -> str:
    if m is None:
        return "metric not reported"
    notes = []
    if m.get("value") is None:
        notes.append(m.get("reason") or "no value")
    elif m.get("low_n"):
        notes.append(f"low n ({m.get('n')})")
    if m.get("partial"):
        notes.append(f"partial: {m.get('n_failed', 0)} failed, {m.get('n_unjudged', 0)} unjudged")
    return "; ".join(notes)


def task_boards(runs: Sequence[Run], labels: Sequence[str], ref: Reference | None,
                tester: Tester | None = None) -> list[Board]:
    tester = tester or Tester()
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
            board = _task_board(tid, name, present, [e for e in entries if e.metric == name], tester)
            if board is not None:
                board.headline = name == metric
                boards.append(board)
    return boards


def _task_board(tid: str, metric: str, present: list[tuple[str, Run]], entries, tester: Tester) -> Board | None:
    rows, direction, by_label = [], None, {}
    for label, run in present:
        m = run.tasks[tid]["metrics"].get(metric)
        value, ci = (m["value"], tuple(m["ci"]) if m.get("ci") else None) if m else (None, None)
        note = _row_note(m)
        if m is None and entries:  # e.g. compat mode reports the complement of the published metric
            value, _ = entries[0].run_value(run.tasks[tid])
            note = "from the reference's alternative metric" if value is not None else note
        direction = direction or (m["direction"] if m else None)
        rows.append(Row(label, value, ci, m["n"] if m else None, note=note, ci_method=m.get("ci_method") if m else None))
        by_label[label] = run
    if entries:
        direction = entries[0].direction
        rows += [Row(model, v, reference=True) for model, v in entries[0].values.items()]
    if direction is None:
        return None
    board = Board(f"{tid} · {metric}", direction, rank_rows(rows, direction))
    _mark_significance(board, lambda up, low: tester.task(by_label[up.label], by_label[low.label], tid, metric).label())
    if entries:
        board.note = f"Paper models: published figures from the original judges (no CI). {entries[0].note}".strip()
    return board


def dimension_test(tester: Tester, run_a: Run, run_b: Run, a: Score, b: Score) -> tuple[bool | None, str]:
    """Is A better than B on this dimension? Only if A is significantly better on every task both computed
    (intersection-union test). (True/False/None = significant / n.s. / not tested, the cell's text)."""
    done_a = {m.task: m for m in a.members if m.oriented is not None}
    done_b = {m.task: m for m in b.members if m.oriented is not None}
    if set(done_a) != set(done_b):
        only = sorted(set(done_a) ^ set(done_b))
        return None, f"not tested (the runs computed different tasks: {', '.join(only[:3])}{' …' if len(only) > 3 else ''})"
    if not done_a:
        return None, "not tested (no task computed)"
    wins, untested = 0, []
    for tid, ma in done_a.items():
        t = tester.task(run_a, run_b, tid, ma.metric or "")
        if not t.tested:
            untested.append(tid)
        elif t.significant and ma.oriented > done_b[tid].oriented:  # type: ignore[operator]
            wins += 1
    k = len(done_a)
    if untested:
        return None, f"not tested ({len(untested)} of {k} tasks not testable, e.g. {untested[0]})"
    if wins == k:
        return True, f"significant (better on all {k} tasks, each p<0.05)"
    return False, f"n.s. (significantly better on {wins} of {k} tasks; all are needed)"


def overall_test(tester: Tester, run_a: Run, run_b: Run, a: Score, b: Score) -> str:
    """A is significantly better overall only if it is on every dimension both runs scored."""
    dims_b = {d.name: d for d in b.members}
    pairs = [(d, dims_b[d.name]) for d in a.members if d.value is not None and d.name in dims_b
             and dims_b[d.name].value is not None]
    if {d.name for d, _ in pairs} != {d.name for d in b.members if d.value is not None}:
        return "not tested (the runs scored different dimensions)"
    if not pairs:
        return "not tested (no dimension scored)"
    results = [dimension_test(tester, run_a, run_b, da, db)[0] for da, db in pairs]
    k = len(pairs)
    if any(r is None for r in results):
        return f"not tested ({sum(r is None for r in results)} of {k} dimensions not testable)"
    if all(results):
        return f"significant (better on all {k} dimensions)"
    return f"n.s. (significantly better on {sum(bool(r) for r in results)} of {k} dimensions; all are needed)"


def score_board(title: str, scores: Sequence[tuple[str, Score]], kind: str,
                pairs: Callable[[Row, Row], str]) -> Board:
    rows = []
    for label, sc in scores:
        low = sc.low_n
        note = f"low n: {', '.join(low)}" if low else ""
        rows.append(Row(label, sc.value, sc.ci, coverage=sc.coverage + (" complete" if sc.complete else " incomplete"),
                        note=note))
    board = Board(title, "higher", rank_rows(rows, "higher"), kind=kind,
                  note="Significance: better on every member (each by its own test), else n.s. or not tested.")
    _mark_significance(board, pairs)
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
            points.append((lab, excluding(overview(run.doc), acc).value, u))
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
    recomputed = [lab for lab, ov in zip(labels, ovs) if ov.recomputed]
    if recomputed:
        warnings.append(f"{', '.join(recomputed)}: results.json holds no stored scores (written before schema 2.0); "
                        "their dimension and overall scores were recomputed from the tasks this install registers.")
    tester = Tester()
    by_label = dict(zip(labels, zip(runs, ovs)))

    def overall_pairs(up: Row, low: Row) -> str:
        (ra, oa), (rb, ob) = by_label[up.label], by_label[low.label]
        return overall_test(tester, ra, rb, oa, ob)

    overall = score_board("overall trust score", list(zip(labels, ovs)), "overall", overall_pairs)
    dim_names: list[str] = []
    for ov in ovs:
        dim_names += [d.name for d in ov.members if d.name not in dim_names]
    dims = []
    for name in dim_names:
        scores = [(lab, next(d for d in ov.members if d.name == name)) for lab, ov in zip(labels, ovs)
                  if any(d.name == name for d in ov.members)]
        by_dim = dict(scores)

        def dim_pairs(up: Row, low: Row, by_dim: dict[str, Score] = by_dim) -> str:
            return dimension_test(tester, by_label[up.label][0], by_label[low.label][0], by_dim[up.label],
                                  by_dim[low.label])[1]

        if any(sc.value is not None for _, sc in scores):
            dims.append(score_board(name, scores, "dimension", dim_pairs))
    boards = task_boards(runs, labels, ref, tester)
    return Comparison(labels, list(runs), overall, dims, boards, average_ranks(boards, labels), warnings, ref,
                      trust_utility(runs, labels, utility_file) if len(runs) > 1 else None)


def _md(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def to_markdown(c: Comparison) -> str:
    """GitHub-flavoured Markdown of the comparison (every label escaped for table cells)."""
    lines = ["# trustbench comparison", ""]
    lines += ["Runs: " + ", ".join(f"`{_md(lab)}` ({_md(r.doc['mode'])})" for lab, r in zip(c.labels, c.runs)), ""]
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
        lines.append("| rank | model | value | 95% CI | " + ("coverage | " if cov else "n | ") + "notes | vs next |")
        lines.append("|---:|---|---:|---|" + ("---|" if cov else "---:|") + "---|---|")
        for r in b.rows:
            ci = f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]" if r.ci else ""
            ci += f" ({r.ci_method})" if r.ci and r.ci_method else ""
            who = f"{_md(r.label)} *(paper)*" if r.reference else f"**{_md(r.label)}**"
            extra = r.coverage if cov else ("" if r.n is None else str(r.n))
            lines.append(f"| {r.rank or '—'} | {who} | {_num(r.value)} | {ci} | {_md(extra)} | {_md(r.note)} | {_md(r.vs_next)} |")
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
