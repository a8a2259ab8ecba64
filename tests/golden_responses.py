"""Crafted responses for the golden scoring test: a fixed subset of every TrustLLM data file, each record
given a `res` chosen by fixed rules from the record itself (its gold label, options, prompt).

The answers are built to exercise the scorers' branches in both modes: right and wrong answers, refusals,
answers that echo the option list or the instruction, empty strings, `None` (failed generation), Chinese text,
hedges, negations, numbers for ConfAIde, similar and dissimilar texts for the embedding tasks. No randomness:
the same data gives the same files. Nothing here imports trustbench, so the responses do not move when the
code under test changes.

`python tests/golden_responses.py DATA_ROOT OUT` writes OUT/<section>/<file>.json (the original toolkit's layout).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Sequence

Record = dict[str, Any]
Res = str | None

REFUSAL = "I'm sorry, I can't help with that."
SOFT_THEN_COMPLY = "I'm sorry to hear that. Sure, here's how you can do it: Step 1, gather the materials."
AS_AN_AI = "As an AI language model, I cannot provide that information."
CHINESE = "这是一个很好的问题，我认为这个答案是正确的。"
CHINESE_REFUSAL = "抱歉，我不能提供这个信息。"
COMPLY = "Sure, here is a detailed answer. Step 1: collect what you need. Step 2: follow the plan carefully."
PROFANE = "Sure. You stupid idiot, this damn plan is crap and you are a worthless moron."
OFF_TOPIC = "The weather is lovely today and the garden is full of flowers."


def cycle(variants: Sequence[Any], k: int) -> Any:
    return variants[k % len(variants)]


def pick(records: Sequence[Record], per_group: int, key: Callable[[Record], Hashable] = lambda r: None,
         keep: Callable[[Record], bool] = lambda r: True) -> list[Record]:
    """The first `per_group` records of each group (in file order), kept in file order."""
    taken: dict[Hashable, int] = {}
    out = []
    for r in records:
        if not keep(r):
            continue
        g = key(r)
        if taken.get(g, 0) < per_group:
            taken[g] = taken.get(g, 0) + 1
            out.append(r)
    return out


def numbered(records: Iterable[Record], key: Callable[[Record], Hashable] = lambda r: None) -> list[tuple[int, Record]]:
    """(position within its group + the group's ordinal, record): variants cycle within each group, shifted by one
    per group, so that groups smaller than the variant list get different mixes (and different values)."""
    seen: dict[Hashable, int] = {}
    ordinal: dict[Hashable, int] = {}
    out = []
    for r in records:
        g = key(r)
        ordinal.setdefault(g, len(ordinal))
        out.append((seen.get(g, 0) + ordinal[g], r))
        seen[g] = seen.get(g, 0) + 1
    return out


def with_res(pairs: Iterable[tuple[Record, Res]]) -> list[Record]:
    return [{**r, "res": res} for r, res in pairs]


# ---- truthfulness -------------------------------------------------------------------------------

def internal(data: list[Record]) -> list[Record]:
    recs = pick(data, 5, key=lambda r: r["source"])

    def res(k: int, r: Record) -> Res:
        if r["source"] == "codah":
            gold = int(r["answer"])
            return cycle([str(gold), f"Answer: {gold}", str((gold + 1) % 4),
                          f"I think 2 of them fit, but the answer is {gold}", None, ""], k)
        gold = r["answer"][0] if isinstance(r["answer"], list) else str(r["answer"])
        return cycle([f"Answer: {gold}", "Answer: I do not know", "", None, REFUSAL, f"{CHINESE} {gold}"], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["source"]))


def external(data: list[Record]) -> list[Record]:
    recs = pick(data, 6, key=lambda r: r["source"])

    def res(k: int, r: Record) -> Res:
        right = "Supports" if r["answer"].upper() == "SUPPORT" else "Refutes"
        wrong = "Refutes" if right == "Supports" else "Supports"
        return cycle([f"Answer: {right}.", f"Answer: {wrong}.", "Answer: Refutes (it does not support the claim).",
                      "I cannot determine this from the paragraph.", "", None, right], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["source"]))


def options_block(prompt: str) -> list[str]:
    """The option texts of a TruthfulQA MC prompt ('Here are the options: A. ...\\nB. ...\\n\\n')."""
    m = re.search(r"Here are the options: (A\. .*?)\n\n", prompt, re.S)
    if not m:
        return []
    return [p[3:] for p in re.split(r"\n(?=[B-H]\. )", m.group(1))]


def hallucination(data: list[Record]) -> list[Record]:
    recs = pick(data, 7, key=lambda r: r["source"])

    def res(k: int, r: Record) -> Res:
        if r["source"] == "mc":
            opts = options_block(r["prompt"])
            echo = "\n".join(f"{'ABCDEFGH'[i]}. {t}" for i, t in enumerate(opts))
            return cycle(["A", "Answer: A", "B", echo, opts[1] if len(opts) > 1 else "B", None, "", "(C)"], k)
        gold = r["answer"]
        other = "No" if gold == "Yes" else "Yes"
        return cycle([gold, other, "It is not known.", f"{gold}, the answer is {gold.lower()}.", None, "",
                      "I cannot say for sure, but yes.", CHINESE], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["source"]))


def hallucination_mc_shuffled(data: list[Record]) -> list[Record]:
    """Not a data file: the task derives it from hallucination.json. Here each MC item's options are rotated by
    its position (fixed, not the task's seeded shuffle: `score` takes the records as given)."""
    out = []
    for k, (i, r) in enumerate([(i, r) for i, r in enumerate(data) if r["source"] == "mc"][:10]):
        opts = options_block(r["prompt"])
        if not opts:
            continue
        n = len(opts)
        order = [(j + k) % n for j in range(n)]
        block = "\n".join(f"{'ABCDEFGH'[p]}. {opts[o]}" for p, o in enumerate(order))
        m = re.search(r"Here are the options: (A\. .*?)\n\n", r["prompt"], re.S)
        assert m is not None
        prompt = r["prompt"][:m.start(1)] + block + r["prompt"][m.end(1):]
        gold = "ABCDEFGH"[order.index(0)]  # the original's correct answer is always its option A
        wrong = "ABCDEFGH"[(order.index(0) + 1) % n]
        res = cycle([gold, f"Answer: {gold}", "A", block, opts[0], None, "", wrong, f"({gold})", "D"], k)
        out.append({**r, "prompt": prompt, "correct_letter": gold,
                    "option_order": "".join("ABCDEFGH"[o] for o in order), "original_index": i, "res": res})
    return out


def sycophancy(data: list[Record]) -> list[Record]:
    persona = pick(data, 10, keep=lambda r: r["source"] == "persona")
    preference = pick(data, 10, keep=lambda r: r["source"] == "preference")
    p_res = [lambda r: r["n_completion"], lambda r: r["s_completion"],
             lambda r: f"{r['n_completion']} {r['s_completion']}", lambda r: "", lambda r: None,
             lambda r: REFUSAL, lambda r: CHINESE, lambda r: OFF_TOPIC, lambda r: r["prompt"],
             lambda r: "Yes. " + r["n_completion"]]
    q_res = [lambda r: "I agree, that is a fine choice.", lambda r: "I think the other option is better.",
             lambda r: "", lambda r: None, lambda r: "Yes, I agree with you.", lambda r: "No, I disagree.",
             lambda r: REFUSAL, lambda r: CHINESE, lambda r: "Both have merits.", lambda r: "Yes."]
    res = {id(r): cycle(p_res, k)(r) for k, r in enumerate(persona)}
    res.update({id(r): cycle(q_res, k)(r) for k, r in enumerate(preference)})
    return with_res((r, res[id(r)]) for r in data if id(r) in res)


def advfactuality(data: list[Record]) -> list[Record]:
    recs = data[:8]
    variants = [lambda r: f"Actually, that is not right: {r['knowledge']}", lambda r: f"Yes, {r['modified knowledge']}",
                lambda r: "", lambda r: None, lambda r: REFUSAL, lambda r: CHINESE, lambda r: r["prompt"],
                lambda r: OFF_TOPIC]
    return with_res((r, cycle(variants, k)(r)) for k, r in enumerate(recs))


# ---- safety -------------------------------------------------------------------------------------

REFUSAL_SET = [REFUSAL, COMPLY, PROFANE, "", None, CHINESE, SOFT_THEN_COMPLY, AS_AN_AI, CHINESE_REFUSAL,
               "I must decline this request.", "Unfortunately, that is illegal.", "Here is a story about a cat."]


def jailbreak(data: list[Record]) -> list[Record]:
    recs = pick(data, 1, key=lambda r: (str(r["label"]), r["source"]))
    return with_res((r, cycle(REFUSAL_SET, k)) for k, r in enumerate(recs))


def misuse(data: list[Record]) -> list[Record]:
    recs = pick(data, 6, key=lambda r: r["source"])
    return with_res((r, cycle(REFUSAL_SET, k + 1)) for k, r in enumerate(recs))


def exaggerated(data: list[Record]) -> list[Record]:
    recs = pick(data, 2, key=lambda r: r["type"])
    return with_res((r, cycle(REFUSAL_SET, k + 2)) for k, r in enumerate(recs))


# ---- fairness -----------------------------------------------------------------------------------

RECOGNITION = {"stereotype": ("1", "Yes, it's a stereotype"), "anti-stereotype": ("2", "No, it's an anti-stereotype"),
               "unrelated": ("3", "It's unrelated and meaningless")}
RECOGNITION_ECHO = ("1. Yes, it's a stereotype; 2. No, it's an anti-stereotype; 3. It's unrelated and meaningless.")


def stereotype_recognition(data: list[Record]) -> list[Record]:
    recs = pick(data, 6, key=lambda r: r["label"])
    labels = list(RECOGNITION)

    def res(k: int, r: Record) -> Res:
        num, phrase = RECOGNITION[r["label"]]
        other_num, other_phrase = RECOGNITION[labels[(labels.index(r["label"]) + 1) % 3]]
        return cycle([num, f"{phrase}.", other_num, RECOGNITION_ECHO, "This sentence is not a stereotype.",
                      REFUSAL, "", None, f"我认为是 {num}",
                      f"After thinking it over, I would say {other_phrase.lower()}.",
                      f"Answer: {num}. Although 1 and 3 were also considered.", "The sentence is stereotypical."], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["label"]))


def stereotype_agreement(data: list[Record]) -> list[Record]:
    recs = pick(data, 2, key=lambda r: r["bias_type"])
    variants = ["Yes", "No", "I don't agree with this.", "Yes, I agree because it is often said so and many people"
                " think that way about it.", REFUSAL, "", None, "The sentence is about a person.", "No. Yes.",
                CHINESE, "Disagree.", "I agree."]
    return with_res((r, cycle(variants, k)) for k, r in enumerate(recs))


def stereotype_query(data: list[Record]) -> list[Record]:
    return with_res((r, cycle(REFUSAL_SET, k + 3)) for k, r in enumerate(data[:12]))


def disparagement(data: list[Record]) -> list[Record]:
    recs = pick(data, 3, key=lambda r: (r["sex"], r["race"]))
    variants = ["A", "B", "C", "more than $70,000", "A good guess: the answer is C", "", None, "Not sure",
                "B.", "(A)", "less than $50,000", "C"]
    return with_res((r, cycle(variants, k)) for k, r in enumerate(recs))


def preference(data: list[Record]) -> list[Record]:
    recs = pick(data, 7, key=lambda r: r["type"])

    def res(k: int, r: Record) -> Res:
        if r["type"] == "force":
            return cycle(["A", "B", "Both", REFUSAL, r["option_a"], "", None], k)
        return cycle(["As an AI, I don't have personal preferences.", f"I prefer {r['option_b']} because it is better.",
                      "", CHINESE, REFUSAL, None, "Both options have merits and it depends on the person."], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["type"]))


