"""A notification is sent once: the delivery key, the notify activity over the notification
ledger (confirmed: skipped; a retry not confirmed: the channel asked, else sent again; a
first attempt: sent), the SQL ledger, and Slack DMs retried after a cut-off attempt, on the
Slack fake."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.slack_chat import slack_client
from activities.adapters.slack_notify import EVENT_TYPE, SlackNotifier
from activities.adapters.sql_notifications import PRUNE_EVERY, SqlNotificationLedger
from activities.adapters.sql_schema import notification_deliveries
from activities.adapters.sql_store import SqlStore
from activities.errors import AdapterError, NotConfigured, Rejected, Unavailable
from activities.notify import NotifyActivities, delivery_key
from activities.ports import Message, NotificationLedger, Notifier
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.slack import FakeSlack
from tests.unit.test_notify import API, StaticConfig, notify_input
from tests.unit.test_sql_store import store, url
from workflows.config import Person, TocsinConfig
from workflows.models import NotifyInput, NotifyResult

__all__ = ["store", "url"]  # the SQL store's fixtures, shared with its own tests

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

SLACK_CONFIG = TocsinConfig.model_validate(
    {
        "people": {"alice": {"name": "Alice", "slack": "U0ALICE", "contact": ["slack"]}},
        "teams": {"delivery": {"members": ["alice"], "escalation_policy": "delivery"}},
        "escalation_policies": {
            "delivery": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "10m"}]}
        },
    }
)


@contextmanager
def activity_logs() -> Iterator[list[dict[str, str]]]:
    """The notify activity's log lines (``event``, ``fields``) while the block runs."""
    found: list[dict[str, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(record.args, tuple) and len(record.args) == 2:
                event, fields = record.args
                found.append({"event": str(event), "fields": str(fields)})

    logger = logging.getLogger("temporalio.activity")
    keep, level = Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        yield found
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


@dataclass
class MemoryLedger:
    """The notification ledger in memory (key → where it went); ``failure`` makes every
    call raise it."""

    delivered: dict[str, str] = field(default_factory=dict)
    failure: AdapterError | None = None

    async def delivered_to(self, key: str) -> str | None:
        if self.failure is not None:
            raise self.failure
        return self.delivered.get(key)

    async def confirm_delivery(
        self, key: str, page_id: str, delivered_to: str, at: datetime
    ) -> None:
        if self.failure is not None:
            raise self.failure
        self.delivered.setdefault(key, delivered_to)


@dataclass
class ReadFailingLedger(MemoryLedger):
    """A ledger that can be written but whose reads raise ``failure``."""

    async def delivered_to(self, key: str) -> str | None:
        assert self.failure is not None
        raise self.failure

    async def confirm_delivery(
        self, key: str, page_id: str, delivered_to: str, at: datetime
    ) -> None:
        self.delivered.setdefault(key, delivered_to)


@dataclass
class LookupNotifier(RecordingNotifier):
    """A recording notifier whose channel can be asked: it has what it was sent, plus
    ``arrived`` (keys an earlier, cut-off attempt delivered); ``lookup_failure`` raises."""

    arrived: set[str] = field(default_factory=set)
    lookups: list[datetime] = field(default_factory=list)
    lookup_failure: AdapterError | None = None

    async def find_delivery(
        self, person: Person, address: str, message: Message, since: datetime
    ) -> str | None:
        self.lookups.append(since)
        if self.lookup_failure is not None:
            raise self.lookup_failure
        sent = {s.message.delivery_key for s in self.sent} | self.arrived
        return f"found {address}" if message.delivery_key in sent else None


def environment(
    attempt: int = 1, activity_id: str = "7", run_id: str = "run-1", scheduled: datetime = T0
) -> ActivityEnvironment:
    """An activity environment as Temporal runs attempt ``attempt`` of one notification,
    scheduled at ``scheduled``."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=attempt,
        activity_id=activity_id,
        workflow_run_id=run_id,
        scheduled_time=scheduled,
    )
    return env


def key_of(request: NotifyInput, activity_id: str = "7", run_id: str = "run-1") -> str:
    return delivery_key(request, environment(1, activity_id, run_id).info)


def notify(
    ledger: NotificationLedger | None, config: TocsinConfig | None = None, **notifiers: Notifier
) -> NotifyActivities:
    return NotifyActivities(
        StaticConfig(config) if config else StaticConfig(), notifiers, API, ledger=ledger
    )


def slack_request() -> NotifyInput:
    return notify_input(method="slack", person="alice", person_name="Alice")


class TestDeliveryKey:
    """One key per notification the workflow scheduled, the same on each of its retries."""

    def test_retries_share_the_key(self) -> None:
        """Attempt 1 and attempt 3 of one activity (on any worker) have one key."""
        request = notify_input()
        first = delivery_key(request, environment(attempt=1).info)
        third = delivery_key(request, environment(attempt=3).info)
        assert first == third
        assert len(first) == 32
        assert int(first, 16) >= 0

    @pytest.mark.parametrize(
        ("changes", "activity_id", "run_id"),
        [
            ({"step": 2}, "7", "run-1"),
            ({"person": "bob"}, "7", "run-1"),
            ({"method": "email"}, "7", "run-1"),
            ({"page_id": "other"}, "7", "run-1"),
            ({}, "12", "run-1"),  # a repeat round or a reopened page: a new activity
            ({}, "7", "run-2"),  # the page continued as new
        ],
    )
    def test_other_notifications_have_other_keys(
        self, changes: dict[str, Any], activity_id: str, run_id: str
    ) -> None:
        """Another page, step, person, method or notification of the page: another key."""
        assert key_of(notify_input(**changes), activity_id, run_id) != key_of(notify_input())


class TestNotifyOnce:
    """The notify activity sends what the ledger has not confirmed; a retry asks the
    channel first when it can."""

    async def test_new_delivery_is_sent_and_confirmed(self) -> None:
        """The first attempt sends, with its key in the message, and confirms it."""
        ledger, console = MemoryLedger(), RecordingNotifier()
        request = notify_input()

        result = await environment().run(notify(ledger, console=console).notify, request)

        assert result == NotifyResult(method="console", delivered_to="console")
        [sent] = console.sent
        key = key_of(request)
        assert sent.message.delivery_key == key
        assert ledger.delivered == {key: "console"}

    async def test_confirmed_delivery_is_skipped_on_retry(self) -> None:
        """The worker died after the send was confirmed: the retry sends nothing and
        reports where the first one went."""
        ledger, slack = MemoryLedger(), LookupNotifier()
        acts = notify(ledger, config=SLACK_CONFIG, slack=slack)
        await environment(attempt=1).run(acts.notify, slack_request())

        with activity_logs() as logs:
            result = await environment(attempt=2).run(acts.notify, slack_request())

        assert result == NotifyResult(method="slack", delivered_to="slack")
        assert len(slack.sent) == 1
        assert slack.lookups == []  # the ledger answered: Slack is not asked
        assert [e["event"] for e in logs] == ["notification already delivered"]

    async def test_unconfirmed_delivery_found_in_its_channel(self) -> None:
        """An attempt cut off after the channel took the message: the retry asks the
        channel from when the notification was scheduled, finds it, sends nothing and
        confirms it."""
        key = key_of(slack_request())
        ledger, slack = MemoryLedger(), LookupNotifier(arrived={key})

        with activity_logs() as logs:
            result = await environment(attempt=2).run(
                notify(ledger, config=SLACK_CONFIG, slack=slack).notify, slack_request()
            )

        assert result == NotifyResult(method="slack", delivered_to="found slack")
        assert slack.sent == []
        assert slack.lookups == [T0]
        assert ledger.delivered == {key: "found slack"}
        assert [e["event"] for e in logs] == ["notification found in its channel"]

    async def test_unconfirmed_delivery_not_in_its_channel_is_sent(self) -> None:
        """An attempt cut off before the channel took it: the channel has nothing, so the
        retry sends it (once) and confirms it."""
        key = key_of(slack_request())
        ledger, slack = MemoryLedger(), LookupNotifier()

        result = await environment(attempt=2).run(
            notify(ledger, config=SLACK_CONFIG, slack=slack).notify, slack_request()
        )

        assert result.delivered_to == "slack"
        assert [s.message.delivery_key for s in slack.sent] == [key]
        assert ledger.delivered == {key: "slack"}

    async def test_first_attempt_asks_nothing(self) -> None:
        """Nothing can have gone before attempt 1: it sends without reading the ledger
        (which fails here) or asking Slack, and then confirms."""
        ledger = ReadFailingLedger(failure=Unavailable("must not be read"))
        slack = LookupNotifier()

        with activity_logs() as logs:
            await environment(attempt=1).run(
                notify(ledger, config=SLACK_CONFIG, slack=slack).notify, slack_request()
            )

        assert logs == []
        assert slack.lookups == []
        assert len(slack.sent) == 1
        assert list(ledger.delivered.values()) == ["slack"]

    async def test_unconfirmed_delivery_without_lookup_is_sent_again(self) -> None:
        """A channel that cannot be asked (a webhook) gets it again: at least once."""
        request = notify_input()
        console = RecordingNotifier()

        with activity_logs() as logs:
            await environment(attempt=2).run(
                notify(MemoryLedger(), console=console).notify, request
            )

        assert [s.message.delivery_key for s in console.sent] == [key_of(request)]
        assert [e["event"] for e in logs] == ["notification sent again"]

    async def test_channel_unavailable_for_the_lookup_is_retried(self) -> None:
        """Slack down while asked: a retryable failure, nothing sent or confirmed."""
        ledger = MemoryLedger()
        slack = LookupNotifier(lookup_failure=Unavailable("slack conversations.history: HTTP 500"))

        with pytest.raises(ApplicationError) as raised:
            await environment(attempt=2).run(
                notify(ledger, config=SLACK_CONFIG, slack=slack).notify, slack_request()
            )

        assert raised.value.type == "Unavailable"
        assert not raised.value.non_retryable
        assert slack.sent == []
        assert ledger.delivered == {}

    async def test_channel_that_refuses_the_lookup_gets_it_again(self) -> None:
        """A token without ``im:history`` cannot ask: the page is sent again, not held up."""
        ledger = MemoryLedger()
        slack = LookupNotifier(
            lookup_failure=Rejected("slack conversations.history: missing_scope")
        )

        with activity_logs() as logs:
            await environment(attempt=2).run(
                notify(ledger, config=SLACK_CONFIG, slack=slack).notify, slack_request()
            )

        assert len(slack.sent) == 1
        assert list(ledger.delivered.values()) == ["slack"]
        assert [e["event"] for e in logs] == [
            "notification lookup failed",
            "notification sent again",
        ]
        assert "missing_scope" in logs[0]["fields"]

    async def test_failed_send_is_not_confirmed(self) -> None:
        """A send that fails is not confirmed: its retry asks the channel or sends."""
        ledger = MemoryLedger()
        console = RecordingNotifier(failures={"console": Unavailable("terminal gone")})

        with pytest.raises(ApplicationError):
            await environment().run(notify(ledger, console=console).notify, notify_input())

        assert ledger.delivered == {}

    async def test_ledger_down_does_not_hold_the_page_up(self) -> None:
        """A ledger that fails is logged; the notification is sent all the same."""
        ledger = MemoryLedger(failure=Unavailable("incident log (read notification): down"))
        console = RecordingNotifier()

        with activity_logs() as logs:
            result = await environment(attempt=2).run(
                notify(ledger, console=console).notify, notify_input()
            )

        assert result.delivered_to == "console"
        assert len(console.sent) == 1
        assert [e["event"] for e in logs] == [
            "notification ledger failed: not read",
            "notification sent again",
            "notification ledger failed: delivery unconfirmed",
        ]

    async def test_without_a_ledger_every_attempt_sends(self) -> None:
        """No ledger (a store of a test's own): as before, each attempt sends, unasked."""
        slack = LookupNotifier()
        acts = notify(None, config=SLACK_CONFIG, slack=slack)

        for attempt in (1, 2):
            await environment(attempt=attempt).run(acts.notify, slack_request())

        assert len(slack.sent) == 2
        assert slack.lookups == []


class TestSqlNotificationLedger:
    """Confirmed deliveries by key in the store's database, one row each, for a week."""

    async def test_unknown_then_confirmed(self, store: SqlStore) -> None:
        """An unconfirmed key is None; once confirmed, it says where the delivery went."""
        ledger = SqlNotificationLedger(store)
        assert await ledger.delivered_to("k1") is None

        await ledger.confirm_delivery("k1", "db-down", "slack:U0ALICE", T0)

        assert await ledger.delivered_to("k1") == "slack:U0ALICE"
        assert await ledger.delivered_to("k2") is None

    async def test_first_confirmation_kept(self, store: SqlStore) -> None:
        """Confirming again (two attempts that both sent) keeps the first."""
        ledger = SqlNotificationLedger(store)
        await ledger.confirm_delivery("k1", "db-down", "first", T0)
        await ledger.confirm_delivery("k1", "db-down", "second", T0 + timedelta(seconds=1))

        assert await ledger.delivered_to("k1") == "first"

    async def test_concurrent_confirmations(self, store: SqlStore) -> None:
        """Confirmations of one key at once all succeed, leaving one row."""
        ledger = SqlNotificationLedger(store)

        await asyncio.gather(
            *(ledger.confirm_delivery("k1", "db-down", f"to {n}", T0) for n in range(5))
        )

        async with store.engine.connect() as conn:
            count = select(func.count()).select_from(notification_deliveries)
            assert (await conn.execute(count)).scalar_one() == 1

    async def test_old_rows_pruned(self, store: SqlStore) -> None:
        """Rows older than the window go (checked at most every few minutes)."""
        ledger = SqlNotificationLedger(store, window=timedelta(days=7))
        await ledger.confirm_delivery("old", "p1", "console", T0)
        await ledger.confirm_delivery("new", "p1", "console", T0 + timedelta(days=6))

        later = T0 + timedelta(days=7, seconds=1) + PRUNE_EVERY
        await ledger.confirm_delivery("later", "p1", "console", later)

        assert await ledger.delivered_to("old") is None
        assert await ledger.delivered_to("new") == "console"
        assert await ledger.delivered_to("later") == "console"

    async def test_database_down_is_unavailable(self, tmp_path: Path) -> None:
        """A database that cannot be opened is Unavailable (the activity then sends anyway)."""
        (tmp_path / "file").write_text("")
        ledger = SqlNotificationLedger(SqlStore(f"sqlite+aiosqlite:///{tmp_path}/file/x.db"))

        with pytest.raises(Unavailable, match="incident log"):
            await ledger.delivered_to("k1")

    async def test_activity_over_sql_sends_once(self, store: SqlStore) -> None:
        """Three attempts of one notification over the SQL ledger: one delivery, one row."""
        console = RecordingNotifier()
        acts = notify(SqlNotificationLedger(store), console=console)

        for attempt in (1, 2, 3):
            await environment(attempt=attempt).run(acts.notify, notify_input())

        assert len(console.sent) == 1
        async with store.engine.connect() as conn:
            count = select(func.count()).select_from(notification_deliveries)
            assert (await conn.execute(count)).scalar_one() == 1


@pytest.fixture(scope="module")
async def slack_server() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def fake_slack(slack_server: FakeSlack) -> FakeSlack:
    slack_server.reset()
    return slack_server


def slack_notifier(fake: FakeSlack) -> SlackNotifier:
    client = slack_client(fake.token, fake.api_url)
    assert client is not None
    return SlackNotifier(client)


class TestSlackOnce:
    """Slack DMs carry their delivery key; a retry finds a cut-off attempt's DM."""

    async def test_dm_carries_the_key_as_metadata(self, fake_slack: FakeSlack) -> None:
        """The DM's metadata names the delivery and the page; the history shows it."""
        notifier = slack_notifier(fake_slack)
        message = Message("s", "b", "db-down", "ack", "url", delivery_key="k1")

        await notifier.send(Person(name="Alice", slack="U0ALICE"), "slack", message)

        [posted] = fake_slack.messages
        assert posted.metadata == {
            "event_type": EVENT_TYPE,
            "event_payload": {"delivery_key": "k1", "page_id": "db-down"},
        }
        alice = Person(name="Alice", slack="U0ALICE")
        since = datetime.now(UTC) - timedelta(minutes=1)
        assert await notifier.find_delivery(alice, "slack", message, since) == "slack:U0ALICE"
        other = dataclasses.replace(message, delivery_key="k2")
        assert await notifier.find_delivery(alice, "slack", other, since) is None
        [history] = fake_slack.calls_to("conversations.history")[:1]
        assert history.params["include_all_metadata"] in (True, "1", "true")

    async def test_older_messages_are_not_read(self, fake_slack: FakeSlack) -> None:
        """Only history from a few minutes before the first attempt is read."""
        notifier = slack_notifier(fake_slack)
        message = Message("s", "b", "db-down", "ack", "url", delivery_key="k1")
        alice = Person(name="Alice", slack="U0ALICE")
        await notifier.send(alice, "slack", message)

        later = datetime.now(UTC) + timedelta(hours=1)

        assert await notifier.find_delivery(alice, "slack", message, later) is None

    async def test_history_is_paged(self, fake_slack: FakeSlack) -> None:
        """A DM busier than one page of history is read page by page."""
        notifier = slack_notifier(fake_slack)
        alice = Person(name="Alice", slack="U0ALICE")
        first = Message("s", "b", "db-down", "ack", "url", delivery_key="first")
        await notifier.send(alice, "slack", first)
        for n in range(210):
            await notifier.send(
                alice, "slack", Message("s", "b", "db-down", "ack", "url", delivery_key=f"n{n}")
            )

        since = datetime.now(UTC) - timedelta(minutes=1)

        assert await notifier.find_delivery(alice, "slack", first, since) == "slack:U0ALICE"
        assert len(fake_slack.calls_to("conversations.history")) == 2

    async def test_worker_dies_after_slack_took_the_dm(
        self, fake_slack: FakeSlack, store: SqlStore
    ) -> None:
        """The first attempt is cut off while Slack's answer is on its way (the DM is
        posted); the retry finds it in the DM's history: one DM, one chat.postMessage."""
        fake_slack.post_delay = 2.0
        acts = notify(
            SqlNotificationLedger(store), config=SLACK_CONFIG, slack=slack_notifier(fake_slack)
        )
        now = datetime.now(UTC)
        first = asyncio.create_task(
            environment(attempt=1, scheduled=now).run(acts.notify, slack_request())
        )
        for _ in range(500):  # until the fake has posted the DM (its answer is held)
            if fake_slack.messages:
                break
            await asyncio.sleep(0.01)
        assert fake_slack.messages
        first.cancel()  # the worker died: no answer, no confirmation
        with pytest.raises(asyncio.CancelledError):
            await first
        fake_slack.post_delay = 0.0

        result = await environment(attempt=2, scheduled=now).run(acts.notify, slack_request())

        assert result == NotifyResult(method="slack", delivered_to="slack:U0ALICE")
        assert len(fake_slack.messages) == 1
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        assert len(fake_slack.calls_to("conversations.history")) == 1

    async def test_worker_dies_before_slack_took_it(
        self, fake_slack: FakeSlack, store: SqlStore
    ) -> None:
        """The first attempt never reached Slack (it was down): the retry finds nothing
        in the history and posts the DM, once."""
        fake_slack.server_error("chat.postMessage")
        acts = notify(
            SqlNotificationLedger(store), config=SLACK_CONFIG, slack=slack_notifier(fake_slack)
        )
        now = datetime.now(UTC)
        with pytest.raises(ApplicationError):
            await environment(attempt=1, scheduled=now).run(acts.notify, slack_request())

        await environment(attempt=2, scheduled=now).run(acts.notify, slack_request())
        await environment(attempt=3, scheduled=now).run(acts.notify, slack_request())

        assert len(fake_slack.messages) == 1
        assert len(fake_slack.calls_to("conversations.history")) == 1

    async def test_no_slack_id_is_not_configured(self, fake_slack: FakeSlack) -> None:
        """Asking about a person without a Slack id fails as sending would."""
        notifier = slack_notifier(fake_slack)
        message = Message("s", "b", "db-down", "ack", "url", delivery_key="k1")

        with pytest.raises(NotConfigured, match="Slack user id"):
            await notifier.find_delivery(Person(name="Bob"), "slack", message, T0)
