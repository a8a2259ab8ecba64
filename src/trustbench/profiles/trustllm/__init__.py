"""The `trustllm` profile: the original TrustLLM toolkit's scorer, reproduced to the last digit, bugs included.

Every behaviour of the original that the default profile fixes lives here, one module per dimension; the
fixes themselves are declared once on each task (`Task.fixes`) and listed by the default profile.
"""

from __future__ import annotations

from .. import Profile, register_profile

TRUSTLLM = register_profile(Profile(
    "trustllm",
    "the original TrustLLM toolkit's scorer, bugs included (spec: trustllm-spec.md)",
    low_n_policy="flag",
    lists_fixes=False,
))

# Importing the dimension modules registers their overrides on TRUSTLLM.
from . import truthfulness, safety, fairness, robustness, privacy, ethics, survey  # noqa: E402,F401,I001
