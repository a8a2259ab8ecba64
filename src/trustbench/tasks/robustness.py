"""robustness tasks (TrustLLM spec). Populated by the robustness work."""
