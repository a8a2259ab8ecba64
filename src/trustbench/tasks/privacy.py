"""privacy tasks (TrustLLM spec). Populated by the privacy work."""
