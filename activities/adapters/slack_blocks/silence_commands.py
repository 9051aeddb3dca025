"""What ``/silence`` answers in Slack: pure functions of silences, no client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from workflows.silence_models import Coverage, Silence

SILENCE_USAGE = (
    "Usage: `/silence <service|team> <duration> <reason>` (e.g. `/silence web 2h deploying "
    "the new db`): pages that alerts open for it notify nobody until then. "
    "`/silence list [all]`: the silences in force (`all`: and those over in the last 30 days). "
    "`/silence end <id>`: end one now."
)
# A list answer stops here: Slack cuts a message at 40,000 characters, and silences are
# set by hand (a long list means something else is wrong).
LISTED = 50


def slack_date(at: datetime) -> str:
    """A time Slack shows in each reader's own time zone (fallback: UTC ISO)."""
    fallback = at.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def escaped(text: str) -> str:
    """Free text as Slack shows it literally (``&``, ``<`` and ``>`` are its markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def covers_text(coverage: Coverage) -> str:
    """``service `web`, team `ops`, `alertname=~"Disk.*"```: what it covers."""
    return ", ".join(
        [
            *(f"service `{s}`" for s in coverage.services),
            *(f"team `{t}`" for t in coverage.teams),
            *(f"`{escaped(m)}`" for m in coverage.matchers),
        ]
    )


def silence_set_text(silence: Silence, now: datetime) -> str:
    """The answer to ``/silence <what> <duration> <reason>``, shown in the channel."""
    begins = f" from {slack_date(silence.starts_at)}" if silence.starts_at > now else ""
    return (
        f"{silence.created_by} silenced {covers_text(silence)}{begins} until "
        f"{slack_date(silence.ends_at)} (silence `{silence.id}`): {escaped(silence.reason)}\n"
        f"Pages that alerts open for it notify nobody until then; "
        f"`/silence end {silence.id}` ends it early."
    )


def silence_ended_text(silence: Silence) -> str:
    """The answer to ``/silence end <id>``, shown in the channel."""
    return (
        f"{silence.ended_by} ended silence `{silence.id}` ({covers_text(silence)}): "
        f"the pages it held page now if their alerts still fire."
    )


def silence_list_text(silences: Sequence[Silence], now: datetime, *, everything: bool) -> str:
    """The answer to ``/silence list``: one line each, newest first."""
    if not silences:
        return (
            "No silence is in force or set, nor over in the last 30 days."
            if everything
            else "No silence is in force or set."
        )
    lines = [_line(s, now) for s in silences[:LISTED]]
    if len(silences) > LISTED:
        lines.append(f"… and {len(silences) - LISTED} more (`tocsin silence list`).")
    return "\n".join(lines)


def _line(silence: Silence, now: datetime) -> str:
    if silence.ended_at is not None:
        state = f"ended {slack_date(silence.ended_at)} by {silence.ended_by}"
    elif silence.ends_at <= now:
        state = f"over {slack_date(silence.ends_at)}"
    elif silence.starts_at > now:
        state = f"from {slack_date(silence.starts_at)} until {slack_date(silence.ends_at)}"
    else:
        state = f"until {slack_date(silence.ends_at)}"
    return (
        f"`{silence.id}` {covers_text(silence)} {state}, set by {silence.created_by}: "
        f"{escaped(silence.reason)}"
    )
