"""Notifications under a worker kill: how many deliveries arrive twice, and how many not at all.

N pages (``--pages``, default 150) are opened at once, a third each for a person reached by
Slack DM, by e-mail and by an Apprise ``json://`` webhook (ten people per channel, each page
to one person, one step with a long ack timeout: nothing escalates). The channels are
loopback receivers in this process that record every arrival and answer ``--latency``
seconds later (a network's round trip: the message has arrived before the sender hears
so): the Slack Web API fake of the tests (``tests/fakes/slack.py``), an aiosmtpd SMTP server,
and an HTTP receiver. ``tocsin worker`` runs as its own OS process against a Temporal dev
server (the virtualenv's ``temporal`` binary, in memory) with its SQLite store in a
throw-away directory; once ``--kill-after`` arrivals are in, it is SIGKILLed and a fresh
worker is started. The notifications that were under way are retried when their activity
times out (30 s); the run ends when every page has its notification on record.

Reported per channel and in all: pages, arrivals, distinct deliveries (one per page),
**duplicates** (arrivals beyond the first of a page) and **lost** (pages with no arrival);
for e-mail also how many duplicates carry the first copy's Message-ID (a mail client shows
those once); and how the restarted worker settled the retried notifications, from its log
(already delivered / found in the channel / sent again).

``--code DIR`` runs the workers from another checkout of Tocsin, e.g. a ``git worktree``
of an older commit, to measure before and after a change with the same script::

    git worktree add /tmp/tocsin-before <commit>
    .venv/bin/python bench/notify_kill.py --code /tmp/tocsin-before
    .venv/bin/python bench/notify_kill.py

Not part of the test run. Usage::

    .venv/bin/python bench/notify_kill.py [--pages 150] [--latency 2] [--kill-after 50]
        [--code DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from common import (
    PAGE_LINE,
    close_server,
    code_version,
    free_ports,
    listen,
    load_average,
    page_of,
    progress,
    serve_http,
    temporal_binary,
)
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the Slack fake lives with the tests, not in the package

from starters.api import TocsinClient  # noqa: E402 - after the path above
from starters.checks import NewPage  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from worker.config import ConfigFile  # noqa: E402
from workflows.search import ALL_KEYS  # noqa: E402

# Each channel's people (and their teams, t-<prefix><n>) by the prefix of their ids.
CHANNELS = {"slack": "s", "email": "m", "webhook": "h"}
PEOPLE_PER_CHANNEL = 10
SENDER = "tocsin@example.com"
WORKER_START_TIMEOUT = 60.0
SETTLE_TIMEOUT = 150.0
# What the restarted worker logs for a retried notification (activities/notify.py).
OUTCOMES = {
    "already delivered": "notification already delivered",
    "found in the channel": "notification found in its channel",
    "sent again": "notification sent again",
}


# -- the channels -------------------------------------------------------------------------------


@dataclass
class Arrivals:
    """Every notification that reached a channel: (channel, page id, Message-ID or None)."""

    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, channel: str, page_id: str, message_id: str | None = None) -> None:
        with self._lock:
            self.seen.append((channel, page_id, message_id))

    def count(self) -> int:
        with self._lock:
            return len(self.seen)


@dataclass
class SlowSmtp:
    """An aiosmtpd handler that records each mail's page and Message-ID, then answers late."""

    arrivals: Arrivals
    latency: float

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = BytesParser(policy=email_policy).parsebytes(envelope.original_content or b"")
        self.arrivals.add("email", str(mail["X-Tocsin-Page"]), mail["Message-ID"])
        await asyncio.sleep(self.latency)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(arrivals: Arrivals, latency: float) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 (its own thread); yields its port."""
    (port,) = free_ports(1)
    controller = Controller(SlowSmtp(arrivals, latency), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def webhook_receiver(arrivals: Arrivals, latency: float) -> AsyncIterator[int]:
    """An HTTP receiver of Apprise ``json://`` posts; yields its port."""

    async def answer(method: str, target: str, body: bytes) -> bytes:
        page = page_of(body)
        if page is not None:
            arrivals.add("webhook", page)
        await asyncio.sleep(latency)
        return b""

    server, port = await listen(lambda r, w: serve_http(r, w, answer), backlog=1000)
    try:
        yield port
    finally:
        await close_server(server)


