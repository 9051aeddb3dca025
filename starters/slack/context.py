"""What every Slack listener needs: the Tocsin client and who a Slack user is in Tocsin."""

from __future__ import annotations

from dataclasses import dataclass

from activities.ports import ConfigSource
from starters.api import TocsinClient


@dataclass(frozen=True)
class SlackContext:
    """Shared by the listener modules (``pages``, ``incidents``); built once per app."""

    tocsin: TocsinClient
    config: ConfigSource

    def person_for(self, slack_user_id: str) -> str | None:
        """The Tocsin person id whose ``people.<id>.slack`` is this Slack user, if any."""
        for person_id, person in self.config.current().people.items():
            if person.slack == slack_user_id:
                return person_id
        return None


NOT_IN_CONFIG = (
    "You are not in Tocsin's config: ask an admin to add your Slack user id "
    "(`people.<you>.slack`) to tocsin.yaml."
)
