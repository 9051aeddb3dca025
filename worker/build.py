"""The composition root: wires real adapters into activities and builds the worker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.adapters.apprise import AppriseNotifier
from activities.adapters.console import ConsoleNotifier
from activities.adapters.smtp import SmtpNotifier, SmtpSettings
from activities.config import ConfigActivities
from activities.notify import NotifyActivities
from activities.ports import ConfigSource, Notifier
from worker.settings import Settings
from workflows.page import PageWorkflow

WORKFLOWS: Sequence[type] = (PageWorkflow,)

# Pure, stateless modules (pydantic models, config schema, schedule and policy rules) are
# shared with the sandbox instead of being re-imported for every workflow run: that halves
# the CPU of a page's first workflow task (bench/page_latency.py). They hold no mutable
# module state, so sharing them cannot leak anything between runs.
PASSTHROUGH_MODULES = (
    "workflows.models",
    "workflows.config",
    "workflows.durations",
    "workflows.ids",
    "workflows.policy",
    "workflows.schedule",
    "workflows.search",
    "activities",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every Tocsin worker (and replayer) uses."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def api_url(settings: Settings) -> str:
    """Where people reach the HTTP API (for the links in notifications)."""
    return settings.public_url or f"http://{settings.api_host}:{settings.api_port}"


def build_notifiers(settings: Settings) -> dict[str, Notifier]:
    """Every notifier this process can use, keyed by contact-method kind."""
    notifiers: dict[str, Notifier] = {"console": ConsoleNotifier(), "apprise": AppriseNotifier()}
    if settings.smtp_host:
        notifiers["email"] = SmtpNotifier(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                user=settings.smtp_user,
                password=settings.smtp_password.get_secret_value()
                if settings.smtp_password
                else None,
                starttls=settings.smtp_starttls,
                timeout=settings.smtp_timeout,
            )
        )
    return notifiers


def build_activities(
    config: ConfigSource, notifiers: Mapping[str, Notifier], url: str
) -> list[Any]:
    """The activity callables, bound to their adapters."""
    configs = ConfigActivities(config)
    notify = NotifyActivities(config, notifiers, url)
    return [configs.resolve_step, notify.notify]


def build_worker(
    client: Client,
    settings: Settings,
    config: ConfigSource,
    *,
    notifiers: Mapping[str, Notifier] | None = None,
    task_queue: str | None = None,
) -> Worker:
    """A worker for every Tocsin workflow and activity on the settings' task queue."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(
            config, build_notifiers(settings) if notifiers is None else notifiers, api_url(settings)
        ),
        workflow_runner=workflow_runner(),
        # Waiting pages should not be replayed from scratch on every task.
        max_cached_workflows=2000,
    )
