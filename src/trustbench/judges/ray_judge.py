"""Heavy judges as Ray work: `trustbench run --ray ADDRESS --ray-judges refusal,embedding,toxicity,llm`.

Why: judging runs on the driver after generation; a classifier or an embedding model on one process is the
run's tail once generation is spread over a cluster. `RayJudge` builds the same judge (same spec, so the same
weights) inside `replicas` Ray actors with the run's per-replica CPUs/GPUs, and hands them batches of uncached
items as they free up (`ray.util.ActorPool`: dynamic, order kept). The driver keeps the store: `Judge.judge`
looks verdicts up under the wrapped judge's id, which `RayJudge.id` equals, so only uncached items travel and a
Ray run and a local run share verdicts (and give identical results).

The LLM judge is a second generation pass: with `llm` among the Ray judges its backend is a `RayPool` over the
judge's model spec (`llm_backend_factory`), exactly as `--ray` does for the model under test.

Faults: judges are pure, so an actor that dies is restarted by Ray and its batch retried (`max_task_retries`).
A judge that cannot be built or fails on a batch (missing weights or package) is one TrustbenchError naming the
spec. Actors that cannot be placed (the cluster lacks the CPUs/GPUs asked) within `place_s` seconds are an error
saying so, instead of a run waiting forever; replicas placed by then do the work without the rest.

Rules-based judges (`refusal=rules`, `toxicity=profanity-check`) are accepted but stay on the driver: they judge
thousands of items a second, shipping them to an actor would only add latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import TrustbenchError
from ..models.ray_pool import PLACE_S
from .base import Judge, JudgeInput, Judgement

RAY_KINDS = ("refusal", "embedding", "toxicity", "llm")
LOCAL_SPECS = {("refusal", "rules"), ("toxicity", "profanity-check")}  # cheap rules: nothing to gain on Ray
BATCH = 256  # items per actor call: large enough to fill a GPU batch, small enough to spread and to retry


@dataclass(frozen=True)
class RayJudgeOptions:
    """Where the Ray judges run: the run's cluster and per-replica resources, `replicas` actors per judge."""

    address: str
    kinds: frozenset[str]
    replicas: int = 1
    num_gpus: float | None = None
    num_cpus: float | None = None
    batch: int = BATCH
    place_s: float = PLACE_S


def parse_kinds(value: str) -> frozenset[str]:
    """`--ray-judges KIND[,KIND]` (or `all`) as a set of kinds; an unknown or empty one is a clear error."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise TrustbenchError(f"--ray-judges needs kinds: {', '.join(RAY_KINDS)} or all")
    if "all" in names:
        return frozenset(RAY_KINDS)
    unknown = [n for n in names if n not in RAY_KINDS]
    if unknown:
        raise TrustbenchError(f"--ray-judges: unknown judge kind '{unknown[0]}'; kinds: {', '.join(RAY_KINDS)} or all")
    return frozenset(names)


def remote_judge(kind: str, spec: str, store: Any, options: RayJudgeOptions) -> Judge:
    """The judge `kind=spec` running on Ray: the LLM judges over a RayPool, rules locally, the rest in actors."""
    from . import make_judge

    if kind not in options.kinds or (kind, spec) in LOCAL_SPECS:
        return make_judge(kind, spec, store)
    if kind == "llm" or (kind == "refusal" and spec.startswith("llm:")):
        judge = make_judge(kind, spec, store)
        llm: Any = getattr(judge, "llm", judge)  # LLMRefusalJudge asks its inner LLMJudge
        llm.backend_factory = llm_backend_factory(options)
        return judge
    return RayJudge(kind, spec, store, options)


def llm_backend_factory(options: RayJudgeOptions) -> Callable[[str], Any]:
    """What builds an LLM judge's backend on Ray: a RayPool over its model spec, with the run's resources (its
    replicas must be placed within `place_s`, like every pool's: other Ray judges share the cluster)."""

    def pool(spec: str) -> Any:
        from ..models.ray_pool import RayPool

        return RayPool(spec, address=options.address, replicas=options.replicas, num_gpus=options.num_gpus,
                       num_cpus=options.num_cpus, place_s=options.place_s)

    return pool


_ACTOR: Any = None


def _actor_class() -> Any:
    """The Ray actor class, defined on first use so that importing this module never needs ray."""
    global _ACTOR
    if _ACTOR is None:
        from ..models.ray_pool import import_ray

        ray = import_ray()

        class JudgeActor:
            """One judge built from its spec in the actor's process; failures come back as text, never raised,
            so the driver can name the spec in one clear message."""

            def __init__(self, kind: str, spec: str):
                from . import make_judge

                self.judge: Judge | None = None
                self.failed: str | None = None
                try:
                    self.judge = make_judge(kind, spec, None)
                except Exception as exc:  # noqa: BLE001 - reported by ready() as one message
                    self.failed = _why(exc)

            def ready(self) -> str | None:
                """Placed (and, when None, built): the driver waits on this with a timeout."""
                return self.failed

            def run(self, items: list[JudgeInput]) -> tuple[list[Judgement] | None, str | None]:
                assert self.judge is not None
                try:
                    return self.judge._judge(items), None
                except Exception as exc:  # noqa: BLE001 - one message on the driver
                    return None, _why(exc)

        _ACTOR = ray.remote(JudgeActor)
    return _ACTOR


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, TrustbenchError) else f"{type(exc).__name__}: {exc}"


