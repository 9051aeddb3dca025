"""Tracker activities: follow-up issues, their state, and the postmortem draft.

Without a tracker (no ``GITHUB_TOKEN``) the issue activities fail as ``NotConfigured``
(not retried), while the postmortem is still rendered and returned with ``url=None``:
the workflow posts the Markdown in the channel instead. Without SMTP the postmortem is
not mailed, and the result's ``emailed`` list says so (empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import AdapterError, NotConfigured, to_application_error
from activities.ports import ConfigSource, FollowupIssues, PostmortemRenderer, Store, Tracker
from activities.postmortem import TemplateProblem, load_template
from workflows.config import TocsinConfig
from workflows.followup_issues import POSTMORTEM_LABEL, issue_labels, postmortem_key
from workflows.ids import incident_workflow_id
from workflows.incident_models import (
    FileSpec,
    IncidentState,
    IssueCheck,
    IssueLink,
    IssueRef,
    IssueSpec,
    PostmortemRequest,
    PostmortemResult,
)
from workflows.models import TimelineEntry

# Archived timeline entries read per call when a postmortem needs the whole timeline.
ARCHIVE_PAGE = 1000

NO_TRACKER = (
    "GitHub is not configured: set GITHUB_TOKEN (and GITHUB_API_URL for GitHub Enterprise) "
    "on the worker to create and track follow-up issues"
)


class Mailer(Protocol):
    """Sends one plain-text message to several addresses (SMTP)."""

    async def send_mail(
        self, to: Sequence[str], subject: str, body: str, headers: dict[str, str] | None = None
    ) -> None: ...


def incident_link(api_url: str, incident_id: str) -> str:
    """Where people (and the postmortem) point at an incident: the HTTP API."""
    return f"{api_url.rstrip('/')}/api/incidents/{incident_id}"


def postmortem_repo(config: TocsinConfig, service: str | None) -> str | None:
    """``incidents.postmortem.repo``, else the service's repo, else ``followups.repo``."""
    svc = config.services.get(service) if service else None
    return (
        config.incidents.postmortem.repo
        or (svc.repo if svc else None)
        or config.incidents.followups.repo
    )


def recipient_addresses(config: TocsinConfig, names: Sequence[str]) -> list[str]:
    """Email addresses for a severity's ``postmortem_recipients``.

    Each entry is an address (``ops@example.com``), a person id (their ``email``) or a
    team id (its members' emails); people without an email are skipped.
    """
    found: list[str] = []
    for name in names:
        if "@" in name:
            found.append(name)
        elif name in config.people:
            found.append(config.people[name].email or "")
        elif name in config.teams:
            found += [
                config.people[m].email or ""
                for m in config.teams[name].members
                if m in config.people
            ]
    return [a for a in dict.fromkeys(found) if a]


