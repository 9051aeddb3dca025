"""Rollback by dispatching a GitHub Actions workflow (``workflow_dispatch``) with PyGithub.

PyGithub is synchronous, so each dispatch runs in a thread. GitHub refuses inputs the
workflow does not declare (422 "Unexpected inputs provided"), so the workflow's
``on.workflow_dispatch.inputs`` must declare ``incident``, ``service``, ``by`` and
``choice`` besides the inputs named in the config.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import PurePosixPath

import requests
from github import Auth, Github, GithubException

from activities.errors import NotConfigured, RateLimited, Rejected, Unavailable
from workflows.incident_config import GithubRollback, Rollback
from workflows.models import RollbackRequest, RollbackResult

DEFAULT_API_URL = "https://api.github.com"
TOCSIN_INPUTS = ("incident", "service", "by", "choice")
# GitHub asks clients to wait a minute when a rate limit response says nothing more.
_DEFAULT_RETRY_AFTER = 60.0


def dispatch_inputs(spec: GithubRollback, request: RollbackRequest) -> dict[str, str]:
    """The configured inputs plus what the rollback is about (ours win on a clash)."""
    return {
        **spec.inputs,
        "incident": request.incident_id,
        "service": request.service,
        "by": request.by,
        "choice": request.choice,
    }


def rate_limit_wait(status: int, headers: dict[str, str], now: float) -> float | None:
    """Seconds to wait if the response is a rate limit, else ``None``.

    GitHub signals rate limits with 403 or 429 and either ``Retry-After`` (secondary
    limits) or ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset`` (epoch seconds).
    """
    if status not in (403, 429):
        return None
    if "retry-after" in headers:
        try:
            return max(float(headers["retry-after"]), 0.0)
        except ValueError:
            return _DEFAULT_RETRY_AFTER
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(float(headers["x-ratelimit-reset"]) - now, 0.0)
        except (KeyError, ValueError):
            return _DEFAULT_RETRY_AFTER
    return _DEFAULT_RETRY_AFTER if status == 429 else None


class GithubRunner:
    """Dispatches ``spec.workflow`` on ``spec.ref`` of ``spec.repo``."""

    def __init__(
        self, token: str | None, base_url: str = DEFAULT_API_URL, timeout: int = 15
    ) -> None:
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    async def run(self, spec: Rollback, request: RollbackRequest) -> RollbackResult:
        if not isinstance(spec, GithubRollback):
            raise Rejected(f"the GitHub runner cannot run a {spec.kind} rollback")
        if not self._token:
            raise NotConfigured("GITHUB_TOKEN is not set")
        return await asyncio.to_thread(self._dispatch, self._token, spec, request)

    def _dispatch(
        self, token: str, spec: GithubRollback, request: RollbackRequest
    ) -> RollbackResult:
        # No retries inside PyGithub (its default sleeps through rate limits for up to an
        # hour) and no client-side throttling: Temporal's retry policy owns waiting.
        with Github(
            auth=Auth.Token(token),
            base_url=self._base_url,
            timeout=self._timeout,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        ) as gh:
            step = f"repository {spec.repo}"
            try:
                repo = gh.get_repo(spec.repo)
                step = f"workflow {spec.workflow} in {spec.repo}"
                workflow = repo.get_workflow(spec.workflow)
                step = f"dispatch of {spec.workflow} on {spec.ref}"
                workflow.create_dispatch(
                    ref=spec.ref, inputs=dispatch_inputs(spec, request), throw=True
                )
            except GithubException as err:
                return _refused(err, step)
            except requests.Timeout:
                raise Unavailable(f"GitHub timed out ({step})") from None
            except requests.RequestException as err:
                raise Unavailable(f"GitHub unreachable ({step}): {type(err).__name__}") from None
            # The repository's html_url is right for github.com and Enterprise alike; the
            # workflow's own html_url points at its YAML file, not at its runs.
            return RollbackResult(
                ok=True,
                runner="github",
                summary=f"dispatched {workflow.name} on {spec.repo}@{spec.ref}",
                url=f"{repo.html_url}/actions/workflows/{PurePosixPath(workflow.path).name}",
            )


def _refused(err: GithubException, step: str) -> RollbackResult:
    """A failed GitHub call as a result, or raised when retrying may help."""
    status = err.status
    message = err.message or (err.data.get("message") if isinstance(err.data, dict) else None)
    wait = rate_limit_wait(status, err.headers or {}, time.time())
    if wait is not None:
        raise RateLimited(f"GitHub rate limit ({step}); retry in {wait:.0f}s", wait)
    if status >= 500:
        raise Unavailable(f"GitHub answered {status} ({step})")
    if status == 404:
        summary = f"{step} not found (or the token cannot see it)"
    elif status == 401:
        summary = f"GitHub rejected the token (401) for {step}"
    elif status == 403:
        summary = f"GitHub refused {step} (403): the token lacks access or actions: write"
    else:
        summary = f"GitHub refused {step} ({status})"
    if message and status != 404:
        summary += f": {message}"
    if message and "unexpected inputs" in message.lower():
        summary += f" (the workflow must declare inputs {', '.join(TOCSIN_INPUTS)})"
    return RollbackResult(ok=False, runner="github", summary=summary, output=message or "")