class RayJudge(Judge):
    """The judge `kind=spec`, run by Ray actors; same id as that judge, verdicts cached in the driver's store."""

    kind = "ray"

    def __init__(self, kind: str, spec: str, store: Any, options: RayJudgeOptions):
        from . import make_judge

        super().__init__(store)
        if options.replicas < 1 or options.batch < 1:
            raise TrustbenchError("--judge-replicas must be at least 1")
        self.judge_kind, self.spec, self.options = kind, spec, options
        local = make_judge(kind, spec, None)  # constructors parse and check only: no weights loaded here
        self._id = local.id
        self.name = f"ray:{kind}={spec}"
        self._pool: Any = None
        self._actors: list[Any] = []
        self._started_cluster = False
        self.stats: dict[str, int] = {"replicas": 0, "batches": 0, "items": 0}

    @property
    def id(self) -> str:
        return self._id

    @property
    def where(self) -> str:
        return f"Ray judge {self.judge_kind}={self.spec}"

    def _start(self) -> Any:
        """Connect, start the actors and wait (at most `place_s`) until they are placed and their judge built."""
        from ..models.ray_pool import connect, import_ray

        ray = import_ray()
        self._started_cluster = connect(self.options.address) or self._started_cluster
        opts: dict[str, Any] = {"max_restarts": 3, "max_task_retries": 3, "scheduling_strategy": "SPREAD"}
        if self.options.num_gpus is not None:
            opts["num_gpus"] = self.options.num_gpus
        if self.options.num_cpus is not None:
            opts["num_cpus"] = self.options.num_cpus
        actors = [_actor_class().options(**opts).remote(self.judge_kind, self.spec) for _ in range(self.options.replicas)]
        probes = {a.ready.remote(): a for a in actors}
        done, pending = ray.wait(list(probes), num_returns=len(probes), timeout=self.options.place_s)
        placed = []
        for ref in done:
            try:
                failed = ray.get(ref)
            except ray.exceptions.RayError as exc:
                failed = f"its actor died while starting ({type(exc).__name__})"
            if failed:
                self._kill(ray, actors)
                raise TrustbenchError(f"{self.where}: cannot be built on the Ray cluster: {failed}")
            placed.append(probes[ref])
        if not placed:
            self._kill(ray, actors)
            res = ", ".join(f"{k}={v}" for k, v in (("num_cpus", self.options.num_cpus), ("num_gpus", self.options.num_gpus))
                            if v is not None) or "1 CPU (Ray's default)"
            raise TrustbenchError(
                f"{self.where}: its actors could not be placed within {self.options.place_s:.0f} s ({len(actors)} "
                f"asked, each {res}); the cluster lacks free resources: lower --num-cpus/--num-gpus or "
                "--judge-replicas, or add nodes")
        self._kill(ray, [probes[r] for r in pending])  # replicas not placed in time: the placed ones do the work
        self._actors = placed
        self.stats["replicas"] = len(placed)
        return ray.util.ActorPool(placed)

    @staticmethod
    def _kill(ray: Any, actors: Sequence[Any]) -> None:
        for actor in actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - best effort
                pass

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Uncached items in batches to whichever actor is free; results in the items' order."""
        from ..models.ray_pool import import_ray

        if self._pool is None:
            self._pool = self._start()
        ray = import_ray()
        size = self.options.batch
        batches = [list(items[i : i + size]) for i in range(0, len(items), size)]
        out: list[Judgement] = []
        try:
            for got, failed in self._pool.map(lambda actor, batch: actor.run.remote(batch), batches):
                if failed is not None:
                    raise TrustbenchError(f"{self.where} failed: {failed}")
                out.extend(got)
                self.stats["batches"] += 1
        except ray.exceptions.RayError as exc:
            self.close()
            raise TrustbenchError(f"{self.where}: a judge actor was lost for good ({type(exc).__name__}: "
                                  f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); verdicts of "
                                  "finished tasks are saved: run the same command again to resume") from None
        except TrustbenchError:
            self.close()
            raise
        self.stats["items"] += len(out)
        return out

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """As EmbeddingJudge.embed: one vector per text, computed by the actors for texts not yet stored."""
        if self.judge_kind != "embedding":
            raise TrustbenchError(f"{self.where} is not an embedding judge")
        from .embedding import vectors

        return vectors(self, texts)

    def close(self) -> None:
        """Kill the actors (they also end with the driver) and a local cluster this judge started."""
        if self._actors:
            from ..models.ray_pool import import_ray

            self._kill(import_ray(), self._actors)
        self._actors, self._pool = [], None
        if self._started_cluster:
            from ..models.ray_pool import import_ray

            import_ray().shutdown()
            self._started_cluster = False
