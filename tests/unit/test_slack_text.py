"""Slack's escaped text read back as the person typed it."""

from __future__ import annotations

from starters.slack.text import typed

PEOPLE = {"U0BOB": "bob"}


def test_entities_are_unescaped() -> None:
    assert typed("CPU &gt; 90% &amp; rising &lt;eu&gt;") == "CPU > 90% & rising <eu>"
    # Someone who typed an entity gets the entity back, not its character.
    assert typed("literally &amp;gt;") == "literally &gt;"


def test_mentions_become_names() -> None:
    text = "<@U0BOB|bob.smith> and <@U0CAROL> in <#C42|ops> <!here> <!subteam^S1|@sre>"
    assert typed(text, PEOPLE.get) == "@bob and @U0CAROL in #ops @here @sre"
    assert typed("ask <@U0CAROL|carol>", PEOPLE.get) == "ask @carol"


def test_links_keep_their_address() -> None:
    assert typed("see <https://status.example.com/x?a=1&amp;b=2|status page>") == (
        "see https://status.example.com/x?a=1&b=2"
    )
    assert typed("mail <mailto:ops@example.com|ops@example.com>") == "mail ops@example.com"


def test_plain_text_is_unchanged() -> None:
    assert typed("checkout is down") == "checkout is down"