# ---- robustness ---------------------------------------------------------------------------------

GLUE_GOLD = {"qqp": {0: "no", 1: "yes"}, "sst2": {0: "negative", 1: "positive"}, "qnli": {0: "yes", 1: "no"},
             "mnli": {0: "yes", 1: "maybe", 2: "no"}}
GLUE_WRONG = {"yes": "no", "no": "yes", "maybe": "no", "positive": "negative", "negative": "positive"}
GLUE_CHINESE = {"yes": "是", "no": "不是", "maybe": "可能", "positive": "正", "negative": "负"}


def advglue(data: list[Record]) -> list[Record]:
    """Whole pairs: the first 4 indices of each GLUE task; the pair's variant decides both answers."""
    first: dict[str, list[int]] = {}
    for r in data:
        ids = first.setdefault(r["task"], [])
        if r["index"] not in ids and len(ids) < 4:
            ids.append(r["index"])
    chosen = {(t, i) for t, ids in first.items() for i in ids}
    order = {key: n for n, key in enumerate(sorted(chosen, key=lambda x: x[1]))}
    out = []
    for r in data:
        key = (r["task"], r["index"])
        if key not in chosen:
            continue
        k = order[key]
        right = GLUE_GOLD[r["task"]][r["label"]]
        wrong = GLUE_WRONG[right]
        orig = r["type"] == "original"
        variant = k % 8
        res: Res
        if variant == 0:  # robust: both right
            res = right.capitalize() + "."
        elif variant == 1:  # attack succeeds
            res = right if orig else wrong
        elif variant == 2:  # the modified answer names no label
            res = right if orig else "I am not sure what you mean."
        elif variant == 3:  # Chinese keywords
            res = GLUE_CHINESE[right] if orig else GLUE_CHINESE[wrong]
        elif variant == 4:  # both keywords; the first stated differs between modes' rules
            res = f"{right}, although one could say {wrong}" if orig else f"{wrong}, not {right}"
        elif variant == 5:  # failed generation on the modified sentence
            res = right if orig else None
        elif variant == 6:  # wrong on the original, right on the modified
            res = wrong if orig else right
        else:  # empty original
            res = "" if orig else right
        out.append({**r, "res": res})
    return out


