"""truthfulness tasks (TrustLLM spec). Populated by the truthfulness work."""