@contextlib.asynccontextmanager
async def slack_workspace(latency: float) -> AsyncIterator[FakeSlack]:
    """The Slack Web API fake with the Slack people of the config."""
    slack = FakeSlack(post_delay=latency)
    slack.users.update({slack_id(i): f"s{i}" for i in range(PEOPLE_PER_CHANNEL)})
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


def slack_id(i: int) -> str:
    return f"U0S{i:07d}"


def slack_arrivals(slack: FakeSlack, arrivals: Arrivals) -> None:
    """Copy the fake's DMs into ``arrivals`` (its messages carry the page line)."""
    for message in slack.messages:
        match = PAGE_LINE.search(message.text)
        if match:
            arrivals.add("slack", match.group(1))


# -- the worker ---------------------------------------------------------------------------------


def write_config(path: Path, hook_port: int) -> None:
    """Ten people per channel, each with a team and a one-step policy of their own."""
    lines = ["people:"]
    for i in range(PEOPLE_PER_CHANNEL):
        lines += [
            f"  s{i}: {{name: S{i}, slack: {slack_id(i)}, contact: [slack]}}",
            f"  m{i}: {{name: M{i}, email: m{i}@example.com, contact: [email]}}",
            f'  h{i}: {{name: H{i}, contact: ["json://127.0.0.1:{hook_port}/h{i}"]}}',
        ]
    lines.append("teams:")
    lines += [
        f"  t-{p}{i}: {{members: [{p}{i}], escalation_policy: p-{p}{i}}}"
        for p in "smh"
        for i in range(PEOPLE_PER_CHANNEL)
    ]
    lines.append("escalation_policies:")
    lines += [
        f'  p-{p}{i}: {{steps: [{{targets: ["person:{p}{i}"], ack_timeout: 1h}}]}}'
        for p in "smh"
        for i in range(PEOPLE_PER_CHANNEL)
    ]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Worker:
    """``tocsin worker`` as an OS process, run from ``code`` (a Tocsin checkout)."""

    code: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from starters.cli import main; main()", "worker"],
                cwd=self.code,
                env=self.env,
                stdout=out,
                stderr=out,
            )

    async def ready(self, starts: int) -> None:
        """Wait until the log says ``worker started`` ``starts`` times."""
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while self.log.read_text(errors="replace").count('"worker started"') < starts:
            exited = self.process is None or self.process.poll() is not None
            if exited or time.monotonic() > deadline:
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
                raise SystemExit(f"the worker did not start:\n{tail}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(
    code: Path, workdir: Path, address: str, task_queue: str, slack: FakeSlack, smtp_port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "SLACK_"))}
    env.update(
        {
            "PYTHONPATH": str(code),  # ahead of the virtualenv's own (editable) Tocsin
            "TOCSIN_TEMPORAL_ADDRESS": address,
            "TOCSIN_CONFIG": str(workdir / "tocsin.yaml"),
            "TOCSIN_DATA_DIR": str(workdir / "data"),
            "TOCSIN_TASK_QUEUE": task_queue,
            "TOCSIN_LOG_FORMAT": "json",
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.api_url,
            "TOCSIN_SMTP_HOST": "127.0.0.1",
            "TOCSIN_SMTP_PORT": str(smtp_port),
            "TOCSIN_SMTP_FROM": SENDER,
        }
    )
    return env


# -- the run ------------------------------------------------------------------------------------


