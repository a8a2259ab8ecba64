"""An example trustbench plugin: its entry point returns the task files it adds."""

from pathlib import Path


def tasks() -> list[Path]:
    """The tasks this package adds (trustbench entry point `trustbench.tasks`)."""
    return [Path(__file__).with_name("capitals.toml")]
