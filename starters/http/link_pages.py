"""The small HTML pages behind one-click links: a confirmation with one button, the
outcome, a refusal saying why, and a read-only view of a page or an incident.

Pure functions of Tocsin's models to text. Server-rendered, no script, no external
asset: a phone's mail app opens them as they are. Every value from outside is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from starters.links import LinkGrant
from workflows.incident_models import IncidentState
from workflows.models import PageState, PageStatus

TITLE = "Tocsin"
# Inline, tiny, readable on a phone; the CSP allows inline styles and nothing else.
STYLE = (
    "body{font:16px/1.45 system-ui,sans-serif;margin:0;padding:1.2em;color:#1b1b1b;"
    "background:#f6f6f4}main{max-width:34em;margin:auto;background:#fff;padding:1.2em 1.4em;"
    "border-radius:10px;box-shadow:0 1px 4px #0002}h1{font-size:1.3em;margin:.2em 0 .6em}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.2em .8em}dt{color:#666}dd{margin:0;"
    "overflow-wrap:anywhere}button{font-size:1.1em;padding:.7em 1.4em;border:0;"
    "border-radius:8px;background:#b3261e;color:#fff;width:100%;margin-top:1em}"
    ".ok{color:#1e6b2e}.no{color:#b3261e}ol{padding-left:1.2em}small{color:#666}"
)
WHAT_IT_DOES = {
    "acknowledge": "Acknowledging tells the team you are on it and stops the escalation: "
    "nobody else is paged for it.",
    "escalate": "Escalating pages the next step of the escalation policy now, instead of "
    "waiting for the acknowledgement timeout.",
}
VERB = {"acknowledge": "Acknowledge", "escalate": "Escalate now"}
DONE = {"acknowledge": "Acknowledged", "escalate": "Escalated"}


@dataclass(frozen=True)
class Html:
    """A page to answer with, and its status code."""

    status: int
    body: str


def document(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>{escape(title)} · {TITLE}</title><style>{STYLE}</style></head>"
        f"<body><main>{content}</main></body></html>"
    )


def _facts(rows: list[tuple[str, str | None]]) -> str:
    items = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in rows if value
    )
    return f"<dl>{items}</dl>"


def _when(at: datetime | None) -> str | None:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if at is not None else None


def page_status(page: PageState) -> str:
    """``acknowledged by alice``, ``triggered, step 2 of 3``."""
    if page.status == PageStatus.acknowledged:
        return f"acknowledged by {page.acknowledged_by}"
    if page.status == PageStatus.resolved:
        return f"resolved by {page.resolved_by}" if page.resolved_by else "resolved"
    if page.step_count:
        return f"triggered, step {page.step} of {page.step_count}"
    return "triggered"


def page_facts(page: PageState) -> str:
    return _facts(
        [
            ("Page", page.id),
            ("Team", page.team),
            ("Summary", page.summary),
            ("Status", page_status(page)),
            ("Opened", _when(page.created_at)),
            ("Details", page.details),
        ]
    )


def moved_on(page: PageState) -> str | None:
    """Why an acknowledge or escalate link no longer applies, or None while triggered."""
    if page.status == PageStatus.resolved:
        return f"page {page.id} is already resolved"
    if page.status == PageStatus.acknowledged:
        return f"page {page.id} is already acknowledged by {page.acknowledged_by}"
    return None


def confirm(grant: LinkGrant, page: PageState, person_name: str) -> Html:
    """The GET of an acknowledge or escalate link: what it will do, one button that POSTs.

    The form has no action: it posts to this very URL, which carries the signed token.
    """
    verb = VERB[grant.action]
    content = (
        f"<h1>{escape(verb)}: {escape(page.summary)}</h1>{page_facts(page)}"
        f"<p>{escape(WHAT_IT_DOES[grant.action])}</p>"
        f'<form method="post"><button type="submit">{escape(verb)} as '
        f"{escape(person_name)}</button></form>"
        f"<p><small>This link works for {escape(person_name)} until "
        f"{escape(_when(grant.expires_at) or '')}. Nothing happens until you press the "
        "button.</small></p>"
    )
    return Html(200, document(f"{verb} page {page.id}", content))


def done(grant: LinkGrant, page: PageState) -> Html:
    """The answer to a POST that acted."""
    message = DONE[grant.action]
    content = f'<h1 class="ok">{escape(message)} by {escape(grant.person)}</h1>{page_facts(page)}'
    return Html(200, document(f"{message}: page {page.id}", content))


def refused(status: int, heading: str, reason: str, page: PageState | None = None) -> Html:
    """Nothing was done, and why."""
    facts = page_facts(page) if page is not None else ""
    content = (
        f'<h1 class="no">{escape(heading)}</h1><p>{escape(reason)}</p>{facts}'
        "<p><small>Nothing was changed.</small></p>"
    )
    return Html(status, document(heading, content))


def page_view(page: PageState, timeline_entries: int = 10) -> Html:
    """An ``open`` link: the page as it stands, read-only, with its latest timeline."""
    entries = "".join(
        f"<li>{escape(_when(entry.at) or '')}: {escape(entry.text)}</li>"
        for entry in page.timeline[-timeline_entries:]
    )
    timeline = f"<h2>Latest</h2><ol>{entries}</ol>" if entries else ""
    content = f"<h1>{escape(page.summary)}</h1>{page_facts(page)}{timeline}"
    return Html(200, document(f"Page {page.id}", content))


def incident_view(incident: IncidentState) -> Html:
    """An ``open`` link to an incident, read-only."""
    latest = incident.updates[-1].text if incident.updates else None
    content = f"<h1>{escape(incident.id)}: {escape(incident.title)}</h1>" + _facts(
        [
            ("Severity", incident.severity),
            ("Status", incident.status.value),
            ("Team", incident.team),
            ("Lead", incident.lead or "nobody yet"),
            ("Declared", _when(incident.declared_at)),
            ("Latest update", latest),
        ]
    )
    return Html(200, document(f"Incident {incident.id}", content))
