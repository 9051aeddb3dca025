"""What every Slack listener needs: the Tocsin client and who a Slack user is in Tocsin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from activities.ports import ConfigSource, Silences
from starters.api import TocsinClient
from workflows.actors import Acted


@dataclass(frozen=True)
class SlackContext:
    """Shared by the listener modules (``pages``, ``incidents``, ``silences``); built once
    per app. ``silences``: where silences are kept (None: ``/silence`` says it cannot)."""

    tocsin: TocsinClient
    config: ConfigSource
    silences: Silences | None = None

    def person_for(self, slack_user_id: str) -> str | None:
        """The Tocsin person id whose ``people.<id>.slack`` is this Slack user, if any."""
        for person_id, person in self.config.current().people.items():
            if person.slack == slack_user_id:
                return person_id
        return None

    def acted(self, person: str) -> dict[str, Any]:
        """The actor fields of a request ``person`` made in Slack (``via``: their Slack user)."""
        known = self.config.current().people.get(person)
        slack_id = known.slack if known is not None else None
        return {"by": person, "via": f"slack {slack_id}" if slack_id else "slack"}

    def actor(self, person: str) -> Acted:
        """The actor of a request ``person`` made in Slack."""
        return Acted(**self.acted(person))


NOT_IN_CONFIG = (
    "You are not in Tocsin's config: ask an admin to add your Slack user id "
    "(`people.<you>.slack`) to tocsin.yaml."
)
