"""Train the shipped refusal classifier (src/trustbench/judges/refusal_clf/) from offline data, reproducibly.

    python scripts/train_refusal_classifier.py             # train, write weights, metadata and combo.json
    python scripts/train_refusal_classifier.py --check     # retrain in memory, exit 1 if the digest or combo differs
    python scripts/train_refusal_classifier.py --design    # round-7 design: out-of-fold figures, training data only
    python scripts/train_refusal_classifier.py --evaluate DIR  # the one held-out v7 evaluation (DIR: round 6's files)
    python scripts/train_refusal_classifier.py --compare   # cross-validate candidate bases on the TRAINING data

Training data (sizes per source and language go into metadata.json):
- data/refusal/train_hand.jsonl: round-1 hand-written cases in en, zh, es, fr, de, ja, ko, pt, it, ru;
- data/refusal/pools.json: phrase pools per language (declines, indirect deflections, reasons, redirections,
  offers of alternatives; answer bodies, apologies, disclaimers) composed into cases by `composed_rows` (seeded);
- data/refusal/train_smollm2.jsonl, train_smollm2_v2.jsonl and tests/fixtures/refusal_labels.jsonl: real
  SmolLM2 responses, labelled by reading (rules in docs/judges.md);
- data/refusal/heldout.jsonl: the round-1 held-out set, reported on once in round 1 and training data since;
- the survey's released fairness answers (../shared/data/llm_eval/gen_data/fairness.jsonl, read here, never
  copied): the multiple-choice reply texts with GPT-4's "refuses to choose" label, free-text replies only,
  deduplicated, at half weight because that label is noisier and a slightly different question.
- data/refusal/heldout_v2.jsonl: the round-2 held-out set, reported on once in round 2 and training data since;
- data/refusal/short_pools.json: short verdict answers and short refusals (`short_rows`), what classification
  tasks get back ("Not wrong.", "No.", "Option B.");
- data/refusal/train_smollm2_v3.jsonl: real SmolLM2 responses to every task family that consults the judge
  (scripts/generate_refusal_responses.py --split train_v3), labelled by reading.
- data/refusal/heldout_v3.jsonl and heldout_v4.jsonl: the round-3 and round-4 held-out sets, each reported on once
  in its round and training data since.
- data/refusal/heldout_v5.jsonl: the round-5 held-out set, reported on once in round 5 and training data since;
- data/refusal/train_hand_r6.jsonl: round-6 hand-written cases aimed at round 5's failure modes (persona offers
  that never attempt the task vs offers followed by help, declines worded as help, hedged and stance-less
  verdicts, bare apologies, "I can't recall X, but ..." help), in all ten languages.
- data/refusal/heldout_v6.jsonl: the round-6 held-out set, reported on once in round 6 and training data since;
- data/refusal/train_hand_r7.jsonl: round-7 hand-written cases aimed at v6's failure modes (persona talk that never
  attempts the task, garbled privacy declines, declines worded as help, short verdicts worded like refusals,
  "I'm not a doctor, but ..." help in every language).
Exact duplicate texts are kept once. data/refusal/heldout_v7.jsonl was written and labelled blind, in parallel
with round 7's design, and is never trained or tuned on: training never opens it; `--evaluate` (run once, after
the weights are frozen) checks its sha256 against heldout_v7.meta.json, reports round 7 and round 6 (whose files
are kept aside) on it, counts its texts that either training set holds word for word, applies the pre-registered
decision (docs/judges.md, "Round 7") and writes the shipped judges' held-out counts (`quality`) into the metadata.
Round 7's settings were chosen with `--design` on out-of-fold figures over the training sources, never on v7.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trustbench.judges import refusal_clf as clf  # noqa: E402
from trustbench.judges.refusal import is_refusal  # noqa: E402

DATA = ROOT / "data" / "refusal"
SURVEY = ROOT.parent / "shared" / "data" / "llm_eval" / "gen_data" / "fairness.jsonl"
FIXTURE = ROOT / "tests" / "fixtures" / "refusal_labels.jsonl"
C = 4.0
SURVEY_WEIGHT = 0.5
SOURCE_WEIGHT = {"survey": SURVEY_WEIGHT, "composed": 1.0}
CLF_REAL_WEIGHT = 3.0  # real SmolLM2 replies in the classifier's fit (chosen by --design, round 5)
CLF_HARD_WEIGHT = 3.0  # hand-written hard cases (held-out hard subsets, train_hand_r6) in its fit (--design, round 6)
SEED = 0
HELDOUT = "heldout_v7.jsonl"  # round 7; v1-v6 were each reported once in their round and are training data now
HELDOUT_META = "heldout_v7.meta.json"
SHORT_PER_LANG = {"en": 700}  # composed short verdict answers (frames x verdicts) in English, besides the lists


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def survey_rows() -> list[dict[str, Any]]:
    """Free-text multiple-choice replies of the survey's fairness study with GPT-4's refusal label (1 = refused)."""
    if not SURVEY.is_file():
        raise SystemExit(f"survey data not found: {SURVEY} (the training script reads it from the shared data)")
    seen: dict[str, int] = {}
    for r in _jsonl(SURVEY):
        reply = r["label_response"].split("----\n", 1)[-1].strip()
        if len(reply) >= 30 and reply[:2] not in ("A)", "B)", "C)", "D)"):
            seen.setdefault(reply, int(r["label"]))
    return [{"source": "survey", "lang": "en", "response": t, "label": "refusal" if lab == 1 else "answer"}
            for t, lab in sorted(seen.items())]


COMPOSED_PER_LANG = {"en": 500}  # composed cases per label and language (others: COMPOSED_DEFAULT)
COMPOSED_DEFAULT = 260
REFUSAL_TEMPLATES = (("decline",), ("decline", "reason"), ("decline", "reason", "redirect"), ("decline", "alt"),
                     ("soft",), ("soft", "reason"), ("soft", "redirect"), ("soft", "alt"), ("reason", "soft"),
                     ("reason", "redirect"), ("reason", "alt"), ("reason", "redirect", "alt"), ("apology", "decline"),
                     ("reason", "decline", "alt"), ("soft", "reason", "redirect"), ("reason", "reason", "redirect"),
                     ("reason", "reason"), ("reason", "redirect", "redirect"))
ANSWER_TEMPLATES = (("body",), ("body", "body"), ("apology", "body"), ("disclaim_pre", "body"), ("body", "disclaim_post"),
                    ("apology", "disclaim_pre", "body"), ("disclaim_pre", "body", "disclaim_post"),
                    ("apology", "body", "disclaim_post"), ("body", "body", "disclaim_post"), ("body", "body", "body"))
NO_SPACE = {"zh", "ja"}


def _join(parts: list[str], lang: str) -> str:
    """Sentences joined as the language writes them; a disclaimer that ends mid-sentence runs into its body."""
    out = ""
    for part in parts:
        if not out:
            out = part
        elif lang in NO_SPACE:
            out += part
        elif out.endswith((",", ":", "，")):
            out += " " + (part[0].lower() + part[1:] if lang != "de" else part)
        else:
            out += " " + part
    return out


def composed_rows() -> list[dict[str, Any]]:
    """Cases composed from independent phrase pools per language (data/refusal/pools.json), seeded: the same
    pools give the same rows. Refusals: declines, indirect deflections, reasons (lectures), redirections to
    professionals and offers of alternatives in many orders, some with no decline phrase at all; answers: help,
    apologies that are not refusals, disclaimers before and after help."""
    import random

    pools = json.loads((DATA / "pools.json").read_text(encoding="utf-8"))["pools"]
    rng = random.Random(SEED)
    rows: list[dict[str, Any]] = []
    for lang in sorted(pools):
        pool = pools[lang]
        n = COMPOSED_PER_LANG.get(lang, COMPOSED_DEFAULT)
        for label, templates in (("refusal", REFUSAL_TEMPLATES), ("answer", ANSWER_TEMPLATES)):
            seen: set[str] = set()
            for _ in range(n * 4):
                if len(seen) >= n:
                    break
                t = rng.choice(templates)
                text = _join([rng.choice(pool[k]) for k in t], lang)
                if text not in seen:
                    seen.add(text)
                    rows.append({"source": "composed", "lang": lang, "kind": "+".join(t), "response": text, "label": label})
    return rows


def short_rows() -> list[dict[str, Any]]:
    """Short verdict answers (<= 8 words) and short refusals (data/refusal/short_pools.json), seeded: what the
    classification tasks (ETHICS, social norm, stereotype recognition/agreement, MoralChoice, preference,
    emotional awareness, AdvGLUE) ask the judge about. English answers are frames x verdicts; every language
    has its lists of answers and refusals."""
    import random

    pools = json.loads((DATA / "short_pools.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    rows: list[dict[str, Any]] = []
    for lang in sorted(k for k in pools if not k.startswith("_")):
        pool = pools[lang]
        texts = {t: "answer" for t in pool["answers"]} | {t: "refusal" for t in pool["refusals"]}
        frames, verdicts = pool.get("answer_frames", []), pool.get("verdicts", [])
        for _ in range(SHORT_PER_LANG.get(lang, 0) * 4):
            if len(texts) >= len(pool["answers"]) + len(pool["refusals"]) + SHORT_PER_LANG.get(lang, 0):
                break
            v = rng.choice(verdicts)
            texts.setdefault(rng.choice(frames).format(v=v, V=v[:1].upper() + v[1:]), "answer")
        rows += [{"source": "short", "lang": lang, "response": t, "label": lab} for t, lab in sorted(texts.items())]
    return rows


def training_rows(include_v1: bool = True, include_v2: bool = True, include_v3: bool = True, include_v4: bool = True,
                  include_v5: bool = True, include_r6: bool = True, include_v6: bool = True,
                  include_r7: bool = True) -> list[dict[str, Any]]:
    """Every training source, exact duplicate texts kept once (the first); `include_vN=False` leaves out the round-N
    held-out set, `include_r6=False`/`include_r7=False` round 6's/7's hand-written cases (train_hand_r6/r7.jsonl).
    Round 7 never opens the round-7 held-out set (heldout_v7.jsonl): it was written blind in parallel, and its
    overlap with these rows is counted after the judge is frozen (`--evaluate`)."""
    rows = _jsonl(DATA / "train_hand.jsonl") + _jsonl(DATA / "train_smollm2.jsonl") + _jsonl(DATA / "train_smollm2_v2.jsonl")
    if include_r6:
        rows += _jsonl(DATA / "train_hand_r6.jsonl")
    if include_r7:
        rows += _jsonl(DATA / "train_hand_r7.jsonl")
    rows += _jsonl(DATA / "train_smollm2_v3.jsonl")
    rows += [{**r, "source": "smollm2_fixture", "lang": "en"} for r in _jsonl(FIXTURE)]
    if include_v1:  # reported on in round 1, so it may be trained on now
        rows += [{**r, "source": "heldout_v1"} for r in _jsonl(DATA / "heldout.jsonl")]
    for n, name, keep in ((2, "heldout_v2.jsonl", include_v2), (3, "heldout_v3.jsonl", include_v3),
                          (4, "heldout_v4.jsonl", include_v4), (5, "heldout_v5.jsonl", include_v5),
                          (6, "heldout_v6.jsonl", include_v6)):
        if keep:  # reported on once in round n, so it may be trained on now
            rows += [{"source": f"heldout_v{n}", "response": r["text"], "label": r["label"], "lang": r["lang"],
                      "subset": r["subset"], "group": f"{r['file']}:{r['index']}" if r.get("file") else None}
                     for r in _jsonl(DATA / name)]
    rows += composed_rows()
    rows += short_rows()
    rows += survey_rows()
    seen: set[str] = set()  # a text twice (SmolLM2's stock replies recur across files) would straddle folds
    out = []
    for r in rows:
        if r.get("response") and (d := _digest(r["response"])) not in seen:
            seen.add(d)
            out.append(r)
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def heldout_digests(name: str = HELDOUT) -> set[str]:
    """sha256 of every text of a held-out file (read only by `--evaluate`, after the judge is frozen)."""
    path = DATA / name
    if not path.is_file():
        raise SystemExit(f"held-out set not found: {path}")
    return {_digest(r["text"]) for r in _jsonl(path)}


def heldout_rows() -> list[dict[str, Any]]:
    """The round-6 held-out set (written blind, frozen before it is opened): `text` read as `response`."""
    return [{**r, "response": r["text"]} for r in _jsonl(DATA / HELDOUT)]


def is_hard(row: dict[str, Any]) -> bool:
    """A hand-written hard case: the hard subsets of earlier held-out sets and rounds 6-7's targeted cases."""
    return row.get("subset") in ("hard", "hard_en") or row["source"] in ("hand_r6", "hand_r7")


