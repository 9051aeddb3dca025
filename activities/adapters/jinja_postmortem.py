"""Postmortem drafts rendered with Jinja2 (the ``PostmortemRenderer`` port)."""

from __future__ import annotations

import re

import jinja2

from activities.postmortem import (
    BUILTIN_TEMPLATE,
    TemplateProblem,
    builtin_template,
    cell,
    duration,
    inline,
    postmortem_context,
    quote,
)
from workflows.config import TocsinConfig
from workflows.incident_models import IncidentState


def render_postmortem(
    incident: IncidentState,
    config: TocsinConfig,
    *,
    incident_url: str | None = None,
    template: tuple[str, str] | None = None,
) -> str:
    """The postmortem draft in Markdown.

    Args:
        incident: the incident's state (resolved, usually).
        config: for names, the team's timezone and the severity.
        incident_url: where the incident can be seen, linked from the draft.
        template: ``(name, text)`` of the template (default: the built-in one).

    Raises:
        TemplateProblem: the template has a syntax error or uses an unknown variable.
    """
    name, text = template or (BUILTIN_TEMPLATE, builtin_template())
    # Markdown, not HTML: HTML autoescaping would mangle it. User text goes through the
    # inline/quote/cell filters instead.
    env = jinja2.Environment(
        autoescape=False,  # noqa: S701  # Markdown output: the filters above guard user text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(inline=inline, quote=quote, cell=cell, duration=duration)
    try:
        rendered = env.from_string(text).render(postmortem_context(incident, config, incident_url))
    except jinja2.TemplateSyntaxError as err:
        raise TemplateProblem(f"{name}, line {err.lineno}: {err.message}") from None
    except jinja2.TemplateError as err:
        raise TemplateProblem(f"{name}: {err}") from None
    # Blank lines the template's conditionals leave behind collapse to one.
    return re.sub(r"\n{3,}", "\n\n", rendered).strip() + "\n"
