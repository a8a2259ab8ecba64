"""Tasks, judges and backends from outside the package, through Python entry points.

* `trustbench.tasks`: a module (importing it registers tasks with `@register`) or a callable returning tasks or
  task files to register. `name = "my_pkg.tasks"` in `[project.entry-points."trustbench.tasks"]`.
* `trustbench.backends`: `KIND = "pkg.module:factory"`; `factory(target: str, options: dict[str, str])` returns a
  `ModelBackend` for the model spec `KIND:TARGET,key=value,...`.
* `trustbench.judges`: `"KIND.NAME" = "pkg.module:factory"`; `factory(spec: str, store)` returns a `Judge` of that
  kind for `--judge KIND=NAME[:...]`.

A plugin that fails to load is one clear error naming the entry point, never a traceback.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from .errors import TrustbenchError


def _load(ep: EntryPoint) -> Any:
    try:
        return ep.load()
    except Exception as exc:  # a broken plugin must not look like a trustbench crash
        raise TrustbenchError(f"Plugin '{ep.name}' ({ep.value}, group {ep.group}) failed to load: "
                              f"{type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=1)
def load_task_plugins() -> tuple[str, ...]:
    """Import every `trustbench.tasks` entry point once; returns their names."""
    from .tasks.base import Task, register

    names = []
    for ep in entry_points(group="trustbench.tasks"):
        obj = _load(ep)
        if callable(obj) and not isinstance(obj, type):
            for item in obj() or ():
                if isinstance(item, (str, Path)):
                    from .taskfile import load_task_file

                    load_task_file(Path(item))
                elif isinstance(item, type) and issubclass(item, Task):
                    register(item)
        names.append(ep.name)
    return tuple(names)


def backend_factory(kind: str) -> Any | None:
    """The factory a `trustbench.backends` entry point provides for a spec kind, or None."""
    for ep in entry_points(group="trustbench.backends"):
        if ep.name == kind:
            return _load(ep)
    return None


def judge_factory(kind: str, name: str) -> Any | None:
    """The factory a `trustbench.judges` entry point `KIND.NAME` provides, or None."""
    for ep in entry_points(group="trustbench.judges"):
        if ep.name == f"{kind}.{name}":
            return _load(ep)
    return None
