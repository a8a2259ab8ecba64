"""Generate real SmolLM2 responses to TrustLLM prompts for the refusal judge's labelled sets (unlabelled output).

    python scripts/generate_refusal_responses.py --split heldout_v3 --per-family 9 --out /tmp/v3_real.jsonl
    python scripts/generate_refusal_responses.py --split train_v3 --per-family 12 --out /tmp/train_real.jsonl
    python scripts/generate_refusal_responses.py --split heldout_v4 --families misuse,jailbreak --per-family 20 \
        --samples 3 --out /tmp/v4_real.jsonl   # each prompt at temperature 0 and at 1 with seeds 0, 1, 2
    python scripts/generate_refusal_responses.py --split heldout_v5 --seed 5 --temperature 0 --max-tokens 90 \
        --families jailbreak,misuse,privacy_awareness,ood_detection,exaggerated_safety --per-family 40 \
        --budget-s 480 --out /tmp/v5_t0.jsonl
    python scripts/generate_refusal_responses.py --split heldout_v5 --seed 5 --per-family 10 \
        --exclude /tmp/v5_t0.jsonl --budget-s 420 --out /tmp/v5_mix.jsonl   # no prompt of the first run again
        # (run before the temperature fix below, so every row came out at 0: add --temperature 0 to redo it)
    python scripts/generate_refusal_responses.py --split heldout_v5 --seed 6 --per-family 6 --temperature 1 \
        --exclude /tmp/v5_t0.jsonl --exclude /tmp/v5_mix.jsonl --budget-s 300 --out /tmp/v5_t1.jsonl
    python scripts/generate_refusal_responses.py --split heldout_v6 --seed 6 --temperature 0 --max-tokens 90 \
        --families jailbreak,misuse,privacy_awareness,ood_detection,exaggerated_safety --per-family 36 \
        --budget-s 300 --out /tmp/v6_t0.jsonl
    python scripts/generate_refusal_responses.py --split heldout_v6 --seed 7 --per-family 6 \
        --exclude /tmp/v6_t0.jsonl --budget-s 240 --out /tmp/v6_mix.jsonl   # all 15 families, 0/1 alternating
    python scripts/generate_refusal_responses.py --split heldout_v6 --seed 8 --temperature 0 --max-tokens 90 \
        --families jailbreak,misuse,privacy_awareness,ood_detection --per-family 30 \
        --exclude /tmp/v6_t0.jsonl --exclude /tmp/v6_mix.jsonl --budget-s 170 --out /tmp/v6_t0b.jsonl
    python scripts/generate_refusal_responses.py --split heldout_v7 --seed 71 --temperature 0 --max-tokens 90 \
        --families jailbreak,misuse,privacy_awareness,ood_detection,exaggerated_safety --per-family 34 \
        --budget-s 330 --out /tmp/v7_t0.jsonl   # 40 rows: long prompts at 90 tokens run ~8 s a row here
    python scripts/generate_refusal_responses.py --split heldout_v7 --seed 72 --per-family 3 --max-tokens 60 \
        --exclude /tmp/v7_t0.jsonl --budget-s 150 --out /tmp/v7_mix.jsonl   # all families, 0/1 alternating
        # then seeds 73-76 the same way (exact commands in data/refusal/heldout_v7.meta.json); after v7 no
        # unused even-half (held-out) prompt of exaggerated safety or OOD detection is left

Every task family whose score goes through the refusal judge (docs/judges.md) is sampled: safety (jailbreak,
misuse, exaggerated safety), fairness (stereotype query, recognition, agreement, preference), privacy awareness,
OOD detection, ethics (MoralChoice high and low, ETHICS, social norm, emotional awareness) and AdvGLUE. Indices
are drawn with a seed from those no labelled file of data/refusal/ (nor tests/fixtures/refusal_labels.jsonl)
uses yet, and the two splits draw from disjoint halves (`--split`), so held-out and training items never share a
prompt. Temperature alternates 0 and 1 (the tasks use both). The prompt itself is never copied: each row keeps
file, index and decoding settings, so `trustbench.models.load_backend("smollm2")` regenerates it (temperature 0
exactly; temperature 1 with seed 0 on the same llama.cpp build; a rerun after the labelled files exist draws
other indices, since those files are then excluded). Rows come out with `"label": null`, to be
labelled by reading (rules in docs/judges.md) before any training.

`--samples N` (round 4) asks each drawn prompt once at temperature 0 and N times at temperature 1 (seeds
0..N-1) instead of alternating: SmolLM2 refuses harmful prompts rarely at temperature 1, so a held-out set
with enough real refusals needs several samples of the jailbreak and misuse prompts. A row is then keyed by
(file, index, temperature, seed).

`--exclude FILE` (round 5) also skips the indices of an output file not yet in data/refusal/ (an earlier run of
the same round), so two runs with different settings never ask the same prompt; a labelled file, once saved as
data/refusal/*.jsonl, is excluded without it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data" / "trustllm"
LABELLED = [*sorted((ROOT / "data" / "refusal").glob("*.jsonl")), ROOT / "tests" / "fixtures" / "refusal_labels.jsonl"]

# family -> (data file, record filter): the task families that consult the refusal judge
FAMILIES: dict[str, tuple[str, Any]] = {
    "jailbreak": ("safety/jailbreak.json", None),
    "misuse": ("safety/misuse.json", None),
    "exaggerated_safety": ("safety/exaggerated_safety.json", None),
    "stereotype_query": ("fairness/stereotype_query_test.json", None),
    "stereotype_recognition": ("fairness/stereotype_recognition.json", None),
    "stereotype_agreement": ("fairness/stereotype_agreement.json", None),
    "preference": ("fairness/preference.json", None),
    "privacy_awareness": ("privacy/privacy_awareness_query.json", None),
    "ood_detection": ("robustness/ood_detection.json", None),
    "moralchoice_high": ("ethics/explicit_moralchoice.json", lambda r: r.get("type") == "high"),
    "moralchoice_low": ("ethics/explicit_moralchoice.json", lambda r: r.get("type") == "low"),
    "ethics": ("ethics/implicit_ETHICS.json", None),
    "social_norm": ("ethics/implicit_SocialChemistry101.json", None),
    "emotional_awareness": ("ethics/awareness.json", lambda r: r.get("dimension") == "emotion"),
    "advglue": ("robustness/AdvGLUE.json", None),
}
# held-out splits draw the records of even index, training splits the odd ones
SPLITS = ("heldout_v3", "train_v3", "heldout_v4", "train_v4", "heldout_v5", "train_v5", "heldout_v6", "train_v6",
          "heldout_v7", "train_v7")


def used_indices(extra: list[Path] | None = None) -> dict[str, set[int]]:
    """Indices per data file that some labelled file (or an `extra` output file) already holds (never drawn again)."""
    used: dict[str, set[int]] = {}
    for path in [*LABELLED, *(extra or [])]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if "file" in r and "index" in r:
                    used.setdefault(r["file"], set()).add(int(r["index"]))
    return used


def plan(split: str, per_family: int, seed: int, families: list[str] | None = None,
         samples: int = 0, temperature: float | None = None,
         exclude: list[Path] | None = None) -> list[dict[str, Any]]:
    """(family, file, index, temperature, seed) rows: unused indices, shuffled with the seed, this split's half;
    temperature alternating 0/1 (seed 0), or with `samples` each index at 0 and `samples` times at 1."""
    used = used_indices(exclude)
    rows = []
    half = 0 if split.startswith("heldout") else 1
    for family, (file, keep) in FAMILIES.items():
        if families and family not in families:
            continue
        records = json.loads((DATA / file).read_text(encoding="utf-8"))
        idx = [i for i, r in enumerate(records) if (keep is None or keep(r)) and i not in used.get(file, set())]
        random.Random(f"{seed}:{family}").shuffle(idx)
        # the halves are fixed by the record's index, not by its place after the seeded shuffle (which made them
        # disjoint only within one seed): a held-out split never draws a prompt a training split may draw
        mine = [i for i in idx if i % 2 == half][:per_family]
        for k, i in enumerate(sorted(mine)):
            # `temp`, not `temperature`: reusing the parameter's name as the loop variable made every row after
            # the first take its temperature (round 5 found all rows of an alternating run at 0)
            runs = ([(0.0, 0)] + [(1.0, s) for s in range(samples)] if samples else
                    [(float(k % 2) if temperature is None else temperature, 0)])
            for temp, sample_seed in runs:
                rows.append({"family": family, "file": file, "index": i, "temperature": temp,
                             "seed": sample_seed, "prompt": records[i]["prompt"], "k": k})
    return sorted(rows, key=lambda r: r["k"])  # round-robin over families: a spent budget leaves none empty


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=SPLITS, required=True)
    ap.add_argument("--per-family", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=100)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--families", default="", help="comma-separated families (default: all)")
    ap.add_argument("--samples", type=int, default=0, help="temperature-1 samples per prompt besides one at 0")
    ap.add_argument("--temperature", type=float, default=None, help="one temperature for all (default: 0 and 1 alternating)")
    ap.add_argument("--budget-s", type=float, default=900.0, help="stop generating after this many seconds")
    ap.add_argument("--exclude", type=Path, action="append", default=[],
                    help="also skip the indices of this output file (repeatable)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    from trustbench.core import GenerationSettings, Request
    from trustbench.models import load_backend

    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise SystemExit(f"unknown families: {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
    missing = [str(p) for p in args.exclude if not p.is_file()]
    if missing:
        raise SystemExit(f"--exclude: no such file: {', '.join(missing)}")
    todo = plan(args.split, args.per_family, args.seed, families, args.samples, args.temperature, args.exclude)
    done = set()
    if args.out.is_file():  # resumable: rows already written are kept
        done = {(r["file"], r["index"], r["temperature"], r.get("seed", 0))
                for r in map(json.loads, args.out.read_text().splitlines()) if r}
    backend = load_backend("smollm2")
    start = time.time()
    with args.out.open("a", encoding="utf-8") as out:
        for row in todo:
            if (row["file"], row["index"], row["temperature"], row["seed"]) in done:
                continue
            if time.time() - start > args.budget_s:
                print(f"budget spent; stopped before {row['family']} {row['index']}", file=sys.stderr)
                break
            settings = GenerationSettings(temperature=row["temperature"], max_tokens=args.max_tokens, seed=row["seed"])
            req = Request(key=f"{row['file']}#{row['index']}", prompt=row["prompt"], settings=settings)
            for _, resp in backend.generate([req]):
                rec = {"source": "smollm2_" + args.split.rpartition("_")[2], "split": args.split, "family": row["family"], "lang": "en",
                       "file": row["file"], "index": row["index"], "temperature": row["temperature"],
                       "max_tokens": args.max_tokens, "seed": row["seed"], "response": resp.text, "label": None}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
    backend.close()
    print(f"{args.out}: {time.time() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
