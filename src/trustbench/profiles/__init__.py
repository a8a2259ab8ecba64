"""Scoring profiles: declared variants of how responses become numbers.

A task implements the default behaviour (the fixed scorer). A profile may override, per task id, the judge
step (`judge`), the metric list (`metrics`) and the value it reports in the original pipeline's layout
(`trustllm_value`); everything it does not override falls back to its `base` and finally to the task. So a new
profile is a new module registering overrides -- no task is edited.

* `default`: the task's own behaviour; its fixes (`Task.fixes`) are listed in results.json.
* `trustllm`: the original TrustLLM toolkit's scorer, bugs included, to the last digit
  (`trustbench.profiles.trustllm`, one module per dimension).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..errors import TrustbenchError

if TYPE_CHECKING:
    from ..core import Response, Sample, Verdict
    from ..metrics import Metric
    from ..tasks.base import ScoringContext, Task

    JudgeFn = Callable[[Task, Sequence[Sample], Mapping[str, Response], ScoringContext], list[Verdict]]
    MetricsFn = Callable[[Task], list[Metric]]
    ValueFn = Callable[[Task, Mapping[str, float | None]], Any]


@dataclass
class Profile:
    """A named scoring variant: per-task overrides plus a few declared run-wide behaviours."""

    name: str
    description: str
    base: "Profile | None" = None
    # Too few counted items for a non-binary metric: "null" (report too few to estimate) or "flag" (keep the value).
    low_n_policy: str = "null"
    # Whether the tasks' `fixes` apply (and are listed in results.json).
    lists_fixes: bool = True
    judges: dict[str, "JudgeFn"] = field(default_factory=dict)
    metric_sets: dict[str, "MetricsFn"] = field(default_factory=dict)
    values: dict[str, "ValueFn"] = field(default_factory=dict)

    # ---- declaring overrides -------------------------------------------------------------------
    def judge_for(self, task_id: str) -> Callable[["JudgeFn"], "JudgeFn"]:
        """Decorator: this profile judges `task_id` with the decorated function (task, samples, responses, ctx)."""
        def deco(fn: "JudgeFn") -> "JudgeFn":
            self.judges[task_id] = fn
            return fn
        return deco

    def metrics_for(self, task_id: str) -> Callable[["MetricsFn"], "MetricsFn"]:
        """Decorator: this profile reports the decorated function's metrics (task) -> [Metric] for `task_id`."""
        def deco(fn: "MetricsFn") -> "MetricsFn":
            self.metric_sets[task_id] = fn
            return fn
        return deco

    def value_for(self, task_id: str) -> Callable[["ValueFn"], "ValueFn"]:
        """Decorator: the task's value in the original pipeline's return dict under this profile."""
        def deco(fn: "ValueFn") -> "ValueFn":
            self.values[task_id] = fn
            return fn
        return deco

    # ---- resolving -----------------------------------------------------------------------------
    def _lookup(self, table: str, task_id: str) -> Any:
        p: Profile | None = self
        while p is not None:
            fn = getattr(p, table).get(task_id)
            if fn is not None:
                return fn
            p = p.base
        return None

    def judge(self, task: "Task", samples: Sequence["Sample"], responses: Mapping[str, "Response"],
              ctx: "ScoringContext") -> list["Verdict"]:
        fn = self._lookup("judges", task.id)
        return fn(task, samples, responses, ctx) if fn else task.judge(samples, responses, ctx)

    def metrics(self, task: "Task") -> list["Metric"]:
        fn = self._lookup("metric_sets", task.id)
        return fn(task) if fn else task.metrics()

    def trustllm_value(self, task: "Task", values: Mapping[str, float | None]) -> Any:
        fn = self._lookup("values", task.id)
        return fn(task, values) if fn else task.trustllm_value(values, self)

    def fixes(self, task: "Task") -> list[str]:
        """What this profile changes relative to the original scorer for `task` (results.json `fixes`)."""
        return list(task.fixes) if self.lists_fixes else []

    def overrides(self, task_id: str) -> list[str]:
        """Which steps of `task_id` this profile (or its bases) overrides: for `trustbench list`."""
        return [t for t in ("judges", "metric_sets", "values") if self._lookup(t, task_id)]


_PROFILES: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    if profile.name in _PROFILES:
        raise ValueError(f"duplicate profile {profile.name}")
    _PROFILES[profile.name] = profile
    return profile


DEFAULT = register_profile(Profile("default", "the fixed scorer: every defect of the original is fixed and named"))


def get_profile(name: str | None) -> Profile:
    """The profile named (None = default); importing the built-in profiles on first use."""
    from . import trustllm  # noqa: F401  (registers the 'trustllm' profile and its overrides)

    key = name or "default"
    if key not in _PROFILES:
        raise TrustbenchError(f"Unknown scoring profile '{key}'. Known: {', '.join(sorted(_PROFILES))}")
    return _PROFILES[key]


def profiles() -> dict[str, Profile]:
    from . import trustllm  # noqa: F401

    return dict(_PROFILES)