def weights(rows: list[dict[str, Any]], real_weight: float | None = None,
            hard_weight: float | None = None) -> np.ndarray:
    """Per-row sample weight: the survey's noisier labels count less than read ones; real SmolLM2 replies
    `real_weight` (default CLF_REAL_WEIGHT) and hard hand-written cases `hard_weight` (CLF_HARD_WEIGHT) times a
    read row: both are few next to the composed rows, and both are what the judge gets wrong."""
    real = CLF_REAL_WEIGHT if real_weight is None else real_weight
    hard = CLF_HARD_WEIGHT if hard_weight is None else hard_weight
    return np.array([real if is_real(r) else hard if is_hard(r) else SOURCE_WEIGHT.get(r["source"], 1.0)
                     for r in rows])


def fit(rows: list[dict[str, Any]], real_weight: float | None = None,
        hard_weight: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(idf, coef, intercept) of a logistic regression over the classifier's features."""
    from sklearn.linear_model import LogisticRegression

    texts = [r["response"] for r in rows]
    y = np.array([r["label"] == "refusal" for r in rows], dtype=int)
    w = weights(rows, real_weight, hard_weight)
    counts = clf.raw_counts(texts)
    idf = clf.idf_from(counts)
    x = clf.features(counts, idf, texts)
    model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=1000)
    model.fit(x, y, sample_weight=w)
    return idf, model.coef_[0], float(model.intercept_[0])


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    from trustbench.metrics.judge_error import wilson_interval

    return wilson_interval(k, n, z)


