"""What a person typed, from the text Slack sends for a slash command.

Slack escapes ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;``, and sends a
mention, a channel or a pasted link as markup: ``<@U123|alice>``, ``<#C123|ops>``,
``<https://example.com|example.com>``, ``<!here>``. Free text that Tocsin keeps (a page's
summary, an incident's title, a status update, a note) is stored as the person typed it:
``CPU &gt; 90% &amp; rising`` becomes ``CPU > 90% & rising``, a mention of someone in the
config becomes ``@<their Tocsin name>``.

Parsers that look for a mention or a link in the markup itself (``/incident lead @user``,
``/incident followup <URL>``) read the raw text first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MARKUP = re.compile(r"<([^<>]*)>")


def typed(text: str, person_for: Callable[[str], str | None] = lambda _: None) -> str:
    """``text`` as the person typed it (``person_for``: a Slack user id's Tocsin person)."""

    def one(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):  # a person
            slack_user = target[1:]
            return f"@{person_for(slack_user) or label or slack_user}"
        if target.startswith("#"):  # a channel
            return f"#{label or target[1:]}"
        if target.startswith("!"):  # <!here>, <!subteam^S1|@oncall>, <!date^…|fallback>
            return label or f"@{target[1:].split('^')[0]}"
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        return target  # a link: the URL itself, so it still works where it is shown

    return _unescape(_MARKUP.sub(one, text))


def _unescape(text: str) -> str:
    # &amp; last: "&amp;gt;" was typed as "&gt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
