"""Slack Block Kit, in one place: pure functions of Tocsin's models, no client.

- ``cards``: what Tocsin posts (page notifications and cards, incident cards) and the
  action ids of their buttons;
- ``commands``: the answers to ``/oncall`` and ``/page``;
- ``incident_commands``: ``/incident``'s card, declare modal and usage.

``Block`` is one block of a message or view.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]
