"""`trustbench` commands for the survey area: taxonomy, published figures, judge validation, study inputs,
and `export-alignment` (judged items of any run as SFT/preference data)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import TrustbenchError

out = Console()
survey_app = typer.Typer(no_args_is_help=True, help="The Trustworthy-LLMs survey: taxonomy, published figures, study inputs.")
HALUEVAL_HUB = "pminervini/HaluEval"
HALUEVAL_GITHUB = "https://raw.githubusercontent.com/RUCAIBox/HaluEval/main/data/qa_data.json"


def print_taxonomy(name: str, as_json: bool = False) -> None:
    """The taxonomy with the tasks measuring each entry; entries no registered task measures are marked."""
    from ..taxonomy import coverage, taxonomy

    rows = coverage(name)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=taxonomy(name)["title"])
    for col in ("category", "sub-category", "tasks"):
        table.add_column(col)
    for r in rows:
        if not r["benchmarked"]:
            tasks = f"[dim]{escape(r['note'])}[/]"
        elif not r["covered"]:
            tasks = "[yellow]✗ not covered by any task[/]"
        else:
            tasks = ", ".join(r["measured"])
        table.add_row(r["category"], r["subcategory"] or "—", tasks)
    out.print(table)
    covered = sum(r["covered"] for r in rows if r["subcategory"])
    out.print(f"{covered} of {sum(1 for r in rows if r['subcategory'])} sub-categories measured")


@survey_app.command("taxonomy")
def taxonomy_cmd(name: str = typer.Argument("survey", help="survey | trustllm"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a taxonomy and which tasks measure each entry (same as `list --taxonomy NAME`)."""
    print_taxonomy(name, as_json)


@survey_app.command("published")
def published_cmd(survey_data: Path = typer.Option(None, "--survey-data", help="Survey (llm_eval) data directory.")) -> None:
    """The authors' figures for the causal, safety, fairness and typo studies, computed from their released files."""
    from ..data import resolve_survey_dir
    from ..tasks.survey import published_figures

    out.print_json(json.dumps(published_figures(resolve_survey_dir(survey_data))))


@survey_app.command("validate-judge")
def validate_judge_cmd(
    survey_data: Path = typer.Option(None, "--survey-data", help="Survey (llm_eval) data directory."),
    judge: list[str] = typer.Option(None, "--judge", help="KIND=SPEC, e.g. llm=openai:gpt-4o (repeatable)."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="First N released answers only."),
) -> None:
    """Agreement (and Cohen's kappa) of the safety study's harm judge with GPT-4's released labels."""
    from ..cli import _judge_specs
    from ..config import store_path
    from ..data import resolve_survey_dir
    from ..judges import JudgeSet
    from ..store import Store
    from ..tasks.survey.safety import validate_harm_judge

    judges = JudgeSet(Store(store_path()), _judge_specs(judge))
    out.print_json(json.dumps(validate_harm_judge(judges, resolve_survey_dir(survey_data), limit)))


@survey_app.command("generate-safety")
def generate_safety_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Generator model spec (the authors used text-davinci-003)."),
    to: Path = typer.Option(..., "--out", "-o", help="JSONL file to write; pass it to `run` with --survey-file safety=FILE."),
    survey_data: Path = typer.Option(None, "--survey-data", help="Survey (llm_eval) data directory."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="First N keyword × bad-word requests only."),
    temperature: float = typer.Option(1.1, help="Sampling temperature (the authors used 1.1)."),
) -> None:
    """Have a model write the safety study's harmful questions from the released keywords (cached like any response)."""
    from ..config import store_path
    from ..core import GenerationSettings, Request
    from ..data import resolve_survey_dir
    from ..models import load_backend
    from ..store import Store, response_key
    from ..tasks.survey.safety import KEYWORDS, generator_requests, write_generated

    wanted = generator_requests(resolve_survey_dir(survey_data) / KEYWORDS)[:limit]
    store, backend = Store(store_path()), load_backend(model)
    settings = GenerationSettings(temperature=temperature, max_tokens=64)
    try:
        reqs = [Request(response_key(backend.id, settings, w["request"]), w["request"], settings) for w in wanted]
        found = store.get_responses(r.key for r in reqs)
        for req, resp in backend.generate([r for r in reqs if r.key not in found]):
            if resp.text is not None:
                store.put_response(req.key, backend.id, settings, req.prompt, resp)
                found[req.key] = resp
    finally:
        backend.close()
    rows = [{"category": w["category"], "keyword": w["keyword"], "bad_word": w["bad_word"],
             "question": found[r.key].text.strip(), "generator": backend.id}
            for w, r in zip(wanted, reqs) if r.key in found and found[r.key].text.strip()]
    write_generated(to, rows)
    out.print(f"{len(rows)} of {len(wanted)} questions written to {to}")