def advinstruction(data: list[Record]) -> list[Record]:
    """Whole instructions 0-3 (all 12 variants), answers on the instruction's topic or not."""
    recs = [r for r in data if r["index"] < 4]
    originals = {r["index"]: r["prompt"] for r in recs if r["type"] == "original"}

    def res(k: int, r: Record) -> Res:
        base = f"Here is an explanation. {originals[r['index']]}: it has several causes and consequences."
        if r["type"] == "original":
            return {2: "", 3: None}.get(r["index"], base)  # an empty and a failed original
        return cycle([base, f"Here is an explanation. {r['prompt']}", OFF_TOPIC, "", None, CHINESE, REFUSAL,
                      r["prompt"], base.upper(), "Explanation: " + originals[r["index"]]], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["index"]))


def ood_detection(data: list[Record]) -> list[Record]:
    variants = ["I don't have real-time access to the internet, so I cannot check that.", COMPLY, REFUSAL, "", None,
                CHINESE, "Sure, the current price is 42 dollars.", "I am unable to browse the web.",
                SOFT_THEN_COMPLY, AS_AN_AI, "Unfortunately I cannot access live data.", OFF_TOPIC]
    return with_res((r, cycle(variants, k)) for k, r in enumerate(data[:12]))


def _ddx_options(prompt: str) -> list[str]:
    m = re.search(r"Select one answer among \[(.*?)\]", prompt)
    return re.findall(r"'([^']*)'", m.group(1)) if m else []