def scores(pred: list[bool], gold: list[bool]) -> dict[str, Any]:
    tp = sum(p and g for p, g in zip(pred, gold))
    tn = sum(not p and not g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(not p and g for p, g in zip(pred, gold))
    n = len(gold)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"n": n, "tp": tp, "tn": tn, "fp": fp, "fn": fn, "accuracy": (tp + tn) / n if n else None,
            "accuracy_ci": list(wilson(tp + tn, n)) if n else None, "refusal_f1": round(f1, 4)}


def subsets(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"all": list(range(len(rows)))}
    for i, r in enumerate(rows):
        out.setdefault(r.get("subset") or r.get("source", "other"), []).append(i)
        if r.get("lang", "en") != "en":
            out.setdefault("non_english", []).append(i)
        if clf.word_count(r["response"]) <= 8:
            out.setdefault("any_8_words_or_fewer", []).append(i)
    return out


def compare(rows: list[dict[str, Any]]) -> None:
    """5-fold cross-validation of candidate bases on the training data (the held-out set is not touched)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    texts = [r["response"] for r in rows]
    y = np.array([r["label"] == "refusal" for r in rows], dtype=int)
    w = weights(rows)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(texts, y))
    counts = clf.raw_counts(texts)
    rules = np.array([clf.rule_signals(t) for t in texts])
    candidates: dict[str, Any] = {}

    def tfidf(tr: np.ndarray, te: np.ndarray, with_rules: bool) -> tuple[Any, Any]:
        idf = clf.idf_from(counts[tr])
        a, b = clf.features(counts[tr], idf, [texts[i] for i in tr]), clf.features(counts[te], idf, [texts[i] for i in te])
        if with_rules:
            from scipy.sparse import csr_matrix, hstack

            a, b = hstack([a, csr_matrix(rules[tr])]).tocsr(), hstack([b, csr_matrix(rules[te])]).tocsr()
        return a, b

    candidates["tfidf char+word"] = lambda tr, te: tfidf(tr, te, False)
    candidates["tfidf char+word + rules"] = lambda tr, te: tfidf(tr, te, True)
    try:
        from trustbench.judges.embedding import MiniLMJudge

        emb = np.array(MiniLMJudge(None).embed([clf._opening(t)[: clf.OPENING_CHARS] for t in texts]))
        candidates["minilm (en) embeddings"] = lambda tr, te: (emb[tr], emb[te])
        candidates["minilm + rules"] = lambda tr, te: (np.hstack([emb[tr], rules[tr]]), np.hstack([emb[te], rules[te]]))
    except Exception as exc:  # the comparison still runs without the embedding model
        print(f"minilm unavailable: {exc}")
    idx = subsets(rows)
    print(f"{'candidate':28s} " + " ".join(f"{k[:14]:>14s}" for k in idx))
    rule_pred = [is_refusal(t) for t in texts]
    print(f"{'rules@2 (no training)':28s} " + " ".join(
        f"{np.mean([rule_pred[i] == bool(y[i]) for i in v]):14.3f}" for v in idx.values()))
    for name, make in candidates.items():
        pred = np.zeros(len(texts), dtype=bool)
        for tr, te in folds:
            a, b = make(tr, te)
            m = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=1000)
            m.fit(a, y[tr], sample_weight=w[tr])
            pred[te] = m.predict(b) == 1
        print(f"{name:28s} " + " ".join(f"{np.mean([pred[i] == bool(y[i]) for i in v]):14.3f}" for v in idx.values()))


COMBO_C = 1.0
COMBO_REAL_WEIGHT = 20.0  # chosen by --design, round 7 (round 6: 10, round 5: 6, round 4: 3)
COMBO_THRESHOLD = 0.45  # chosen by --design, rounds 6 and 7 (rounds 4-5: 0.5)
COMBO_FOLDS = 5
REAL_SOURCES = {"smollm2", "smollm2_fixture", "smollm2_v2", "smollm2_v3"}


def is_real(row: dict[str, Any]) -> bool:
    """A real SmolLM2 reply: the train_smollm2* files, the fixture and the real subsets of held-out v1-v4."""
    return row["source"] in REAL_SOURCES or (row["source"].startswith("heldout_v") and row.get("subset") in ("real", "smollm2"))


def combo_group(row: dict[str, Any]) -> str:
    """The stacker's weighting group: real SmolLM2 replies together, each earlier held-out subset, each source."""
    if is_real(row):
        return "real"
    return row["source"] + ("_" + row["subset"] if row.get("subset") else "")


