"""What the typed clients raise for a request that cannot be carried out; every front
door turns them into the same answer (HTTP 4xx, CLI exit code, Slack ephemeral).

A missing page or incident is also a ``LookupError`` and a refusal also a ``ValueError``,
so code that asks the clients directly (tests, scripts) can catch them as such.
"""

from __future__ import annotations


class TocsinError(Exception):
    """Base of what a front door turns into a 4xx / exit code."""


class InvalidRequest(TocsinError):
    """The request names something Tocsin does not know (team, person)."""


class PageNotFound(TocsinError, LookupError):
    """No page has that id."""


class IncidentNotFound(TocsinError, LookupError):
    """No incident has that id (or the id is not of the form ``INC-42``)."""


class Rejected(TocsinError, ValueError):
    """The page or incident refused the action (a validator said no); the message says why."""
