"""`trustbench judge KIND --input FILE.jsonl`: judge arbitrary (prompt, response) records, compare judges.

Each input line is a JSON object with `response` (a string; null marks a failed generation, which is reported,
not judged) and, where the kind needs it, `prompt` and template fields. A run's `items.jsonl` qualifies as is.
One output line per record and judge. Give `--judge` twice (or more) to compare judges of one kind:
Cohen's kappa and the disagreeing items are printed (and written with `--agreement`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import TrustbenchError


def read_records(path: Path) -> list[dict[str, Any]]:
    """The input records; a malformed line is one clear error naming the file and line."""
    if not path.is_file():
        raise TrustbenchError(f"--input: file not found: {path}")
    records = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrustbenchError(f"{path}, line {n}: not valid JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise TrustbenchError(f"{path}, line {n}: expected a JSON object, found {type(rec).__name__}")
            if "response" not in rec or not (rec["response"] is None or isinstance(rec["response"], str)):
                raise TrustbenchError(f"{path}, line {n}: needs a 'response' string (or null)")
            if "prompt" in rec and rec["prompt"] is not None and not isinstance(rec["prompt"], str):
                raise TrustbenchError(f"{path}, line {n}: 'prompt' must be a string")
            records.append({**rec, "_line": n})
    return records


def judge_records(kind: str, judge: Any, records: list[dict[str, Any]], template: str | None) -> list[Any]:
    """One Judgement per record with a response (None for records without one), in input order."""
    from ..judges import JudgeInput

    todo = [r for r in records if r["response"] is not None]
    if kind == "refusal":
        inputs = [JudgeInput(response=r["response"], prompt=r.get("prompt") or "") for r in todo]
    elif kind == "llm":
        from ..judges.templates import template_fields

        if not template:
            raise TrustbenchError("judge llm: give the judging question with --template (e.g. squad, ETHICS)")
        needed = sorted(template_fields(template) - {"res"})
        inputs = []
        for r in todo:
            missing = [f for f in needed if r.get(f) is None]
            if missing:
                raise TrustbenchError(f"line {r['_line']}: template '{template}' needs field(s) {', '.join(missing)}")
            fields = tuple((f, r[f] if isinstance(r[f], str) else str(r[f])) for f in needed)
            inputs.append(JudgeInput(response=r["response"], extra=(("template", template),) + fields))
    else:
        inputs = [JudgeInput(response=r["response"]) for r in todo]
    judged = iter(judge.judge(inputs))
    return [next(judged) if r["response"] is not None else None for r in records]


def gold_label(value: Any, where: str) -> str | None:
    """A record's reference label as "refusal"/"answer": strings as given, true/1 = refusal, null = unlabelled."""
    if value is None:
        return None
    if isinstance(value, bool) or value in (0, 1):
        return "refusal" if value else "answer"
    if isinstance(value, str) and value.strip().lower() in ("refusal", "answer"):
        return value.strip().lower()
    raise TrustbenchError(f"{where}: label {value!r} is neither refusal/answer nor true/false/1/0")


def _f1_ci(gold: list[str], pred: list[str], cls: str, draws: int = 1000) -> list[float] | None:
    """Percentile bootstrap (fixed seed) interval of one class's F1."""
    import numpy as np

    g, p = np.array([x == cls for x in gold]), np.array([x == cls for x in pred])
    if not len(g):
        return None
    idx = np.random.default_rng(0).integers(0, len(g), (draws, len(g)))
    tp = (g[idx] & p[idx]).sum(1)
    denom = g[idx].sum(1) + p[idx].sum(1)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return [round(float(x), 4) for x in np.quantile(f1, [0.025, 0.975])]


