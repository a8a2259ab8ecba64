"""The two taxonomies trustbench reports against, and which tasks measure each entry.

`taxonomy.json` (package data) maps the survey's 29 sub-categories and TrustLLM's principles (with their
aspects) to task ids. `coverage` is what `trustbench list --taxonomy` prints and the HTML report shows.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from .errors import TrustbenchError

NAMES = ("survey", "trustllm")


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    return json.loads(resources.files("trustbench").joinpath("taxonomy.json").read_text(encoding="utf-8"))


def taxonomy(name: str) -> dict[str, Any]:
    """The named taxonomy: {"title", "categories": [{"name", "description", "subcategories": [{"name", "tasks"}]}]}."""
    if name not in NAMES:
        raise TrustbenchError(f"Unknown taxonomy '{name}'. Known: {', '.join(NAMES)}")
    return _load()[name]


def coverage(name: str, task_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per (category, sub-category): the mapped tasks, those measured, and whether any is.

    `task_ids` are the tasks to count as measuring (e.g. those in a run's results.json); by default the
    registered tasks. A category that is documented but not benchmarked (TrustLLM's transparency and
    accountability) gives one row with `benchmarked` false.
    """
    if task_ids is None:
        from .tasks import registry

        task_ids = registry()
    present = set(task_ids)
    rows = []
    for cat in taxonomy(name)["categories"]:
        subs = cat["subcategories"] or [{"name": None, "tasks": []}]
        for sub in subs:
            measured = [t for t in sub["tasks"] if t in present]
            rows.append({"category": cat["name"], "subcategory": sub["name"], "tasks": list(sub["tasks"]),
                         "measured": measured, "covered": bool(measured),
                         "benchmarked": cat.get("benchmarked", True), "note": cat.get("note", "")})
    return rows


def unknown_task_ids(name: str) -> list[str]:
    """Mapped task ids that no registered task has (a typo or a task not yet written)."""
    from .tasks import registry

    reg = registry()
    return sorted({t for row in coverage(name, reg) for t in row["tasks"] if t not in reg})