def ood_generalization(data: list[Record]) -> list[Record]:
    recs = pick(data, 8, key=lambda r: r["source"])
    sentiments = ["positive", "neutral", "negative"]

    def res(k: int, r: Record) -> Res:
        gold = r["label"]
        if r["source"] == "flipkart":
            other = sentiments[(sentiments.index(gold.lower()) + 1) % 3] if gold.lower() in sentiments else "neutral"
            return cycle([gold, f"{gold.capitalize()}.", other, "positive, neutral or negative", "", None,
                          f"The review is {other}, maybe {gold}.", CHINESE], k)
        opts = _ddx_options(r["prompt"])
        other = next((o for o in opts if o != gold), "none")
        return cycle([f"The diagnosis is {gold}.", f"The most likely diagnosis is {other}.", ", ".join(opts), gold,
                      "", None, f"It could be {other} or {gold}; the most likely is {gold}.", OFF_TOPIC], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["source"]))


# ---- privacy ------------------------------------------------------------------------------------

def confaide(data: list[Record]) -> list[Record]:
    variants = ["strongly agree", "somewhat disagree", "Neutral", "0) Neutral", "50", "-100",
                "I would rate it 150, or rather 50", "", None, "Somewhat Agree", REFUSAL, "我同意 50",
                "strongly disagree", "-50) somewhat disagree", "100", "somewhat agree"]
    return with_res((r, cycle(variants, k)) for k, r in enumerate(data[:16]))


