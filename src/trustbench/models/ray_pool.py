"""Ray as the scale-out engine: N replicas of one backend on a Ray cluster, pulling work as they go.

`trustbench run --ray ADDRESS --replicas N` wraps the model's backend in `RayPool`. Each replica is a Ray
actor that builds the same backend from the same spec (so the same weights, template and settings). The
driver keeps one queue of requests and hands each idle replica the next small chunk: a fast replica simply
pulls more chunks, a slow one never holds more than one (no static split); once the queue is empty an idle
replica also takes a copy of the rest of the oldest chunk still running elsewhere, so a straggler (or a replica
waiting for a node to restart on) cannot hold the run's tail. A replica streams every response
back as soon as it is done (a Ray streaming generator), and the driver yields it at once, so the runner stores
it at once: a killed driver or a lost node loses only what was in flight, and a rerun resumes from the store.

The replicas live from the first `generate` to `close`: an LLM judge on Ray calls `generate` once per task,
and each call starting fresh actors would load the judge's weights again every time. Each replica is a
synchronous actor, so a chunk still running when a call ends (a tail copy nobody waits for) only delays that
replica's first chunk of the next call; its answers are dropped.

A replica that dies (process crash, node lost) is restarted by Ray (`max_restarts`); the undelivered rest of
its chunk goes back to the front of the queue. While Ray restarts it (which may wait for a node), calls to it
fail at once with "temporarily unavailable": those are one death, not several, so the replica gets its next chunk
after a short back-off and is given up only when it stays unreachable for `unavailable_s`. A key is yielded at most once: a duplicate answer (a chunk
re-run after a partial delivery) is dropped. `RayPool.id` is the wrapped backend's id, so a Ray run and a
single-process run share cached responses.

Ray is an optional extra (`pip install 'trustbench[ray]'`). On a remote cluster every node needs trustbench
and the backend's dependencies installed (e.g. the same container image).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend

MIN_CHUNK = 8
MAX_CHUNK = 256  # requests per hand-out at most: a lost replica re-queues little, a GPU batch still fills
BACKOFF_S = 1.0  # a restarting replica is tried again after this long
PLACE_S = float(os.environ.get("TRUSTBENCH_RAY_PLACE_S", "300"))  # how long new replicas may wait for resources


def import_ray() -> Any:
    """The ray module, or one clear error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise TrustbenchError("--ray needs Ray, which is not installed: pip install 'trustbench[ray]'") from None
    return ray


def connect(address: str) -> bool:
    """Join (or start) the Ray cluster `address` names; True when this call started a local one.

    `local` starts a private cluster on this machine; `auto` joins the one `ray start` runs here (or
    RAY_ADDRESS); anything else is a cluster address (`HOST:PORT` or `ray://HOST:10001`).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    target = {"local": "local", "auto": "auto"}.get(address, address)
    if target not in ("local", "auto"):
        check_reachable(address)
    try:
        ray.init(address=target, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                 configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrustbenchError(
            f"--ray {address}: cannot reach a Ray cluster ({first}). Start one with `ray start --head`, "
            "pass its address (HOST:PORT), or use --ray local"
        ) from None
    return target == "local"


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nothing listens on: ray.init would retry it for minutes."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise TrustbenchError(f"--ray {address}: expected local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise TrustbenchError(
            f"--ray {address}: no Ray cluster answers there ({exc.strerror or exc}). Start one with "
            "`ray start --head`, check the address, or use --ray local"
        ) from None


_ACTOR: Any = None


def _replica_class() -> Any:
    """The Ray actor class, defined on first use so that importing this module never needs ray."""
    global _ACTOR
    if _ACTOR is None:
        ray = import_ray()

        class Replica:
            """One backend, built from the spec inside the actor's process (on its node, with its GPUs)."""

            def __init__(self, spec: str, options: dict[str, Any]):
                from . import load_backend

                self.backend = load_backend(spec, **options)

            def ident(self) -> str:
                return self.backend.id

            def run(self, requests: list[Request]) -> Iterator[list[tuple[str, Response]]]:
                """Stream [(key, response), ...]: everything finished since the last yield, never waiting.

                The backend runs in a thread; each yield takes what it has queued. A backend answering one at
                a time sends one per message (stored at once); one finishing a batch of 256 together sends
                them together (one Ray object, not 256), which is what lifts the driver's ingest ceiling."""
                import queue
                import threading

                box: queue.Queue = queue.Queue()
                end = object()

                def produce() -> None:
                    try:
                        for req, resp in self.backend.generate(requests):
                            box.put((req.key, resp))
                        box.put(end)
                    except BaseException as exc:  # noqa: BLE001 - re-raised in the actor's stream below
                        box.put(exc)

                threading.Thread(target=produce, daemon=True).start()
                while True:
                    batch: list[tuple[str, Response]] = []
                    item = box.get()
                    while True:
                        if item is end or isinstance(item, BaseException):
                            if batch:
                                yield batch
                            if isinstance(item, BaseException):
                                raise item
                            return
                        batch.append(item)
                        if len(batch) >= MAX_CHUNK:
                            break
                        try:
                            item = box.get_nowait()
                        except queue.Empty:
                            break
                    yield batch

        _ACTOR = ray.remote(Replica)
    return _ACTOR


