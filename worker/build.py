"""The composition root: wires real adapters into activities and builds the worker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.adapters.apprise import AppriseNotifier
from activities.adapters.console import ConsoleNotifier
from activities.adapters.console_chat import ConsoleChat
from activities.adapters.github_tracker import github_tracker
from activities.adapters.jinja_postmortem import render_postmortem
from activities.adapters.jinja_report import render_report
from activities.adapters.prometheus_metrics import PrometheusMeter
from activities.adapters.rollback_command import CommandRunner
from activities.adapters.rollback_github import DEFAULT_API_URL, GithubRunner
from activities.adapters.rollback_webhook import WebhookRunner
from activities.adapters.slack_chat import SlackChat, slack_client
from activities.adapters.slack_notify import SlackNotifier
from activities.adapters.smtp import SmtpNotifier
from activities.adapters.smtp_mail import SmtpMailer
from activities.adapters.sql_check_results import SqlCheckResults
from activities.adapters.sql_notifications import SqlNotificationLedger
from activities.adapters.sql_page_log import SqlPageLog
from activities.adapters.sql_silences import silences_of
from activities.adapters.sql_store import SqlStore
from activities.adapters.temporal_views import TemporalRotations, TemporalTeamActivity
from activities.config import ConfigActivities
from activities.incident import ChatActivities
from activities.incident_mail import IncidentMailActivities
from activities.notify import NotifyActivities
from activities.page_log import PageLogActivities
from activities.ports import (
    Chat,
    ConfigSource,
    FollowupIssues,
    Notifier,
    RollbackRunner,
    ShiftReports,
    Store,
    TeamActivitySource,
    Tracker,
)
from activities.rollback import RollbackActivities
from activities.rotation import RotationActivities
from activities.store import StoreActivities
from activities.tracker import TrackerActivities
from activities.uptime import UptimeActivities
from activities.watch_pages import WatchPageActivities
from starters.links import link_signer
from worker.config import ConfigFile
from worker.mail import smtp_settings
from worker.sandbox import ContextReadingRunner
from worker.settings import Settings, database_url, environment, reveal
from workflows.heartbeat import HeartbeatWorkflow
from workflows.incident import IncidentWorkflow
from workflows.incident_counter import IncidentCounterWorkflow
from workflows.page import PageWorkflow
from workflows.rotation import RotationWorkflow
from workflows.shift import ShiftWorkflow
from workflows.uptime_check import CheckWorkflow

WORKFLOWS: Sequence[type] = (
    PageWorkflow,
    IncidentWorkflow,
    IncidentCounterWorkflow,
    RotationWorkflow,
    ShiftWorkflow,
    CheckWorkflow,
    HeartbeatWorkflow,
)

# Pure, stateless modules (pydantic models, config schema, schedule and policy rules) are
# shared with the sandbox instead of being re-imported for every workflow run: that halves
# the CPU of a page's first workflow task (bench/page_latency.py). They hold no mutable
# module state, so sharing them cannot leak anything between runs.
PASSTHROUGH_MODULES = (
    "workflows.actors",
    "workflows.models",
    "workflows.incident_models",
    "workflows.chat_models",
    "workflows.page_views",
    "workflows.page_alerts",
    "workflows.page_rules",
    "workflows.page_carry",
    # Workflow code without a workflow class, on every page's path: imported once, not
    # again in each run's sandbox (no module state; workflows/ruff.toml keeps it pure).
    "workflows.page_activities",
    "workflows.page_continue",
    "workflows.page_actions",
    "workflows.page_log",
    "workflows.page_log_calls",
    "workflows.archive_models",
    "workflows.incident_views",
    "workflows.incident_commands",
    "workflows.incident_rules",
    "workflows.incident_requests",
    "workflows.incident_aftercare",
    "workflows.incident_checks",
    "workflows.incident_carry",
    "workflows.failures",
    "workflows.instants",
    "workflows.incident_config",
    "workflows.services",
    "workflows.routing",
    "workflows.envref",
    "workflows.config",
    "workflows.working_hours",
    "workflows.silence_models",
    "workflows.silence_match",
    "workflows.durations",
    "workflows.ids",
    "workflows.policy",
    "workflows.priorities",
    "workflows.schedule",
    "workflows.search",
    "workflows.followup_issues",
    "workflows.rotation_models",
    "workflows.rotation_rules",
    "workflows.rotation_timeline",
    "workflows.rotation_swaps",
    "workflows.rotation_warnings",
    "workflows.shift_report",
    "workflows.watch_models",
    "workflows.watch_calls",
    "workflows.check_models",
    "workflows.heartbeat_models",
    "activities",
)


def workflow_runner() -> ContextReadingRunner:
    """The sandbox every Tocsin worker (and replayer) uses (see :mod:`worker.sandbox`)."""
    return ContextReadingRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def api_url(settings: Settings) -> str:
    """Where people reach the HTTP API (for the links in notifications)."""
    return settings.public_url or f"http://{settings.api_host}:{settings.api_port}"


def build_notifiers(settings: Settings) -> dict[str, Notifier]:
    """Every notifier this process can use, keyed by contact-method kind."""
    notifiers: dict[str, Notifier] = {
        "console": ConsoleNotifier(),
        "apprise": AppriseNotifier(environment()),
    }
    slack = _slack(settings)
    if slack is not None:
        notifiers["slack"] = SlackNotifier(slack)
    smtp = smtp_settings(settings)
    if smtp is not None:
        notifiers["email"] = SmtpNotifier(smtp)
    return notifiers


def build_rollback_runners(
    settings: Settings, environ: Mapping[str, str]
) -> dict[str, RollbackRunner]:
    """One runner per rollback kind; GitHub's with ``GITHUB_TOKEN`` at ``GITHUB_API_URL``,
    the webhook and command runners with ``environ`` (``secret_env``, the command's own).

    The GitHub runner is built even without a token, so a rollback that needs one fails
    saying ``GITHUB_TOKEN is not set`` rather than that GitHub rollbacks do not exist.
    """
    return {
        "github": GithubRunner(
            reveal(settings.github_token), base_url=settings.github_api_url or DEFAULT_API_URL
        ),
        "webhook": WebhookRunner(environ),
        "command": CommandRunner(environ),
    }


def default_chat(settings: Settings) -> Chat:
    """Slack when ``SLACK_BOT_TOKEN`` is set (``SLACK_API_URL`` overrides its API), else the console."""
    slack = _slack(settings)
    return SlackChat(slack) if slack is not None else ConsoleChat()


def _slack(settings: Settings) -> AsyncWebClient | None:
    return slack_client(reveal(settings.slack_bot_token), settings.slack_api_url)


@dataclass(frozen=True)
class Adapters:
    """Adapters a caller (a test) wires instead of the real ones; None: from the environment."""

    notifiers: Mapping[str, Notifier] | None = None
    chat: Chat | None = None
    runners: Mapping[str, RollbackRunner] | None = None
    tracker: Tracker | None = None
    store: Store | None = None
    team_activity: TeamActivitySource | None = None


def build_activities(
    client: Client,
    config: ConfigSource,
    settings: Settings,
    adapters: Adapters | None = None,
    task_queue: str | None = None,
) -> list[Any]:
    """The activity callables, bound to their adapters."""
    wired = adapters or Adapters()
    url = api_url(settings)
    notifiers = build_notifiers(settings) if wired.notifiers is None else wired.notifiers
    chat = wired.chat or default_chat(settings)
    sql = wired.store if wired.store is not None else SqlStore(database_url(settings))
    configs = ConfigActivities(config, TemporalRotations(client), silences_of(sql))
    # Sent notifications are confirmed in the store's database, so a retry skips them (not
    # with a store of a test's own: those send as before).
    ledger = SqlNotificationLedger(sql) if isinstance(sql, SqlStore) else None
    meter = PrometheusMeter()
    notify = NotifyActivities(config, notifiers, url, link_signer(settings, url), ledger, meter)
    chats = ChatActivities(config, chat)
    rollbacks = RollbackActivities(
        config,
        build_rollback_runners(settings, environment()) if wired.runners is None else wired.runners,
    )
    smtp = smtp_settings(settings)
    mailer = SmtpMailer(smtp) if smtp is not None else None
    trackers = TrackerActivities(
        config,
        wired.tracker
        if wired.tracker is not None
        else github_tracker(reveal(settings.github_token), settings.github_api_url),
        mailer,
        url,
        render_postmortem,
        config_dir=config.path.parent if isinstance(config, ConfigFile) else None,
        archive=sql,
        followups=sql if isinstance(sql, FollowupIssues) else None,
    )
    mails = IncidentMailActivities(config, mailer, url)
    store = StoreActivities(sql)
    # Pages are logged in the store's database (with a test's own store, nothing is).
    page_log = PageLogActivities(config, SqlPageLog(sql) if isinstance(sql, SqlStore) else None)
    rotations = RotationActivities(
        client,
        config,
        wired.team_activity or TemporalTeamActivity(client),
        chat,
        mailer,
        render=render_report,
        reports=sql if isinstance(sql, ShiftReports) else None,
        config_dir=config.path.parent if isinstance(config, ConfigFile) else None,
        meter=meter,
    )
    watches = WatchPageActivities(client, config, task_queue or settings.task_queue)
    # Probe results go to the SQL store (a test's own store keeps none).
    uptime = UptimeActivities(
        SqlCheckResults(sql) if isinstance(sql, SqlStore) else None, environment()
    )
    return [
        configs.resolve_step,
        notify.notify,
        chats.open_channel,
        chats.invite_to_channel,
        chats.post_message,
        chats.set_channel_topic,
        chats.archive_channel,
        rollbacks.run_rollback,
        trackers.create_followup_issue,
        trackers.link_followup_issue,
        trackers.check_issue,
        trackers.publish_postmortem,
        mails.mail_announcement,
        store.record_incident,
        store.archive_timeline,
        store.archive_alerts,
        page_log.record_page,
        rotations.start_shift,
        rotations.start_test_page,
        rotations.team_activity,
        rotations.set_usergroup,
        rotations.email_report,
        rotations.render_report,
        rotations.keep_report,
        watches.page_watch,
        uptime.probe_check,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    config: ConfigSource,
    *,
    notifiers: Mapping[str, Notifier] | None = None,
    chat: Chat | None = None,
    runners: Mapping[str, RollbackRunner] | None = None,
    tracker: Tracker | None = None,
    store: Store | None = None,
    team_activity: TeamActivitySource | None = None,
    task_queue: str | None = None,
) -> Worker:
    """A worker for every Tocsin workflow and activity on the settings' task queue."""
    adapters = Adapters(
        notifiers=notifiers,
        chat=chat,
        runners=runners,
        tracker=tracker,
        store=store,
        team_activity=team_activity,
    )
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(client, config, settings, adapters, task_queue),
        workflow_runner=workflow_runner(),
        # Waiting pages should not be replayed from scratch on every task (see Settings).
        max_cached_workflows=settings.worker_cache,
        max_concurrent_workflow_tasks=settings.worker_workflow_slots,
        max_concurrent_activities=settings.worker_activity_slots,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.worker_sticky_timeout),
    )
