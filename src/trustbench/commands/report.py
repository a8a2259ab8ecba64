"""`trustbench report | compare | export`: read finished runs, never re-score them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

out = Console()

REFERENCE_HELP = ("Published figures to rank against: 'trustllm-paper', 'survey-published' (the survey authors' figures, "
                  "from TRUSTBENCH_SURVEY_DATA), both comma-separated, or 'none'.")


def _reference(value: str) -> str | None:
    return None if value in ("", "none") else value


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""

    @app.command()
    def report(
        run: Path = typer.Argument(..., help="Run directory written by `trustbench run` or `trustbench score`."),
        out_file: Path = typer.Option(None, "--out", "-o", help="HTML file to write (default RUN/report.html)."),
        examples: int = typer.Option(25, "--examples", min=0, help="Worst items shown per task."),
        reference: str = typer.Option("trustllm-paper", "--reference", help=REFERENCE_HELP),
    ) -> None:
        """Write a self-contained HTML report of a run."""
        from ..report.html import render_report

        path = render_report(run, out_file, examples, _reference(reference))
        out.print(f"Report: {path}")

    @app.command()
    def compare(
        runs: list[Path] = typer.Argument(..., help="Run directories to compare."),
        out_dir: Path = typer.Option(None, "--out", "-o", help="Directory for compare.md and compare.html."),
        reference: str = typer.Option("none", "--reference", help=REFERENCE_HELP),
        utility: Optional[Path] = typer.Option(None, "--utility", help="JSON or CSV mapping run/model to a utility score."),
    ) -> None:
        """Leaderboard across runs: ranks, significance, dimension scores, paper reference, trust vs utility."""
        from ..report.compare import compare as build
        from ..report.compare import write_comparison
        from ..report.run import load_run

        c = build([load_run(r) for r in runs], _reference(reference), utility)
        target = out_dir or Path("runs") / f"compare-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        md, html = write_comparison(c, target)
        for r in c.overall.rows:
            score = "—" if r.value is None else f"{r.value:.3f}"
            out.print(f"{r.rank or '—':>3}  {score}  {r.coverage:<16} {r.label}", highlight=False, markup=False)
        for w in c.warnings:
            out.print(f"note: {w}", highlight=False, markup=False)
        out.print(f"Markdown: {md}\nHTML: {html}")

    @app.command("export")
    def export_cmd(
        run: Path = typer.Argument(..., help="Run directory."),
        fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl or parquet."),
        out_file: Path = typer.Option(None, "--out", "-o", help="File to write (default RUN/export.<format>)."),
        tasks: str = typer.Option(None, "--tasks", "-t", help="Comma-separated task ids (default: all)."),
    ) -> None:
        """Per-item records (prompt, response, verdict status/label/score/correct/reason, judge, groups) as JSONL or Parquet."""
        from ..export import export

        chosen = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
        path, n = export(run, fmt, out_file, chosen)
        out.print(f"Exported {n} items: {path}")
