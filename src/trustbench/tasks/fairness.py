"""fairness tasks (TrustLLM spec). Populated by the fairness work."""
