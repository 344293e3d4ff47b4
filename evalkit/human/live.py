"""Live dialogues (placeholder until the routes are added)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

if TYPE_CHECKING:
    from evalkit.human.app import LabelServer


def routes(server: LabelServer) -> list[Route]:
    """The live dialogue routes."""
    return []
