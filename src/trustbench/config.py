"""Where trustbench keeps things, from the environment first, then per-user defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


def home() -> Path:
    """Root of the response/verdict store and the data cache (TRUSTBENCH_HOME overrides)."""
    env = os.environ.get("TRUSTBENCH_HOME")
    return Path(env).expanduser() if env else Path(user_cache_dir("trustbench"))


def store_path() -> Path:
    return home() / "store.sqlite"


def data_cache_dir() -> Path:
    """Where `trustbench data download` puts the TrustLLM files by default."""
    return home() / "data" / "trustllm"


class ModelSection(BaseModel):
    """`[model]` (one) or `[[model]]` (several, each its own run folder named `name` or after the spec)."""

    model_config = ConfigDict(extra="forbid")
    spec: str | None = None
    name: str | None = None


class RunConfig(BaseModel):
    """A trustbench.toml file: the model and the judge per kind. Command-line options override it."""

    model_config = ConfigDict(extra="forbid")
    model: list[ModelSection] = []
    judges: dict[str, str | None] = {}

    @field_validator("model", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value  # [model] is a one-item [[model]]

    @property
    def models(self) -> list[ModelSection]:
        """The configured models with a spec, in file order (empty when none is set)."""
        return [m for m in self.model if m.spec]


def load_config(path: Path | str | None) -> RunConfig:
    """Read a TOML config (explicit path, else TRUSTBENCH_CONFIG); an empty config when neither is given."""
    from .errors import TrustbenchError

    path = path or os.environ.get("TRUSTBENCH_CONFIG")
    if not path:
        return RunConfig()
    p = Path(path).expanduser()
    if not p.is_file():
        raise TrustbenchError(f"Config file not found: {p}")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
        return RunConfig.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise TrustbenchError(f"{p}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]).replace("model.0.", "model.")
        raise TrustbenchError(f"{p}: {where}: {first['msg']}") from None
