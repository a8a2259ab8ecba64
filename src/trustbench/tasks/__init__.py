"""Task registry: importing this package registers every dimension's tasks."""

from __future__ import annotations

from ..errors import TrustbenchError
from .base import ScoringContext, Task, register, registry

# Importing the dimension modules registers their tasks, in the paper's dimension order.
# isort: off
from . import truthfulness, safety, fairness, robustness, privacy, ethics  # noqa: F401
from . import survey  # noqa: F401  (the survey's studies: dimension 'survey', not run by default)
# isort: on

DIMENSIONS = ("truthfulness", "safety", "fairness", "robustness", "privacy", "ethics")


def all_tasks() -> dict[str, Task]:
    """Every task: the built-in ones, then those of installed plugins (entry points `trustbench.tasks`)."""
    from ..plugins import load_task_plugins

    load_task_plugins()
    return registry()


def select_tasks(dimensions: list[str] | None = None, task_ids: list[str] | None = None) -> list[Task]:
    """Tasks chosen by dimension and/or id, in registry order; unknown names raise one clear error."""
    reg = all_tasks()
    known_dims = sorted({t.dimension for t in reg.values()})
    for d in dimensions or []:
        if d not in known_dims:
            raise TrustbenchError(f"Unknown dimension '{d}'. Known: {', '.join(known_dims)}")
    for t in task_ids or []:
        if t not in reg:
            raise TrustbenchError(f"Unknown task '{t}'. Run `trustbench list` to see task ids.")
    chosen = [t for t in reg.values() if (not dimensions or t.dimension in dimensions)]
    if task_ids:
        chosen = [t for t in chosen if t.id in task_ids] if dimensions else [reg[t] for t in task_ids]
    if not chosen:
        raise TrustbenchError(f"The selection matches no task: --dimension {','.join(dimensions or [])} "
                              f"--tasks {','.join(task_ids or [])} (a task is run when it is in a named dimension and"
                              " named by --tasks). Run `trustbench list` to see task ids.")
    return chosen


def default_tasks() -> list[Task]:
    """What `trustbench run` evaluates when no dimension or task is named."""
    return [t for t in all_tasks().values() if t.dimension in DIMENSIONS]


__all__ = ["DIMENSIONS", "ScoringContext", "Task", "all_tasks", "default_tasks", "register", "registry", "select_tasks"]