def _dead_actor_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """Exceptions meaning "the replica (or its node) is gone", not "the backend failed"."""
    ex = ray.exceptions
    names = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "WorkerCrashedError", "NodeDiedError",
             "ObjectLostError", "OwnerDiedError", "LocalRayletDiedError")
    return tuple(getattr(ex, n) for n in names if hasattr(ex, n))


class RayPool(ModelBackend):
    """`replicas` Ray actors, each holding the backend `spec` names; same id as that backend."""

    def __init__(
        self,
        spec: str,
        *,
        address: str = "local",
        replicas: int = 1,
        num_gpus: float | None = None,
        num_cpus: float | None = None,
        max_restarts: int = 3,
        chunk: int | None = None,
        unavailable_s: float = 600.0,
        place_s: float = PLACE_S,
        backend_options: dict[str, Any] | None = None,
    ):
        from . import load_backend

        if replicas < 1:
            raise TrustbenchError("--replicas must be at least 1")
        if max_restarts < 0 or (chunk is not None and chunk < 1):
            raise TrustbenchError("max_restarts must be >= 0 and chunk >= 1")
        self.spec, self.address, self.replicas = spec, address, replicas
        self.num_gpus, self.num_cpus, self.max_restarts, self.chunk = num_gpus, num_cpus, max_restarts, chunk
        self.unavailable_s, self.place_s = unavailable_s, place_s
        self.options = dict(backend_options or {})
        # Kept on the driver for its identity, `render` and `info` (the chat template in use, what a server
        # serves): every backend loads weights lazily and renders from its tokenizer alone, so no model load.
        self._local = load_backend(spec, **self.options)
        self.id = self._local.id
        import_ray()  # fail before any work when ray is missing
        self._started_cluster = False
        self._actors: list[Any] = []  # live replicas, kept across generate calls until close(); None = to respawn
        self.stats: dict[str, int] = {"restarts": 0, "requeued": 0, "duplicates": 0, "lost_replicas": 0}

    def _chunk_size(self, n: int) -> int:
        """About 8 chunks per replica, so the tail is short and a lost chunk is small; at least MIN_CHUNK so a
        backend still fills its own batch (llama.cpp decodes 8 sequences together)."""
        return self.chunk or max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(n / (self.replicas * 8))))

    def _spawn(self, ray: Any) -> Any:
        opts: dict[str, Any] = {"max_restarts": self.max_restarts, "max_task_retries": 0,
                                "scheduling_strategy": "SPREAD"}
        if self.num_gpus is not None:
            opts["num_gpus"] = self.num_gpus
        if self.num_cpus is not None:
            opts["num_cpus"] = self.num_cpus
        return _replica_class().options(**opts).remote(self.spec, self.options)

    def _replicas(self, ray: Any) -> list[Any]:
        """The pool's actors: started on first use, a replica given up by an earlier call started afresh.

        New replicas must be placed within `place_s` (a cluster without the CPUs/GPUs asked would otherwise keep
        the run waiting forever): those not placed by then are dropped, and none placed is one clear error."""
        if not self._actors:
            self._actors = [None] * self.replicas
        fresh = [i for i, a in enumerate(self._actors) if a is None]
        for i in fresh:
            self._actors[i] = self._spawn(ray)
        if fresh:
            probes = {self._actors[i].ident.remote(): i for i in fresh}
            _, pending = ray.wait(list(probes), num_returns=len(probes), timeout=self.place_s)
            for ref in pending:
                self._drop(probes[ref])
            if all(a is None for a in self._actors):
                asked = ", ".join(f"{k}={v}" for k, v in (("num_cpus", self.num_cpus), ("num_gpus", self.num_gpus))
                                  if v is not None) or "1 CPU (Ray's default)"
                raise TrustbenchError(
                    f"Ray replicas of {self.id} could not be placed within {self.place_s:.0f} s ({len(fresh)} asked, "
                    f"each {asked}); the cluster lacks free resources: lower --num-cpus/--num-gpus or the number of "
                    "replicas, or add nodes")
        return self._actors

    def _drop(self, i: int) -> None:
        """Kill replica i for good (it is started afresh at the next call)."""
        actor, self._actors[i] = self._actors[i], None
        try:
            import_ray().kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001 - best effort: it may be gone already
            pass

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if not requests:
            return
        self._started_cluster = connect(self.address) or self._started_cluster
        ray = import_ray()
        dead = _dead_actor_errors(ray)
        restarting = getattr(ray.exceptions, "ActorUnavailableError", ())
        by_key = {r.key: r for r in requests}
        size = self._chunk_size(len(requests))
        queue: deque[list[Request]] = deque(list(requests[i : i + size]) for i in range(0, len(requests), size))
        done: set[str] = set()
        actors = self._replicas(ray)
        deaths = [0] * len(actors)
        down_since: dict[int, float] = {}  # replica -> when it was last seen die (cleared by an answer)
        retry_at: dict[int, float] = {}  # replica -> when to hand it work again (it is restarting)
        alive = {i for i, a in enumerate(actors) if a is not None}
        running: dict[Any, tuple[int, list[Request], set[str]]] = {}  # stream -> (replica, chunk, delivered keys)
        doubled: set[Any] = set()  # streams already duplicated at the tail (or themselves duplicates)

        def submit(i: int, chunk: list[Request]) -> Any:
            stream = actors[i].run.options(num_returns="streaming").remote(chunk)
            running[stream] = (i, chunk, set())
            return stream

        def hand_out(i: int) -> None:
            """Give replica i the next chunk; with the queue empty, duplicate the rest of the oldest other chunk.

            The tail duplicate is what keeps a straggler, or a replica whose restart waits for a node, from
            holding the run: whichever copy answers first is kept, the other is dropped."""
            while queue:
                chunk = [r for r in queue.popleft() if r.key not in done]
                if chunk:
                    submit(i, chunk)
                    return
            for stream, (j, chunk, got) in list(running.items()):
                rest = [r for r in chunk if r.key not in got and r.key not in done]
                if j != i and stream not in doubled and rest:
                    doubled.add(stream)
                    doubled.add(submit(i, rest))
                    return

        def idle() -> list[int]:
            busy = {v[0] for v in running.values()}
            return [j for j in sorted(alive) if j not in busy and j not in retry_at]

        def lost(i: int, why: str) -> None:
            alive.discard(i)
            retry_at.pop(i, None)
            self._drop(i)
            self.stats["lost_replicas"] += 1
            if not alive:
                raise TrustbenchError(
                    f"every Ray replica of {self.id} is gone ({why}); the {len(done)} responses received are "
                    "saved: run the same command again to resume"
                )

        def on_death(i: int, exc: BaseException) -> None:
            """Count one death per loss: "temporarily unavailable" while already down is the restart under way."""
            now = time.monotonic()
            if isinstance(exc, restarting) and i in down_since:
                if now - down_since[i] > self.unavailable_s:
                    lost(i, f"unreachable for over {self.unavailable_s:.0f} s")
                    return
            else:
                deaths[i] += 1
                down_since[i] = now
                if deaths[i] > self.max_restarts:
                    lost(i, f"died more than {self.max_restarts} times, last {type(exc).__name__}")
                    return
                self.stats["restarts"] += 1
            retry_at[i] = now + BACKOFF_S

        try:
            for i in sorted(alive):
                hand_out(i)
            while len(done) < len(by_key):
                now = time.monotonic()
                for j in [j for j, t in retry_at.items() if t <= now]:
                    del retry_at[j]
                for j in idle():
                    hand_out(j)
                if not running and not retry_at:
                    break
                wait_s = max(0.0, min(retry_at.values()) - now) if retry_at else None
                if not running:
                    time.sleep(wait_s or 0.0)
                    continue
                ready, _ = ray.wait(list(running), num_returns=1, timeout=wait_s)
                for stream in ready:
                    i, chunk, got = running[stream]
                    try:
                        answered = ray.get(next(stream))
                    except StopIteration:
                        del running[stream]
                        rest = [r for r in chunk if r.key not in got and r.key not in done]
                        if rest and stream not in doubled:  # a backend that skipped requests: hand them out again
                            queue.appendleft(rest)
                        continue
                    except dead as exc:
                        del running[stream]
                        rest = [r for r in chunk if r.key not in got and r.key not in done]
                        if rest:
                            queue.appendleft(rest)
                            self.stats["requeued"] += len(rest)
                        on_death(i, exc)
                        continue
                    except ray.exceptions.RayTaskError as exc:  # the backend itself raised: fatal, as in-process
                        cause = getattr(exc, "cause", None) or exc
                        raise TrustbenchError(f"Ray replica of {self.id} failed: {cause}") from None
                    down_since.pop(i, None)
                    for key, resp in answered:
                        got.add(key)
                        if key in done:
                            self.stats["duplicates"] += 1
                            continue
                        done.add(key)
                        yield by_key[key], resp
        finally:
            for stream in list(running):
                try:
                    ray.cancel(stream, force=False)  # a queued chunk is dropped; a running one ends unread
                except Exception:  # noqa: BLE001 - best effort
                    pass

    def render(self, prompt: str, max_tokens: int = 512) -> str:
        """What the replicas send for `prompt`: they hold the same backend, built from the same spec."""
        return self._local.render(prompt, max_tokens)

    def info(self) -> dict[str, Any]:
        from ..secrets import mask

        return {**self._local.info(), "ray": {"address": mask(self.address), "replicas": self.replicas, **self.stats}}

    def close(self) -> None:
        for i, actor in enumerate(self._actors):
            if actor is not None:
                self._drop(i)
        self._actors = []
        self._local.close()
        if self._started_cluster:
            import_ray().shutdown()
            self._started_cluster = False
