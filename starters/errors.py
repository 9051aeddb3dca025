"""What the typed clients raise for a request that cannot be carried out; every front
door turns them into the same answer (HTTP 4xx, CLI exit code, Slack ephemeral)."""

from __future__ import annotations


class TocsinError(Exception):
    """Base of what a front door turns into a 4xx / exit code."""


class InvalidRequest(TocsinError):
    """The request names something Tocsin does not know (team, person)."""


class PageNotFound(TocsinError):
    """No page has that id."""


class IncidentNotFound(TocsinError):
    """No incident has that id (or the id is not of the form ``INC-42``)."""


class Rejected(TocsinError):
    """The page or incident refused the action (a validator said no); the message says why."""
