"""trustbench: measure how trustworthy a large language model is."""

__version__ = "0.1.0"