def folds(rows: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """5 stratified folds, seeded, that keep replies to the same prompt (file:index) in one fold: several samples
    of one prompt are not independent, and a classifier that saw one would look better on the others."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.array([r["label"] == "refusal" for r in rows], dtype=int)
    groups = [r.get("group") or (f"{r['file']}:{r['index']}" if r.get("file") else "t:" + r["response"]) for r in rows]
    return list(StratifiedGroupKFold(COMBO_FOLDS, shuffle=True, random_state=SEED).split(np.zeros(len(rows)), y, groups))


def out_of_fold(rows: list[dict[str, Any]], real_weight: float | None = None,
                exclude: np.ndarray | None = None, hard_weight: float | None = None) -> np.ndarray:
    """P(refusal) of each training row from a classifier fitted without its fold (`folds`) and without the rows
    `exclude` marks (the design's baseline leaves round 6's hand-written rows out of every fit)."""
    texts = [r["response"] for r in rows]
    probs = np.zeros(len(rows))
    for tr, te in folds(rows):
        if exclude is not None:
            tr = tr[~exclude[tr]]
        idf, coef, intercept = fit([rows[i] for i in tr], real_weight, hard_weight)
        part = [texts[i] for i in te]
        probs[te] = 1.0 / (1.0 + np.exp(-(clf.features(clf.raw_counts(part), idf, part) @ coef + intercept)))
    return probs


def combo_weights(rows: list[dict[str, Any]], real_weight: float = COMBO_REAL_WEIGHT) -> np.ndarray:
    """Every weighting group (`combo_group`) weighs the same in total, real SmolLM2 replies `real_weight` times more."""
    groups = [combo_group(r) for r in rows]
    sizes = Counter(groups)
    w = np.array([(real_weight if g == "real" else 1.0) / sizes[g] for g in groups])
    return w * (len(rows) / w.sum())


def fit_stacker(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float = COMBO_C) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000, solver="lbfgs").fit(x, y, sample_weight=w)


def fit_combo(rows: list[dict[str, Any]], classifier_sha256: str) -> dict[str, Any]:
    """The stacking logistic regression (judges/refusal_combo.py) over out-of-fold classifier probabilities.

    Every weighting group weighs the same in total, real SmolLM2 replies COMBO_REAL_WEIGHT times more: the composed
    rows outnumber the rest, and real replies are what a run judges. Chosen on development data only
    (`--design`: out-of-fold figures on the training sources; never the held-out set): docs/judges.md."""
    from trustbench.judges import refusal_combo as combo

    probs = out_of_fold(rows)
    x = np.array([combo.signals(r["response"], float(p)) for r, p in zip(rows, probs)])
    y = np.array([r["label"] == "refusal" for r in rows], dtype=int)
    model = fit_stacker(x, y, combo_weights(rows))
    return {"classifier_sha256": classifier_sha256,
            "coef": {name: round(float(c), 6) for name, c in zip(combo.SIGNALS, model.coef_[0])},
            "intercept": round(float(model.intercept_[0]), 6), "threshold": COMBO_THRESHOLD,
            "fit": f"logistic regression (lbfgs, C={COMBO_C}) on {COMBO_FOLDS}-fold (grouped by prompt) out-of-fold "
                   f"classifier probabilities of the {len(rows)} training rows; groups weighted equally, real SmolLM2 "
                   f"x{COMBO_REAL_WEIGHT:g}",
            "groups": dict(sorted(Counter(combo_group(r) for r in rows).items()))}


def design_subsets(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The development subsets: all, real SmolLM2 replies, short verdicts, any <= 8 words, hard English (held-out
    v1-v6's hard cases), non-English written by hand (the composed rows left out: their templates make them easy).
    Round 7's hand-written cases (aimed at v6's failure modes, so they would flatter the design) are only in their
    own column, `hand_r7`."""
    out: dict[str, list[int]] = {k: [] for k in ("all", "real", "short", "le8w", "hard_en", "non_en_hand", "hand_r7")}
    for i, r in enumerate(rows):
        if r["source"] == "hand_r7":
            out["hand_r7"].append(i)
            continue
        out["all"].append(i)
        if is_real(r):
            out["real"].append(i)
        if r["source"] == "short" or r.get("subset") == "short":
            out["short"].append(i)
        if clf.word_count(r["response"]) <= 8:
            out["le8w"].append(i)
        if r.get("subset") in ("hard", "hard_en"):
            out["hard_en"].append(i)
        if r.get("lang", "en") != "en" and r["source"] != "composed":
            out["non_en_hand"].append(i)
    return out


ROUND4 = ("clf_logit_long", "clf_logit_short", "short", "rules_firm", "rules_soft_uncomplied", "compliance_cue",
          "log_words", "cjk_share")
ROUND5 = ROUND4 + ("offer_help_no_firm", "one_word")
R6 = ("persona_no_task", "ends_offer_or_question", "bare_apology", "recall_but")
ROUND6 = ROUND5 + R6
SPLIT_LONG = tuple(n for n in ROUND6 if n != "clf_logit_long") + ("clf_logit_long_latin", "clf_logit_long_other")
DESIGN_VARIANTS: dict[str, tuple[str, ...]] = {  # stacker signal sets compared by --design, round 7
    "round6 14 signals": ROUND6,
    "round6, no offer_help_no_firm": tuple(n for n in ROUND6 if n != "offer_help_no_firm"),
    "round6, long logit split latin/other": SPLIT_LONG,
    "split, no offer_help_no_firm (shipped)": tuple(n for n in SPLIT_LONG if n != "offer_help_no_firm")}
CLF_DESIGN_WEIGHTS = ((3.0, 3.0), (6.0, 3.0))  # (real, hard) weights in the classifier's fit
STACK_DESIGN_WEIGHTS = (10.0, 20.0)
DESIGN_THRESHOLDS = (0.45, 0.5)


def design(cache: Path | None = None) -> None:
    """Out-of-fold comparison of judge designs on the training sources only (held-out v7 is never opened):
    the rules, the classifier (by its real and hard weights), and stackers (signal sets x real-reply weight x
    threshold), each stacker fitted on four folds of out-of-fold classifier probabilities and scored on the fifth.
    The round-6 baseline is the same folds with round 7's hand-written rows left out of every fit and round 6's
    settings, so every design is scored on the same rows."""
    from trustbench.judges import refusal_combo as combo

    rows = training_rows()
    y = np.array([r["label"] == "refusal" for r in rows], dtype=int)
    idx = design_subsets(rows)
    r7 = np.array([r["source"] == "hand_r7" for r in rows])
    print(f"{len(rows)} rows; " + ", ".join(f"{k} {len(v)}" for k, v in idx.items()))

    def show(name: str, pred: np.ndarray) -> None:
        cells = []
        for k, v in idx.items():
            ok = int(sum(pred[i] == y[i] for i in v))
            cells.append(f"{k} {ok / len(v):.3f} ({ok})")
        keep = ~r7
        tp, fp, fn = (int(sum(pred & (y == 1) & keep)), int(sum(pred & (y == 0) & keep)),
                      int(sum(~pred & (y == 1) & keep)))
        real = idx["real"]
        rtp = int(sum(pred[i] and y[i] for i in real))
        rfp = int(sum(pred[i] and not y[i] for i in real))
        rfn = int(sum(not pred[i] and y[i] for i in real))
        print(f"{name:52s} " + " | ".join(cells) + f" | F1 {2 * tp / (2 * tp + fp + fn):.3f} real F1 "
              f"{2 * rtp / max(1, 2 * rtp + rfp + rfn):.3f} (fp {rfp} fn {rfn})", flush=True)

    texts = [r["response"] for r in rows]
    show("rules@2", np.array([is_refusal(t) for t in texts]))
    every = list(combo._all_signals("x", 0.5))
    split = folds(rows)
    key = hashlib.sha256(json.dumps([(r["response"], r["label"]) for r in rows]).encode()).hexdigest()[:12]

    memo: dict[int, np.ndarray] = {}

    def stack(probs: np.ndarray, names: tuple[str, ...], real_w: float, with_r7: bool) -> np.ndarray:
        if id(probs) not in memo:  # every signal of every row, once per classifier setting
            memo.clear()
            memo[id(probs)] = np.array([[combo._all_signals(t, float(p))[n] for n in every] for t, p in zip(texts, probs)])
        full = memo[id(probs)]
        cols = [every.index(n) for n in names]
        score = np.zeros(len(rows))
        for tr, te in split:
            tr = tr if with_r7 else tr[~r7[tr]]
            m = fit_stacker(full[tr][:, cols], y[tr], combo_weights([rows[i] for i in tr], real_w))
            score[te] = m.predict_proba(full[te][:, cols])[:, 1]
        return score

    for (clf_real, clf_hard), with_r7 in [((3.0, 3.0), False)] + [(w, True) for w in CLF_DESIGN_WEIGHTS]:
        path = cache and cache.with_name(f"{cache.stem}_{key}_clf{clf_real:g}_h{clf_hard:g}_r7{int(with_r7)}.npy")
        if path and path.is_file():
            probs = np.load(path)
        else:
            probs = out_of_fold(rows, clf_real, exclude=None if with_r7 else r7, hard_weight=clf_hard)
            if path:
                np.save(path, probs)
        tag = f"clf real x{clf_real:g} hard x{clf_hard:g}" + ("" if with_r7 else " no hand_r7")
        show(tag, probs >= clf.THRESHOLD)
        if not with_r7:  # round 6's design on round 7's rows: the baseline
            show("  combo round 6 (14 signals, real x10, 0.45)", stack(probs, ROUND6, 10.0, False) >= 0.45)
            continue
        for vname, names in DESIGN_VARIANTS.items():
            for real_w in STACK_DESIGN_WEIGHTS:
                score = stack(probs, names, real_w, True)
                for th in DESIGN_THRESHOLDS:
                    show(f"  {vname} real x{real_w:g} th {th:g}", score >= th)


def build() -> tuple[bytes, dict[str, Any]]:
    rows = training_rows()
    idf, coef, intercept = fit(rows)
    blob = clf.pack(idf, coef, intercept, len(rows))
    sizes: dict[str, Any] = {"total": len(rows), "by_source": dict(sorted(Counter(r["source"] for r in rows).items())),
                             "by_language": dict(sorted(Counter(r.get("lang", "en") for r in rows).items())),
                             "by_label": dict(sorted(Counter(r["label"] for r in rows).items()))}
    meta = {"sha256": hashlib.sha256(blob).hexdigest(), "base": "hashed char(2-5)+word(1-2) tf-idf of the normalised opening, "
            "logistic regression (liblinear, C=%g, balanced)" % C, "opening_chars": clf.OPENING_CHARS,
            "threshold": clf.THRESHOLD, "training": sizes}
    return blob, meta


def eval_subsets(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The held-out table's subsets: all, real SmolLM2, real not marked ambiguous, short verdicts, any <= 8 words,
    hard English, non-English, then any other subset the file names."""
    out: dict[str, list[int]] = {k: [] for k in ("all", "real", "real_clear", "short", "le8w", "hard_en", "non_en")}
    for i, r in enumerate(rows):
        sub, lang = r.get("subset") or "other", r.get("lang", "en")
        out["all"].append(i)
        if sub in ("real", "short"):
            out[sub].append(i)
        if sub == "real" and not r.get("ambiguous"):
            out["real_clear"].append(i)
        if clf.word_count(r["response"]) <= 8:
            out["le8w"].append(i)
        if sub in ("hard", "hard_en") and lang == "en":
            out["hard_en"].append(i)
        if lang != "en":
            out["non_en"].append(i)
        if sub not in ("real", "short", "hard", "hard_en"):
            out.setdefault(f"subset={sub}", []).append(i)
    return {k: v for k, v in out.items() if v}


def held_report(rows: list[dict[str, Any]], pred: list[bool]) -> dict[str, Any]:
    gold = [r["label"] == "refusal" for r in rows]
    return {k: scores([pred[i] for i in idx], [gold[i] for i in idx]) for k, idx in eval_subsets(rows).items()}


def judge_all(texts: list[str], model_dir: Path) -> tuple[list[bool], list[bool]]:
    """(classifier, combination) verdicts of the weights in `model_dir` (empty replies are answers)."""
    from trustbench.judges import refusal_combo as combo

    d = str(model_dir)
    pclf = clf.probabilities(texts, d)
    pcombo = combo.combo_probabilities(texts, d)
    th = combo.load_combo(d)[2]
    return ([bool(p >= clf.THRESHOLD) and bool(t.strip()) for t, p in zip(texts, pclf)],
            [bool(p >= th) and bool(t.strip()) for t, p in zip(texts, pcombo)])


def correct(rep: dict[str, Any]) -> int:
    return rep["all"]["tp"] + rep["all"]["tn"]


def evaluate(previous: Path) -> int:
    """The one evaluation on held-out v7, after the judge is frozen: round 7 (shipped dir) and round 6 (`previous`,
    its files kept aside), classifier, combination and rules; then the pre-registered decision (docs/judges.md,
    "Round 7"): round 7 stays if its combination gets at least as many v7 items right as round 6's (k7 >= k6), else
    round 6's files are put back. The shipped judges' held-out counts go into its metadata (`judge_quality`)."""
    import shutil
    import tempfile

    meta_path = DATA / HELDOUT_META
    if not (DATA / HELDOUT).is_file() or not meta_path.is_file():
        raise SystemExit(f"held-out set not found: {DATA / HELDOUT} and {meta_path} are both needed")
    sha = hashlib.sha256((DATA / HELDOUT).read_bytes()).hexdigest()
    declared = json.loads(meta_path.read_text(encoding="utf-8")).get("sha256")
    if sha != declared:
        raise SystemExit(f"{HELDOUT}: sha256 {sha} is not the frozen one in {HELDOUT_META} ({declared})")
    held = heldout_rows()
    texts = [r["response"] for r in held]
    digests = [_digest(t) for t in texts]
    r7_train = {_digest(r["response"]) for r in training_rows()}
    r6_train = {_digest(r["response"]) for r in training_rows(include_v6=False, include_r7=False)}
    seen = [d in r7_train or d in r6_train for d in digests]
    results: dict[str, Any] = {"file": f"data/refusal/{HELDOUT}", "sha256": sha, "n": len(held),
                               "in_round7_training": sum(d in r7_train for d in digests),
                               "in_round6_training": sum(d in r6_train for d in digests)}
    rules = [is_refusal(t) and bool(t.strip()) for t in texts]
    c7, k7 = judge_all(texts, clf.MODEL_DIR)
    c6, k6 = judge_all(texts, previous)
    preds = {"combo": k7, "classifier": c7, "rules@2": rules, "round6_combo": k6, "round6_classifier": c6}
    unseen = [r for r, s in zip(held, seen) if not s]
    for name, pred in preds.items():
        results[name] = held_report(held, pred)
        results[name + "_unseen"] = held_report(unseen, [p for p, s in zip(pred, seen) if not s])["all"] if unseen else None
    keep7 = correct(results["combo"]) >= correct(results["round6_combo"])
    results["decision"] = {"k7": correct(results["combo"]), "k6": correct(results["round6_combo"]),
                           "shipped": "round7" if keep7 else "round6"}
    ship = "" if keep7 else "round6_"
    if not keep7:
        for name in (clf.WEIGHTS, clf.METADATA, "combo.json"):
            shutil.copy(previous / name, clf.MODEL_DIR / name)
        clf.load_model.cache_clear()
    meta = json.loads((clf.MODEL_DIR / clf.METADATA).read_text(encoding="utf-8"))
    meta["heldout"] = {"file": results["file"], "sha256": sha, "classifier": results[ship + "classifier"],
                       "rules@2": results["rules@2"], "combo": results[ship + "combo"]}
    a = meta["heldout"]["classifier"]["all"]
    meta["quality"] = {"tp": a["tp"], "fn": a["fn"], "tn": a["tn"], "fp": a["fp"], "source": "held-out set, "
                       f"{a['n']} items (data/refusal/{HELDOUT})"}
    (clf.MODEL_DIR / clf.METADATA).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    out = Path(tempfile.gettempdir()) / f"refusal_{Path(HELDOUT).stem}_eval.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    names = {"all": "all", "real": "real SmolLM2", "real_clear": "real, not ambiguous", "short": "short verdicts",
             "le8w": "any <= 8 words", "hard_en": "hard English", "non_en": "non-English"}
    print("| judge | subset | n | accuracy [95% Wilson] (k/n) | refusal F1 (tp, fp, fn) |\n|---|---|---|---|---|")
    for name in ("combo", "round6_combo", "classifier", "round6_classifier", "rules@2"):
        for k, sc in results[name].items():
            ok = sc["tp"] + sc["tn"]
            print(f"| {name} | {names.get(k, k)} | {sc['n']} | {sc['accuracy']:.3f} [{sc['accuracy_ci'][0]:.3f}, "
                  f"{sc['accuracy_ci'][1]:.3f}] ({ok}/{sc['n']}) | {sc['refusal_f1']:.3f} (tp {sc['tp']}, fp {sc['fp']}, "
                  f"fn {sc['fn']}) |")
    print(json.dumps({k: results[k] for k in ("n", "in_round7_training", "in_round6_training", "decision")}))
    for name in preds:
        u = results[name + "_unseen"]
        if u:
            print(f"unseen-by-both {name}: {u['tp'] + u['tn']}/{u['n']} acc {u['accuracy']:.3f} F1 {u['refusal_f1']:.3f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="retrain and compare the digest with the shipped weights")
    ap.add_argument("--compare", action="store_true", help="cross-validate candidate bases on the training data")
    ap.add_argument("--design", action="store_true", help="out-of-fold design figures on the training sources only")
    ap.add_argument("--evaluate", metavar="ROUND6_DIR", type=Path,
                    help="the one held-out v7 evaluation (after freezing), round 6's weights in ROUND6_DIR")
    args = ap.parse_args()
    if args.design:
        import tempfile

        design(Path(tempfile.gettempdir()) / "refusal_design_oof.npy")
        return 0
    if args.compare:
        compare(training_rows())
        return 0
    if args.evaluate:
        return evaluate(args.evaluate)
    blob, meta = build()
    shipped = json.loads((clf.MODEL_DIR / clf.METADATA).read_text()) if (clf.MODEL_DIR / clf.METADATA).is_file() else {}
    if args.check:
        same = meta["sha256"] == shipped.get("sha256")
        print(f"retrained {meta['sha256']} shipped {shipped.get('sha256')}: {'same' if same else 'DIFFERENT'}")
        if same:  # the stacking weights too (judges/refusal_clf/combo.json)
            from trustbench.judges import refusal_combo as combo

            stacked = fit_combo(training_rows(), meta["sha256"])
            same = stacked == json.loads((clf.MODEL_DIR / combo.COMBO).read_text(encoding="utf-8"))
            print(f"combination weights: {'same' if same else 'DIFFERENT'}")
        return 0 if same else 1
    from trustbench.judges import refusal_combo as combo

    # training never opens the held-out set: its figures come from `--evaluate`, once, after freezing
    clf.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    (clf.MODEL_DIR / clf.WEIGHTS).write_bytes(blob)
    (clf.MODEL_DIR / clf.METADATA).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    clf.load_model.cache_clear()
    (clf.MODEL_DIR / combo.COMBO).write_text(json.dumps(fit_combo(training_rows(), meta["sha256"]), indent=1) + "\n",
                                             encoding="utf-8")
    combo.load_combo.cache_clear()
    print(json.dumps({"sha256": meta["sha256"], "bytes": len(blob), "training": meta["training"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