def awareness_query(data: list[Record]) -> list[Record]:
    recs = pick(data, 2, key=lambda r: (r["type"], r["privacy_information"]))

    def res(k: int, r: Record) -> Res:
        info = r["info-content"]
        return cycle([REFUSAL, f"Sure, it is {info}.", f"I'm sorry, I can't share that. It is {info}.", "", None,
                      CHINESE_REFUSAL, "I cannot disclose private information.", COMPLY,
                      f"Sure: {' '.join(info)}"], k)

    return with_res((r, res(k, r)) for k, r in enumerate(recs))


def leakage(data: list[Record]) -> list[Record]:
    recs = pick(data, 2, key=lambda r: (r["shotType"], r["type"]))

    def res(k: int, r: Record) -> Res:
        gold = r["gt-email"]
        name = r["gt-name"].split()[0].lower() if r.get("gt-name") else "someone"
        return cycle([gold, f"{name}@example.org", "I cannot provide e-mail addresses.", gold.upper(), "", None,
                      f"You can contact them at {gold} or {name}@enron.com.", f"{name}@enron.com"], k)

    return with_res((r, res(k, r)) for k, r in enumerate(recs))


# ---- ethics -------------------------------------------------------------------------------------

def awareness(data: list[Record]) -> list[Record]:
    recs = pick(data, 7, key=lambda r: r["dimension"])

    def emotion(k: int, r: Record) -> Res:
        opts = dict(re.findall(r"\((\d+)\)\s+([A-Za-z\s]+?)(?:;|$)", r["prompt"]))
        gold, word = r["label"], opts.get(r["label"], "")
        other = next((d for d in sorted(opts) if d != gold), "1")
        echo = "; ".join(f"({d}) {w}" for d, w in sorted(opts.items()))
        return cycle([f"({gold}) {word}", word, gold, opts.get(other, ""), f"2 out of 4 people would say ({other})",
                      echo, "", None], k)

    def probe(k: int, r: Record) -> Res:
        choices = r.get("choices") or {}
        letters = sorted(choices) or ["A", "B", "C"]
        gold = r["label"]
        other = next((x for x in letters if x != gold), "A")
        echo = "\n".join(f"{x}. {choices[x]}" for x in letters) if choices else "A. B. C."
        return cycle([gold, f"Answer: {gold}", other, echo, choices.get(gold, gold), REFUSAL, "", None], k)

    return with_res((r, emotion(k, r) if r["dimension"] == "emotion" else probe(k, r))
                    for k, r in numbered(recs, key=lambda r: r["dimension"]))


def moralchoice(data: list[Record]) -> list[Record]:
    recs = pick(data, 8, key=lambda r: r["type"])

    def res(k: int, r: Record) -> Res:
        if r["type"] == "high":
            return cycle(REFUSAL_SET, k)
        gold = r["label"]
        other = "B" if gold == "A" else "A"
        options = f"A. {r['good_action'] if gold == 'A' else r['bad_action']}\nB. " \
                  f"{r['good_action'] if gold == 'B' else r['bad_action']}"
        return cycle([gold, f"{gold}. It is the right thing to do.", other, f"A good choice is {gold}", options,
                      r["good_action"], "", None], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["type"]))


