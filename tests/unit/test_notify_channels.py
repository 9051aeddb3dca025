"""One slow channel delays nobody: each Apprise channel (scheme, host, port) sends on its
own few threads, a send gives up before the activity would, and a receiver slower than
Apprise's 4 s default read timeout is waited for instead of being sent the page again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from activities.adapters.apprise import (
    AppriseNotifier,
    Channels,
    channel_of,
    with_read_timeout,
)
from activities.errors import Unavailable
from activities.ports import Message
from tests.fakes.receiver import Receiver
from workflows.config import Person

ALICE = Person(name="Alice Example", contact=["console"])
MESSAGE = Message(
    subject="[Tocsin] PAGE [delivery] Database is down (step 1/3)",
    body="Alice Example, you are paged for team delivery.\n",
    page_id="db-down",
    ack_command="tocsin page ack db-down --as alice",
    ack_url="http://127.0.0.1:8080/api/pages/db-down/ack",
)


class Hanging:
    """A TCP server that accepts and never answers (a webhook that hangs)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._held.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def hanging() -> AsyncIterator[Hanging]:
    h = Hanging()
    await h.start()
    yield h
    await h.stop()


class TestChannels:
    async def test_a_hanging_endpoint_leaves_others_on_time(
        self, receiver: Receiver, hanging: Hanging
    ) -> None:
        """Forty sends hang on one channel (its threads all held: more than Apprise's own
        process-wide pool has, min(32, CPUs + 4)); a send on another channel still arrives at
        once, and the hung ones give up at the send timeout."""
        notifier = AppriseNotifier({}, Channels(threads=40), send_timeout=1.5)
        stuck = [
            asyncio.create_task(
                notifier.send(ALICE, f"json://127.0.0.1:{hanging.port}/hook{i}", MESSAGE)
            )
            for i in range(40)
        ]
        await asyncio.sleep(0.2)

        started = time.monotonic()
        await notifier.send(ALICE, receiver.url("healthy"), MESSAGE)
        healthy = time.monotonic() - started
        outcomes = await asyncio.gather(*stuck, return_exceptions=True)

        assert healthy < 1.0
        assert [d.path for d in receiver.deliveries] == ["/healthy"]
        assert all(isinstance(o, Unavailable) for o in outcomes)
        assert "no answer within 1.5 s" in str(outcomes[0])
        assert str(hanging.port) in str(outcomes[0])  # the label: scheme, host, port…
        assert "/hook0" not in str(outcomes[0])  # …never the path

    def test_channel_is_scheme_host_and_port(self) -> None:
        assert channel_of("json://user:pw@127.0.0.1:9000/secret?x=1") == "json://127.0.0.1:9000"
        assert channel_of("ntfy://ntfy.sh/topic") == "ntfy://ntfy.sh:"


class TestReadTimeout:
    def test_added_unless_given(self) -> None:
        assert with_read_timeout("json://h:1/p") == "json://h:1/p?rto=15"
        assert with_read_timeout("json://h:1/p?format=text") == "json://h:1/p?format=text&rto=15"
        assert with_read_timeout("json://h:1/p?rto=3") == "json://h:1/p?rto=3"

    async def test_a_slow_receiver_is_waited_for(self, receiver: Receiver) -> None:
        """A receiver answering after 5 s (beyond Apprise's default 4 s) gets the page
        once, and the send succeeds."""
        receiver.delay = 5.0
        notifier = AppriseNotifier({}, send_timeout=10.0)

        await notifier.send(ALICE, receiver.url("slow"), MESSAGE)

        assert [d.path for d in receiver.deliveries] == ["/slow"]
