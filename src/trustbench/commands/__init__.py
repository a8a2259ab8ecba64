"""CLI commands beyond run/score/list/data, one module per area; each exposes `register(app)`."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from . import judge, report, store, survey

    for module in (judge, report, store, survey):
        module.register(app)