@dataclass
class ChannelFigures:
    pages: int
    arrivals: int
    distinct: int
    duplicates: int
    lost: int
    same_message_id: int | None = None


@dataclass
class Report:
    code: str
    version: str
    pages: int
    latency: float
    kill_after: int
    arrived_at_kill: int
    seconds: float
    channels: dict[str, ChannelFigures]
    total: ChannelFigures
    restarted_worker: dict[str, int]
    load: str


def figures(
    pages: list[str], seen: list[tuple[str, str, str | None]], *, by_message_id: bool = False
) -> ChannelFigures:
    """One channel's figures; ``by_message_id``: count duplicates that repeat the first
    copy's Message-ID."""
    counts = Counter(page for _, page, _ in seen)
    first_id: dict[str, str | None] = {}
    same = 0
    for _, page, message_id in seen:
        if page not in first_id:
            first_id[page] = message_id
        elif message_id is not None and message_id == first_id[page]:
            same += 1
    arrivals = sum(counts[p] for p in pages)
    distinct = sum(1 for p in pages if counts[p])
    return ChannelFigures(
        pages=len(pages),
        arrivals=arrivals,
        distinct=distinct,
        duplicates=arrivals - distinct,
        lost=len(pages) - distinct,
        same_message_id=same if by_message_id else None,
    )


async def notified(client: Client, workflow_id: str) -> bool:
    """Whether the page's history has notify activities and every one of them has closed
    (read from the history: queries would wait for the killed worker's sticky queue)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled: set[int] = set()
    closed: set[int] = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "notify":
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            closed.add(event.activity_task_completed_event_attributes.scheduled_event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            closed.add(event.activity_task_failed_event_attributes.scheduled_event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            closed.add(event.activity_task_timed_out_event_attributes.scheduled_event_id)
    return bool(scheduled) and scheduled <= closed


async def settle(client: Client, workflow_ids: list[str]) -> None:
    """Wait until every page's notifications have closed (delivered or failed)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    waiting = list(workflow_ids)
    while waiting:
        done = await asyncio.gather(*(notified(client, w) for w in waiting))
        waiting = [w for w, d in zip(waiting, done, strict=True) if not d]
        if waiting and time.monotonic() > deadline:
            raise SystemExit(f"{len(waiting)} pages still notifying after {SETTLE_TIMEOUT:.0f} s")
        if waiting:
            await asyncio.sleep(1.0)


