"""Who acts on a page, an incident or a rotation, and how Tocsin knows it was them.

Every request to a workflow carries its actor in the fields of :class:`Acted`. The front
doors (REST API, Slack, signed links, the CLI, intake) fill them from the credential that
made the request, never from what a body says: ``by`` is the person acted for, ``via``
the credential (``token laptop``, ``admin ops-bot``, ``slack U024BE7LH``, ``signed link``)
and ``admin`` whether an admin credential made it (an admin may give roles and change
rotations for others). Timelines keep ``by`` and ``via``, so every entry names who did it
and with what.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

BY = (
    "The person acting. With a person token, omit it (or send that token's person); "
    "an admin token must name the person it acts for."
)


class Acted(BaseModel):
    """The actor of a request (see the module's description).

    Attributes:
        by: the person acted for ("" until a front door fills it in; workflows refuse it).
        via: the credential, as timelines show it; None from callers older than it.
        admin: an admin credential (admin token, the bootstrap token, the server's CLI).
    """

    by: str = Field(default="", max_length=64, description=BY)
    # Filled by Tocsin from the credential; a value in a request body is replaced.
    via: SkipJsonSchema[str | None] = None
    admin: SkipJsonSchema[bool] = False

    @property
    def actor(self) -> str:
        """The actor as timelines name it (see :func:`actor_label`)."""
        return actor_label(self.by, self.via, admin=self.admin)


def actor_label(by: str | None, via: str | None, *, admin: bool = False) -> str:
    """How an action's actor reads in a timeline: ``alice (token laptop)``, ``admin ops-bot
    for alice``; just ``alice`` when no credential was recorded."""
    if not by:
        return via or "unknown"
    if not via:
        return by
    if admin or via.startswith("admin "):
        return f"{via} for {by}"
    return f"{by} ({via})"


def require_actor(request: Acted) -> None:
    """Refuse a request whose front door did not say who acts.

    Raises:
        ValueError: ``by`` is empty.
    """
    if not request.by:
        raise ValueError("who acts is missing: 'by' names a person")