class TrackerActivities:
    """Follow-up issues and the postmortem through the ``Tracker`` port (GitHub)."""

    def __init__(
        self,
        config: ConfigSource,
        tracker: Tracker | None,
        mailer: Mailer | None,
        api_url: str,
        render: PostmortemRenderer,
        config_dir: Path | None = None,
        archive: Store | None = None,
        followups: FollowupIssues | None = None,
    ) -> None:
        """Bind the activities to their adapters.

        Args:
            config: the configuration (repos, labels, severities, people).
            tracker: GitHub, or None when no token is set.
            mailer: SMTP, or None when no SMTP host is set.
            api_url: the public URL of the HTTP API (links back to the incident).
            render: the template engine that turns an incident into its draft.
            config_dir: where a relative ``incidents.postmortem.template`` is looked up
                (the config file's folder).
            archive: where an incident open for long keeps its oldest timeline entries
                (the postmortem shows the whole timeline).
            followups: where linked issues are recorded for the GitHub webhook (the SQL
                store); without it a linked issue is only labelled.
        """
        self._config = config
        self._tracker = tracker
        self._mailer = mailer
        self._api_url = api_url
        self._render = render
        self._config_dir = config_dir
        self._archive = archive
        self._followups = followups

    def _required(self) -> Tracker:
        if self._tracker is None:
            raise ApplicationError(NO_TRACKER, type="NotConfigured", non_retryable=True)
        return self._tracker

    @activity.defn(name="create_followup_issue")
    async def create_followup_issue(self, spec: IssueSpec) -> IssueRef:
        """Create the follow-up's issue, or find the one a previous attempt created.

        ``spec.assignee`` may be a person id from ``tocsin.yaml`` (their ``github`` login is
        used) or a GitHub login.

        Raises:
            ApplicationError: ``NotConfigured``/``Rejected``/``NotFound`` are final;
                ``Unavailable`` and ``RateLimited`` (with its delay) are retried.
        """
        tracker = self._required()
        if spec.incident_id is not None:
            link = incident_link(self._api_url, spec.incident_id)
            spec = spec.model_copy(update={"body": f"{spec.body}\n\nIncident: {link}"})
        try:
            return await tracker.create_issue(self._with_login(spec))
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="link_followup_issue")
    async def link_followup_issue(self, link: IssueLink) -> IssueRef:
        """An existing issue someone pasted, with its current state.

        With ``link.incident_id`` the issue is recorded as that incident's follow-up (the
        GitHub webhook looks issues up there) and then labelled with the incident's id, as
        the issues Tocsin opens are. The record is what the webhook relies on, so failing
        to write it fails the activity (and is retried); the label is for people and for
        installations without the record, so failing to add it (no write access to that
        repository, say) is logged and the link stands.

        Raises:
            ApplicationError: ``Rejected`` when the URL is not a GitHub issue URL;
                ``Unavailable`` (retried) when the record cannot be written.
        """
        tracker = self._required()
        try:
            issue = await tracker.link_issue(link.url)
            if link.incident_id is not None and self._followups is not None:
                await self._followups.remember_followup_issue(
                    issue.repo, issue.number, link.incident_id, datetime.now(UTC)
                )
        except AdapterError as err:
            raise to_application_error(err) from err
        if link.incident_id is not None:
            try:
                await tracker.add_label(issue.repo, issue.number, link.incident_id)
            except AdapterError as err:
                activity.logger.warning(
                    "linked %s without the label %s: %s", issue.url, link.incident_id, err
                )
        return issue

    @activity.defn(name="check_issue")
    async def check_issue(self, check: IssueCheck) -> IssueRef | None:
        """The issue's state now, or None when unchanged since ``check.etag`` (a free 304)."""
        tracker = self._required()
        try:
            return await tracker.get_issue(check)
        except AdapterError as err:
            raise to_application_error(err) from err

    @activity.defn(name="publish_postmortem")
    async def publish_postmortem(self, request: PostmortemRequest) -> PostmortemResult:
        """Render the postmortem draft, publish it to GitHub, mail it to the recipients.

        Publishing follows ``incidents.postmortem.publish``: an issue labelled
        ``postmortem`` and the incident's label (found again on retry by its key), or a
        file committed to ``repo`` at ``path`` (an unchanged file is not re-committed).
        Without GitHub the draft is only rendered (``url`` None).

        Raises:
            ApplicationError: ``TemplateError`` (final) for a broken template;
                ``NotConfigured`` when GitHub is set up but no repository is configured.
        """
        config = self._config.current()
        try:
            incident = await self._whole(request.incident)
        except AdapterError as err:
            raise to_application_error(err) from err
        try:
            template = load_template(config, self._config_dir)
            markdown = self._render(
                incident,
                config,
                incident_url=incident_link(self._api_url, incident.id),
                template=template,
            )
        except TemplateProblem as err:
            raise ApplicationError(str(err), type="TemplateError", non_retryable=True) from err
        try:
            result = await self._publish(config, incident, markdown)
            if request.send:
                result.emailed = await self._mail(config, incident, result)
        except AdapterError as err:
            raise to_application_error(err) from err
        return result

    async def _whole(self, incident: IncidentState) -> IncidentState:
        """The incident with the timeline entries it spilled to the store in front."""
        if not incident.timeline_archived or self._archive is None:
            return incident
        subject = incident_workflow_id(incident.id)
        archived: list[TimelineEntry] = []
        while len(archived) < incident.timeline_archived:
            page = await self._archive.read_timeline(subject, len(archived), ARCHIVE_PAGE)
            if not page.entries:
                break
            archived += page.entries
        return incident.model_copy(update={"timeline": archived + incident.timeline})

    def _with_login(self, spec: IssueSpec) -> IssueSpec:
        person = self._config.current().people.get(spec.assignee or "")
        if person is None:
            return spec
        if person.github:
            return spec.model_copy(update={"assignee": person.github})
        note = f"Assigned to {person.name} (no `github` login for them in tocsin.yaml)."
        return spec.model_copy(update={"assignee": None, "body": f"{spec.body}\n\n{note}"})

    async def _publish(
        self, config: TocsinConfig, incident: IncidentState, markdown: str
    ) -> PostmortemResult:
        if self._tracker is None:
            activity.logger.info("postmortem of %s rendered, not published: no GitHub", incident.id)
            return PostmortemResult(markdown=markdown)
        settings = config.incidents.postmortem
        repo = postmortem_repo(config, incident.service)
        if repo is None:
            raise NotConfigured(
                "no repository for the postmortem: set incidents.postmortem.repo "
                f"(or services.{incident.service or '<service>'}.repo, or "
                "incidents.followups.repo) in tocsin.yaml"
            )
        if settings.publish == "file":
            url = await self._tracker.publish_file(
                FileSpec(
                    repo=repo,
                    path=settings.path.replace("{id}", incident.id),
                    branch=settings.branch,
                    content=markdown,
                    message=f"Postmortem draft for {incident.id}: {incident.title}",
                )
            )
        else:
            issue = await self._tracker.create_issue(
                IssueSpec(
                    key=postmortem_key(incident.id),
                    repo=repo,
                    title=f"Postmortem: {incident.id} {incident.title}",
                    body=markdown,
                    labels=issue_labels(incident.id, [POSTMORTEM_LABEL]),
                )
            )
            activity.logger.info("postmortem of %s published at %s", incident.id, issue.url)
            return PostmortemResult(
                markdown=markdown, url=issue.url, published="issue", issue=issue
            )
        activity.logger.info("postmortem of %s published at %s", incident.id, url)
        return PostmortemResult(markdown=markdown, url=url, published=settings.publish)

    async def _mail(
        self, config: TocsinConfig, incident: IncidentState, result: PostmortemResult
    ) -> list[str]:
        severity = config.severity(incident.severity)
        to = recipient_addresses(config, severity.postmortem_recipients if severity else [])
        if not to:
            return []
        if self._mailer is None:
            activity.logger.warning(
                "postmortem of %s not mailed to %d recipients: SMTP is not configured",
                incident.id,
                len(to),
            )
            return []
        where = f"Published at {result.url}\n\n" if result.url else ""
        await self._mailer.send_mail(
            to,
            f"Postmortem draft: {incident.id} {incident.title}",
            where + result.markdown,
            {"X-Tocsin-Incident": incident.id},
        )
        return to