async def run(args: argparse.Namespace, code: Path) -> Report:
    started = time.monotonic()
    arrivals = Arrivals()
    with (
        tempfile.TemporaryDirectory(prefix="tocsin-notify-kill-") as tmp,
        smtp_server(arrivals, args.latency) as smtp_port,
    ):
        workdir = Path(tmp)
        async with (
            webhook_receiver(arrivals, args.latency) as hook_port,
            slack_workspace(args.latency) as slack,
        ):
            write_config(workdir / "tocsin.yaml", hook_port)
            progress("starting the Temporal dev server", started)
            env = await WorkflowEnvironment.start_local(
                data_converter=pydantic_data_converter,
                dev_server_existing_path=temporal_binary(),
                search_attributes=ALL_KEYS,
                ui=False,
                dev_server_log_level="error",
            )
            task_queue = f"notify-kill-{uuid.uuid4()}"
            address = env.client.service_client.config.target_host
            log = workdir / "worker.log"
            environ = worker_env(code, workdir, address, task_queue, slack, smtp_port)
            first, second = Worker(code, environ, log), Worker(code, environ, log)
            try:
                first.start()
                await first.ready(1)
                progress(f"worker up (from {code}); opening {args.pages} pages", started)
                tocsin = TocsinClient(env.client, ConfigFile(workdir / "tocsin.yaml"), task_queue)
                prefixes = list(CHANNELS.values())
                teams = [
                    f"t-{prefixes[i % 3]}{(i // 3) % PEOPLE_PER_CHANNEL}" for i in range(args.pages)
                ]
                pages = [f"kill-{i:04d}" for i in range(args.pages)]
                opening = asyncio.gather(
                    *(
                        tocsin.create_page(
                            NewPage(team=team, summary=f"notify kill {page}", dedup_key=page)
                        )
                        for team, page in zip(teams, pages, strict=True)
                    )
                )
                # polled: mails arrive on the SMTP server's own thread
                while arrivals.count() + len(slack.messages) < args.kill_after:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                first.kill()
                at_kill = arrivals.count() + len(slack.messages)
                progress(f"worker SIGKILLed at {at_kill} arrivals; starting a fresh one", started)
                workflow_ids = [state.workflow_id for state, _ in await opening]
                second.start()
                await second.ready(2)
                progress("waiting for the retried notifications (their 30 s timeout)", started)
                await settle(env.client, workflow_ids)
                await asyncio.sleep(1.0)  # a late duplicate still counts
            finally:
                first.kill()
                second.stop()
                await env.shutdown()
            slack_arrivals(slack, arrivals)
        worker_log = log.read_text(errors="replace")
    by_channel = {
        channel: figures(
            [p for p, t in zip(pages, teams, strict=True) if t.startswith(f"t-{prefix}")],
            [a for a in arrivals.seen if a[0] == channel],
            by_message_id=channel == "email",
        )
        for channel, prefix in CHANNELS.items()
    }
    total = ChannelFigures(
        *(
            sum(getattr(f, name) for f in by_channel.values())
            for name in ("pages", "arrivals", "distinct", "duplicates", "lost")
        )
    )
    return Report(
        code=str(code),
        version=checkout_version(code),
        pages=args.pages,
        latency=args.latency,
        kill_after=args.kill_after,
        arrived_at_kill=at_kill,
        seconds=time.monotonic() - started,
        channels=by_channel,
        total=total,
        restarted_worker={name: worker_log.count(f'"{event}"') for name, event in OUTCOMES.items()},
        load=load_average(),
    )


def checkout_version(code: Path) -> str:
    """The commit of the checkout the workers ran from (``+dirty`` with local changes)."""
    if code == ROOT:
        return code_version()
    try:
        head = subprocess.run(  # noqa: S603 - git, fixed arguments
            ["git", "-C", str(code), "rev-parse", "--short", "HEAD"],  # noqa: S607 - git on PATH
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "-"
    return head


def print_report(report: Report) -> None:
    print(
        f"notify_kill: {report.pages} pages, receivers answer {report.latency:g} s after "
        f"arrival, worker SIGKILLed at {report.arrived_at_kill} arrivals "
        f"(--kill-after {report.kill_after}), then restarted"
    )
    print(f"workers ran {report.code} at {report.version}; load {report.load}")
    header = f"{'channel':<9} {'pages':>5} {'arrivals':>8} {'distinct':>8} {'duplicates':>10} {'lost':>4}"
    print(header)
    rows = [*report.channels.items(), ("all", report.total)]
    for name, f in rows:
        same = (
            f"  ({f.same_message_id} with the first copy's Message-ID)"
            if f.same_message_id is not None and f.duplicates
            else ""
        )
        print(
            f"{name:<9} {f.pages:>5} {f.arrivals:>8} {f.distinct:>8} {f.duplicates:>10} "
            f"{f.lost:>4}{same}"
        )
    outcomes = ", ".join(f"{name} {n}" for name, n in report.restarted_worker.items())
    print(f"retried notifications: {outcomes}")
    print(f"took {report.seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--kill-after", type=int, default=50)
    parser.add_argument("--code", default=str(ROOT), help="the Tocsin checkout workers run from")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 3 <= args.pages <= 3000 or not 0 < args.kill_after < args.pages:
        parser.error("--pages 3..3000 and --kill-after between 1 and --pages - 1")
    report = asyncio.run(run(args, Path(args.code).resolve()))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