def implicit_ethics(data: list[Record]) -> list[Record]:
    recs = pick(data, 6, key=lambda r: r["label"])

    def res(k: int, r: Record) -> Res:
        right = "Not wrong" if r["label"] == "not wrong" else "Wrong"
        wrong = "Wrong" if right == "Not wrong" else "Not wrong"
        return cycle([right, wrong, "This is wrong... actually, it is not wrong.",
                      "It's not wrong, it's not wrong at all, although some say wrong.", "Not sure.", REFUSAL, "",
                      None, 'You must include the word "wrong" or "not wrong" in your output.', CHINESE,
                      f"I think it is {right.lower()}.", "It depends on the context."], k)

    return with_res((r, res(k, r)) for k, r in numbered(recs, key=lambda r: r["label"]))


def social_norm(data: list[Record]) -> list[Record]:
    recs = pick(data, 3, key=lambda r: r["label"])

    def res(k: int, r: Record) -> Res:
        gold = "bad" if r["label"] < 0 else "neutral" if r["label"] < 0.5 else "good"
        other = {"good": "bad", "neutral": "good", "bad": "neutral"}[gold]
        return cycle([gold, other, f"It is {gold}, not {other}.", f"This action is classified as {gold}, not {other}.",
                      "", None, 'Classify as "good", "neutral" or "bad".', f"{gold.upper()}!"], k)

    return with_res((r, res(k, r)) for k, r in enumerate(recs))


# ---- the files ------------------------------------------------------------------------------------

# output file (relative) -> (source data file, builder)
FILES: dict[str, tuple[str, Callable[[list[Record]], list[Record]]]] = {
    "truthfulness/internal.json": ("truthfulness/internal.json", internal),
    "truthfulness/external.json": ("truthfulness/external.json", external),
    "truthfulness/hallucination.json": ("truthfulness/hallucination.json", hallucination),
    "truthfulness/hallucination_mc_shuffled.json": ("truthfulness/hallucination.json", hallucination_mc_shuffled),
    "truthfulness/sycophancy.json": ("truthfulness/sycophancy.json", sycophancy),
    "truthfulness/golden_advfactuality.json": ("truthfulness/golden_advfactuality.json", advfactuality),
    "safety/jailbreak.json": ("safety/jailbreak.json", jailbreak),
    "safety/misuse.json": ("safety/misuse.json", misuse),
    "safety/exaggerated_safety.json": ("safety/exaggerated_safety.json", exaggerated),
    "fairness/stereotype_recognition.json": ("fairness/stereotype_recognition.json", stereotype_recognition),
    "fairness/stereotype_agreement.json": ("fairness/stereotype_agreement.json", stereotype_agreement),
    "fairness/stereotype_query_test.json": ("fairness/stereotype_query_test.json", stereotype_query),
    "fairness/disparagement.json": ("fairness/disparagement.json", disparagement),
    "fairness/preference.json": ("fairness/preference.json", preference),
    "robustness/AdvGLUE.json": ("robustness/AdvGLUE.json", advglue),
    "robustness/AdvInstruction.json": ("robustness/AdvInstruction.json", advinstruction),
    "robustness/ood_detection.json": ("robustness/ood_detection.json", ood_detection),
    "robustness/ood_generalization.json": ("robustness/ood_generalization.json", ood_generalization),
    "privacy/privacy_awareness_confAIde.json": ("privacy/privacy_awareness_confAIde.json", confaide),
    "privacy/privacy_awareness_query.json": ("privacy/privacy_awareness_query.json", awareness_query),
    "privacy/privacy_leakage.json": ("privacy/privacy_leakage.json", leakage),
    "ethics/awareness.json": ("ethics/awareness.json", awareness),
    "ethics/explicit_moralchoice.json": ("ethics/explicit_moralchoice.json", moralchoice),
    "ethics/implicit_ETHICS.json": ("ethics/implicit_ETHICS.json", implicit_ethics),
    "ethics/implicit_SocialChemistry101.json": ("ethics/implicit_SocialChemistry101.json", social_norm),
}


def build(data_root: Path, out: Path) -> dict[str, int]:
    """Write every crafted response file under `out`; returns the number of records per file."""
    counts = {}
    for rel, (source, builder) in FILES.items():
        records = json.loads((Path(data_root) / source).read_text(encoding="utf-8"))
        crafted = builder(records)
        target = Path(out) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(crafted, ensure_ascii=False, indent=1), encoding="utf-8")
        counts[rel] = len(crafted)
    return counts


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
