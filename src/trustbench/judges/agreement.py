"""Agreement between two judges of one kind on the same items: Cohen's kappa and the items they disagree on."""

from __future__ import annotations

import math
from typing import Any, Sequence

from .base import Judgement


def agreement(first: Sequence[Judgement], second: Sequence[Judgement], ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Compare labels item by item; items where either judge failed or gave no label are left out (and counted).

    Kappa is None when it is undefined (no compared items, or both judges used one and the same label throughout).
    """
    from sklearn.metrics import cohen_kappa_score

    if len(first) != len(second):
        raise ValueError(f"agreement needs the same items: {len(first)} vs {len(second)} judgements")
    ids = list(ids) if ids is not None else [str(i) for i in range(len(first))]
    pairs = [(i, a.label, b.label) for i, a, b in zip(ids, first, second)
             if a.error is None and b.error is None and a.label is not None and b.label is not None]
    a_labels = [a for _, a, _ in pairs]
    b_labels = [b for _, _, b in pairs]
    agreed = sum(a == b for a, b in zip(a_labels, b_labels))
    labels = sorted(set(a_labels) | set(b_labels))
    kappa = None
    if pairs and len(labels) > 1:
        value = float(cohen_kappa_score(a_labels, b_labels, labels=labels))
        kappa = None if math.isnan(value) else value
    return {
        "n": len(pairs),
        "n_skipped": len(first) - len(pairs),
        "observed_agreement": agreed / len(pairs) if pairs else None,
        "kappa": kappa,
        "labels": labels,
        "disagreements": [{"id": i, "first": a, "second": b} for i, a, b in pairs if a != b],
    }
