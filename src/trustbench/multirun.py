"""Many models in one `trustbench run`, and the Ray options of a run.

`--model A --model B` (or `[[model]]` tables in the config) evaluates each model into its own run folder
under `--out`, all sharing one store, then writes `compare.md`/`compare.html` across them in `--out`.
With one model nothing changes: `--out` is the run folder itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import TrustbenchError


@dataclass(frozen=True)
class RayOptions:
    """`--ray ADDRESS --replicas N --num-gpus G --num-cpus C`: where and how wide a run's generation goes."""

    address: str | None = None
    replicas: int = 1
    num_gpus: float | None = None
    num_cpus: float | None = None
    judges: str | None = None  # --ray-judges KIND[,KIND] | all: these judges run on the cluster too
    judge_replicas: int = 1

    def check(self) -> None:
        if self.judges is not None or self.judge_replicas != 1:
            from .judges.ray_judge import parse_kinds

            if self.judges is None:
                raise TrustbenchError("--judge-replicas only applies with --ray-judges KIND[,KIND]")
            parse_kinds(self.judges)
            if self.judge_replicas < 1:
                raise TrustbenchError("--judge-replicas must be at least 1")
        if self.address is None:
            given = [f for f, v in (("--replicas", self.replicas != 1), ("--num-gpus", self.num_gpus is not None),
                                    ("--num-cpus", self.num_cpus is not None), ("--ray-judges", self.judges is not None))
                     if v]
            if given:
                raise TrustbenchError(f"{', '.join(given)} only apply with --ray ADDRESS (auto, local or HOST:PORT)")
            return
        if not self.address.strip():
            raise TrustbenchError("--ray needs an address: auto, local or HOST:PORT")
        if self.replicas < 1:
            raise TrustbenchError("--replicas must be at least 1")
        for flag, v in (("--num-gpus", self.num_gpus), ("--num-cpus", self.num_cpus)):
            if v is not None and v < 0:
                raise TrustbenchError(f"{flag} must be >= 0")
        from .models.ray_pool import check_reachable, import_ray

        import_ray()  # missing ray, or nothing at the address: one clear message before any work
        if self.address not in ("local", "auto"):
            check_reachable(self.address)

    def judge_options(self) -> Any:
        """The Ray judges' options (judges/ray_judge.py), or None when judging stays on the driver."""
        if self.address is None or self.judges is None:
            return None
        from .judges.ray_judge import RayJudgeOptions, parse_kinds

        return RayJudgeOptions(self.address, parse_kinds(self.judges), self.judge_replicas, self.num_gpus, self.num_cpus)


def model_entries(cli_models: Sequence[str] | None, config_models: Sequence[Any], default: str) -> list[tuple[str, str | None]]:
    """(spec, folder name or None) per model: the command line's, else the config's, else the default."""
    if cli_models:
        entries: list[tuple[str, str | None]] = [(m, None) for m in cli_models]
    elif config_models:
        entries = [(m.spec, m.name) for m in config_models]
    else:
        entries = [(default, None)]
    specs = [s for s, _ in entries]
    dupes = sorted({s for s in specs if specs.count(s) > 1})
    if dupes:
        raise TrustbenchError(f"--model {dupes[0]} is given twice; each model is evaluated once")
    return entries


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-.")[:60] or "model"


def folder_names(labels: Sequence[str], names: Sequence[str | None]) -> list[str]:
    """One distinct, filesystem-safe folder name per model (its config name, else its masked spec)."""
    out: list[str] = []
    for label, name in zip(labels, names):
        base = _safe(name or label)
        candidate, i = base, 2
        while candidate in out:
            candidate, i = f"{base}-{i}", i + 1
        out.append(candidate)
    return out


def backend_factory(spec: str, ray: RayOptions) -> Callable[[], Any]:
    """What builds the run's backend: the spec's own, or a Ray pool of it when --ray is given."""
    if ray.address is None:
        from .models import load_backend

        return lambda: load_backend(spec)

    def pool() -> Any:
        from .models.ray_pool import RayPool

        return RayPool(spec, address=ray.address or "local", replicas=ray.replicas, num_gpus=ray.num_gpus,
                       num_cpus=ray.num_cpus)

    return pool


def write_compare(run_dirs: Sequence[Path], out_dir: Path, reference: str | None) -> tuple[Path, Path]:
    """compare.md and compare.html across the runs just written (report/compare.py)."""
    from .report.compare import compare, write_comparison
    from .report.run import load_run

    ref = None if reference in (None, "", "none") else reference
    return write_comparison(compare([load_run(d) for d in run_dirs], ref), out_dir)