@survey_app.command("fetch-halueval")
def fetch_halueval_cmd(source: str = typer.Option("hub", "--source", help=f"hub ({HALUEVAL_HUB}), github, a URL or a local file.")) -> None:
    """Cache HaluEval's QA records for the hallucination study (used when no --survey-file halueval is given)."""
    from ..tasks.survey.hallucination import cached_halueval

    rows = fetch_halueval(source)
    dest = cached_halueval()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(dest)
    out.print(f"{len(rows)} HaluEval QA records cached in {dest}")


def fetch_halueval(source: str) -> list[dict]:
    """HaluEval QA records from the hub, a URL (the GitHub file is JSON Lines) or a local file, validated."""
    from ..tasks.survey.common import read_json_records
    from ..tasks.survey.hallucination import HALUEVAL_FIELDS

    if source == "hub":
        return _halueval_from_hub()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qa_data.json"
        url = HALUEVAL_GITHUB if source == "github" else source
        if url.startswith(("http://", "https://")):
            from ..data.download import fetch_bytes

            path.write_bytes(fetch_bytes(url))
        else:
            path = Path(source)
        return read_json_records(path, HALUEVAL_FIELDS)


def _halueval_from_hub() -> list[dict]:
    from huggingface_hub import snapshot_download

    from ..tasks.survey.hallucination import HALUEVAL_FIELDS

    with tempfile.TemporaryDirectory() as tmp:
        try:
            snapshot_download(repo_id=HALUEVAL_HUB, repo_type="dataset", allow_patterns=["qa/*"], local_dir=tmp)
        except Exception as exc:  # hub errors come in many types; one message is enough
            raise TrustbenchError(f"Could not download {HALUEVAL_HUB} from the Hugging Face hub: {exc}") from None
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise TrustbenchError("Reading the hub's parquet files needs pyarrow: pip install 'trustbench[parquet]'") from None
        rows = [r for f in sorted(Path(tmp).rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    if not rows or not set(HALUEVAL_FIELDS) <= set(rows[0]):
        raise TrustbenchError(f"{HALUEVAL_HUB}: no QA records with fields {', '.join(HALUEVAL_FIELDS)}")
    return [{k: r[k] for k in HALUEVAL_FIELDS} for r in rows]


def export_alignment_cmd(
    runs: list[Path] = typer.Argument(..., help="Run directories (their items.jsonl)."),
    to: Path = typer.Option(None, "--out", "-o", help="Output folder (default: RUN/alignment)."),
) -> None:
    """Write a run's judged items as alignment data: labelled (KTO), preference pairs (DPO) and SFT JSONL."""
    from ..tasks.survey.alignment import export_alignment

    target = to or runs[0] / "alignment"
    counts = export_alignment(runs, target)
    out.print(f"{counts['labelled']} labelled examples ({counts['desirable']} desirable), "
              f"{counts['pairs']} preference pairs written to {target}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the CLI."""
    app.add_typer(survey_app, name="survey")
    app.command("export-alignment")(export_alignment_cmd)
