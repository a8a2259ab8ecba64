"""Scale-out by simulation: a scripted backend of fixed latency behind N Ray replicas, and the driver's ingest ceiling.

    python benchmarks/scaling_sim.py [--latency 0.05] [--per-replica 40] [--replicas 1,2,4,8] [--ingest 20000]

1. Throughput vs N: `echo,latency=L` (each request sleeps L seconds, like a remote server) behind N replicas
   (0 CPUs each, so N is not capped by this machine's cores), the responses stored as the runner stores them.
   Work grows with N (per-replica requests fixed) so every N runs about as long. Two rates per N: end to end
   (actor start included) and steady (first to last response).
2. Ingest ceiling: responses stored per second by the driver with zero-latency answers:
   (a) in-process echo -> Store.put_response (the SQLite writer alone, one commit per response),
   (a') the same through the runner's Batcher (one transaction per burst of arrivals, as `trustbench run` stores),
   (b) raw SQLite rows in one transaction per 256 (the writer's ceiling),
   (c) through a Ray pool of 2 zero-latency replicas (driver + Ray per-response overhead).
Prints one table; docs/scaling.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a private single-host cluster on 127.0.0.1

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trustbench.core import GenerationSettings, Request  # noqa: E402
from trustbench.models import load_backend  # noqa: E402
from trustbench.models.ray_pool import RayPool, connect  # noqa: E402
from trustbench.runner import Batcher  # noqa: E402
from trustbench.store import Store  # noqa: E402


def requests(n: int, tag: str) -> list[Request]:
    settings = GenerationSettings()
    return [Request(f"{tag}-{i}", f"prompt {i} of {tag}: " + "word " * 40, settings) for i in range(n)]


def drive(backend, reqs: list[Request], store: Store, batched: bool = True) -> tuple[float, float]:
    """(end-to-end seconds, steady seconds from first to last response), storing as the runner does (its
    Batcher: one transaction per burst) or, with batched=False, one commit per response."""
    t0 = time.perf_counter()
    first = None
    sink = Batcher(store, backend.id)
    for req, resp in backend.generate(reqs):
        if first is None:
            first = time.perf_counter()
        if batched:
            sink.add(req, resp)
        else:
            store.put_response(req.key, backend.id, req.settings, req.prompt, resp)
    sink.flush()
    end = time.perf_counter()
    return end - t0, end - (first or end)


def scaling(latency: float, per_replica: int, ns: list[int], store: Store) -> list[tuple[int, int, float, float]]:
    rows = []
    for n in ns:
        pool = RayPool(f"echo,latency={latency}", address="local", replicas=n, num_cpus=0)
        work = requests(per_replica * n, f"sim{n}-{time.time()}")
        total, steady = drive(pool, work, store)
        pool.close()  # its actors (kept across generate calls) go; the cluster stays for the next N
        rows.append((n, len(work), len(work) / total, (len(work) - 1) / steady if steady else float("nan")))
        print(f"  N={n}: {len(work)} requests, {rows[-1][2]:.1f}/s end to end, {rows[-1][3]:.1f}/s steady "
              f"(ideal {n / latency:.1f}/s)", flush=True)
    return rows


def ingest(n: int, folder: Path) -> dict[str, float]:
    out = {}
    store = Store(folder / "ingest.sqlite")
    echo = load_backend("echo")
    total, _ = drive(echo, requests(n, f"ingest-{time.time()}"), store, batched=False)
    out["store.put_response, one commit each"] = n / total
    total, _ = drive(echo, requests(n, f"ingest-b-{time.time()}"), store)
    out["runner's Batcher (one transaction per burst, as shipped)"] = n / total
    db = sqlite3.connect(str(folder / "batched.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE r (key TEXT PRIMARY KEY, model TEXT, settings TEXT, prompt TEXT, text TEXT, tokens INT, created REAL)")
    rows = [(r.key, "echo", "{}", r.prompt, r.prompt, 40, time.time()) for r in requests(n, "batched")]
    t0 = time.perf_counter()
    for i in range(0, n, 256):
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO r VALUES (?,?,?,?,?,?,?)", rows[i : i + 256])
        db.execute("COMMIT")
    out["SQLite, one commit per 256 rows"] = n / (time.perf_counter() - t0)
    pool = RayPool("echo", address="local", replicas=2, num_cpus=0)
    m = max(2000, n // 4)
    total, steady = drive(pool, requests(m, f"ray-ingest-{time.time()}"), store)
    pool.close()
    out["Ray pool (2 replicas) -> store, steady"] = (m - 1) / steady
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--per-replica", type=int, default=40)
    ap.add_argument("--replicas", default="1,2,4,8")
    ap.add_argument("--ingest", type=int, default=20000)
    args = ap.parse_args()
    connect("local")  # one local cluster for every pool: a pool's close() then ends only its own actors
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.sqlite")
        print(f"throughput vs replicas (echo, latency {args.latency}s per request, {args.per_replica} requests per replica):")
        rows = scaling(args.latency, args.per_replica, [int(x) for x in args.replicas.split(",")], store)
        print("ingest ceiling (zero-latency responses):", flush=True)
        ing = ingest(args.ingest, Path(tmp))
    print("\n| replicas | requests | end to end /s | steady /s | ideal /s | steady efficiency |\n|---:|---:|---:|---:|---:|---:|")
    for n, m, e2e, steady in rows:
        print(f"| {n} | {m} | {e2e:.1f} | {steady:.1f} | {n / args.latency:.0f} | {steady / (n / args.latency):.0%} |")
    print("\n| ingest path | responses/s |\n|---|---:|")
    for name, rate in ing.items():
        print(f"| {name} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