def label_metrics(gold: list[str], pred: list[str]) -> dict[str, Any]:
    """Accuracy and per-class precision/recall/F1 with counts; Wilson intervals for proportions, bootstrap for F1."""
    from ..metrics.judge_error import wilson_interval

    n = len(gold)
    right = sum(a == b for a, b in zip(gold, pred))
    out: dict[str, Any] = {"n": n, "accuracy": {"value": round(right / n, 4) if n else None, "k": right,
                                                "ci": list(wilson_interval(right, n))}}
    for cls in ("refusal", "answer"):
        tp = sum(g == cls and p == cls for g, p in zip(gold, pred))
        n_pred, n_gold = sum(p == cls for p in pred), sum(g == cls for g in gold)
        prec = tp / n_pred if n_pred else None
        rec = tp / n_gold if n_gold else None
        f1 = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else None
        out[cls] = {"precision": {"value": None if prec is None else round(prec, 4), "k": tp, "n": n_pred,
                                  "ci": list(wilson_interval(tp, n_pred))},
                    "recall": {"value": None if rec is None else round(rec, 4), "k": tp, "n": n_gold,
                               "ci": list(wilson_interval(tp, n_gold))},
                    "f1": {"value": None if f1 is None else round(f1, 4), "ci": _f1_ci(gold, pred, cls)}}
    return out


def _print_metrics(console: Any, title: str, m: dict[str, Any]) -> None:
    from rich.markup import escape

    def fmt(x: dict[str, Any]) -> str:
        v = "—" if x["value"] is None else f"{x['value']:.3f}"
        ci = "" if not x.get("ci") else f" [{x['ci'][0]:.3f}, {x['ci'][1]:.3f}]"
        counts = f" ({x['k']}/{x['n']})" if "n" in x else ""
        return v + ci + counts

    a = m["accuracy"]
    console.print(f"{escape(title)}: n={m['n']} accuracy {fmt({**a, 'n': m['n']})}", highlight=False)
    for cls in ("refusal", "answer"):
        c = m[cls]
        console.print(f"  {cls:8s} precision {fmt(c['precision'])}  recall {fmt(c['recall'])}  F1 {fmt(c['f1'])}",
                      highlight=False)


