"""Pure helpers for follow-up issues: keys, labels and bodies (deterministic, workflow-safe)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from workflows.incident_models import FollowUp, IssueSpec

POSTMORTEM_LABEL = "postmortem"
_INCIDENT_LABEL = re.compile(r"^INC-[1-9][0-9]*$")


def followup_key(incident_id: str, number: int) -> str:
    """The idempotency key of follow-up ``number``: a retried create finds the first issue."""
    return f"{incident_id}/followup/{number}"


def postmortem_key(incident_id: str) -> str:
    """The idempotency key of the incident's postmortem issue."""
    return f"{incident_id}/postmortem"


def incidents_from_labels(labels: Sequence[str]) -> list[str]:
    """The incidents an issue follows up (its ``INC-<n>`` labels), by number, no repeats.

    An issue may follow up several incidents (each one that linked it labels it).
    """
    found = {label for label in labels if _INCIDENT_LABEL.match(label)}
    return sorted(found, key=lambda label: int(label.removeprefix("INC-")))


def issue_labels(incident_id: str, labels: Sequence[str], *extra: str) -> list[str]:
    """The configured labels, then ``extra``, then the incident's own label; no repeats."""
    return list(dict.fromkeys([*labels, *extra, incident_id]))


def followup_issue_spec(
    incident_id: str,
    incident_title: str,
    followup: FollowUp,
    *,
    repo: str,
    labels: Sequence[str],
    incident_url: str | None = None,
) -> IssueSpec:
    """The issue that tracks ``followup``: its body says what it follows up and links back.

    Args:
        incident_id: ``INC-42``; it becomes a label, which is how the GitHub webhook finds
            the incident again.
        incident_title: the incident's title, quoted in the body.
        followup: the follow-up (title, optional body and assignee).
        repo: ``owner/name`` (the request's, else the service's, else the configured one).
        labels: the configured follow-up labels (``incident`` by default).
        incident_url: where people see the incident (the API, or a dashboard), if known.
    """
    reference = f"[{incident_id}]({incident_url})" if incident_url else incident_id
    parts = [followup.body.strip()] if followup.body and followup.body.strip() else []
    parts.append(
        f"Follow-up #{followup.number} of incident {reference}: {incident_title}\n\n"
        f"Added by {followup.added_by}. Tocsin keeps the incident open until this issue "
        "is closed."
    )
    return IssueSpec(
        key=followup_key(incident_id, followup.number),
        repo=repo,
        title=followup.title,
        body="\n\n---\n\n".join(parts),
        labels=issue_labels(incident_id, labels),
        assignee=followup.assignee,
        incident_id=None if incident_url else incident_id,
    )
