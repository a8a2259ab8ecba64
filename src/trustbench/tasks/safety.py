"""safety tasks (TrustLLM spec). Populated by the safety work."""