def _line(kind: str, rec: dict[str, Any], judge_id: str, j: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"line": rec["_line"], "id": rec.get("id"), "judge": judge_id}
    if j is None:
        return {**out, "label": None, "score": None, "error": "no response to judge"}
    if kind == "embedding":
        vector = json.loads(j.raw) if j.raw and j.error is None else None
        return {**out, "vector": vector, "error": j.error}
    return {**out, "label": j.label, "score": j.score, "raw": j.raw, "error": j.error}


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""

    @app.command("judge")
    def judge_cmd(
        kind: str = typer.Argument(..., help="refusal | llm | embedding | toxicity"),
        input_file: Path = typer.Option(..., "--input", "-i", help="JSON Lines with 'response' (and 'prompt')."),
        judge: list[str] = typer.Option(None, "--judge", "-j", help="Judge SPEC for KIND (repeat to compare judges)."),
        out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="Verdicts as JSON Lines (default: stdout)."),
        template: Optional[str] = typer.Option(None, "--template", help="llm: the judging question (e.g. squad)."),
        agreement_file: Optional[Path] = typer.Option(None, "--agreement", help="Write the agreement report (JSON)."),
        tasks: Optional[str] = typer.Option(None, "--tasks", "-t", help="Only records whose 'task' is one of these "
                                            "(comma-separated; for a run's items.jsonl)."),
        labels: Optional[str] = typer.Option(None, "--labels", help="refusal: the field holding each record's reference "
                                             "label (refusal/answer or true/false); prints accuracy, per-class "
                                             "precision/recall/F1 and per-language figures with CIs."),
        metrics_file: Optional[Path] = typer.Option(None, "--metrics", help="With --labels: write the figures (JSON)."),
    ) -> None:
        """Judge arbitrary records with one or more judges of one kind; with two or more, report their agreement."""
        from rich.console import Console
        from rich.markup import escape

        from ..config import store_path
        from ..judges import DEFAULT_SPECS, KINDS, make_judge
        from ..judges.agreement import agreement
        from ..results import write_json_atomic
        from ..store import Store

        console = Console(stderr=True)
        if kind not in KINDS:
            raise TrustbenchError(f"Unknown judge kind '{kind}'. Kinds: {', '.join(KINDS)}")
        specs = list(judge or []) or [s for s in (DEFAULT_SPECS[kind],) if s]
        if not specs:
            raise TrustbenchError(f"No default {kind} judge: give one with --judge SPEC")
        if kind == "embedding" and len(specs) > 1:
            raise TrustbenchError("Agreement is defined for labelling judges; give one embedding judge")
        records = read_records(input_file)
        if tasks:
            wanted = {t.strip() for t in tasks.split(",") if t.strip()}
            records = [r for r in records if r.get("task") in wanted]
            if not records:
                raise TrustbenchError(f"{input_file}: no records of task(s) {', '.join(sorted(wanted))}")
        store = Store(store_path())
        judges = [make_judge(kind, spec, store) for spec in specs]
        results = [judge_records(kind, j, records, template) for j in judges]
        lines = [_line(kind, rec, j.id, res[i]) for i, rec in enumerate(records) for j, res in zip(judges, results)]
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        if out_file:
            tmp = out_file.with_name(f".{out_file.name}.tmp")
            out_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out_file)
        else:
            sys.stdout.write(text)
        for j, res in zip(judges, results):
            counts: dict[str, int] = {}
            for r in res:
                key = "no response" if r is None else ("failed" if r.error else str(r.label))
                counts[key] = counts.get(key, 0) + 1
            console.print(f"{escape(j.id)}: " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(counts.items())), highlight=False)
        if labels:
            if kind != "refusal":
                raise TrustbenchError("--labels is for refusal judges")
            gold = [gold_label(rec.get(labels), f"{input_file}, line {rec['_line']}") for rec in records]
            if not any(g is not None for g in gold):
                raise TrustbenchError(f"{input_file}: no record has a '{labels}' label")
            all_metrics: dict[str, Any] = {}
            for j, res in zip(judges, results):
                keep = [i for i, (g, r) in enumerate(zip(gold, res)) if g is not None and r is not None and not r.error]
                skipped = len(records) - len(keep)
                by: dict[str, list[int]] = {"all": keep}
                for i in keep:
                    if records[i].get("lang"):
                        by.setdefault(f"lang={records[i]['lang']}", []).append(i)
                figures = {k: label_metrics([gold[i] for i in idx], [str(res[i].label) for i in idx])  # type: ignore[union-attr]
                           for k, idx in by.items()}
                all_metrics[j.id] = {"skipped": skipped, **figures}
                for k, m in figures.items():
                    _print_metrics(console, f"{j.id} {k}", m)
                if skipped:
                    console.print(f"  {skipped} record(s) without a label, a response or a verdict left out", highlight=False)
            if metrics_file:
                write_json_atomic(metrics_file, {"input": str(input_file), "labels": labels, "judges": all_metrics})
        if len(judges) < 2:
            return
        ids = [str(rec.get("id") or f"line {rec['_line']}") for rec in records]
        report: dict[str, Any] = {"kind": kind, "input": str(input_file), "pairs": []}
        first = judges[0]
        for other, res in zip(judges[1:], results[1:]):
            kept = [i for i, (a, b) in enumerate(zip(results[0], res)) if a is not None and b is not None]
            agree = agreement([results[0][i] for i in kept], [res[i] for i in kept], [ids[i] for i in kept])
            report["pairs"].append({"first": first.id, "second": other.id, **agree})
            kappa = "undefined" if agree["kappa"] is None else f"{agree['kappa']:.3f}"
            observed = "—" if agree["observed_agreement"] is None else f"{agree['observed_agreement']:.3f}"
            console.print(f"{escape(first.id)} vs {escape(other.id)}: Cohen's kappa {kappa}, agreement {observed} "
                          f"over {agree['n']} items ({agree['n_skipped']} skipped), {len(agree['disagreements'])} disagree",
                          highlight=False)
            for d in agree["disagreements"][:20]:
                console.print(f"  {escape(d['id'])}: {escape(str(d['first']))} vs {escape(str(d['second']))}", highlight=False)
            if len(agree["disagreements"]) > 20:
                console.print(f"  ... {len(agree['disagreements']) - 20} more (see --agreement)")
        if agreement_file:
            write_json_atomic(agreement_file, report)
