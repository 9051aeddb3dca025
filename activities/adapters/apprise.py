"""Any Apprise URL (json://, mailto://, ntfy://, …) through the ``apprise`` library.

URLs may reference environment variables as ``${NAME}`` so tokens stay out of the
config file; they are expanded here, at send time, and never logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import apprise

from activities.contacts import contact_label
from activities.errors import NotConfigured, Rejected, Unavailable
from activities.ports import Message
from workflows.config import Person
from workflows.envref import MissingVariable
from workflows.envref import expand as expand_references


def expand(url: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` with the environment's value.

    Raises:
        NotConfigured: a referenced variable is not set.
    """
    try:
        return expand_references(url, environ)
    except MissingVariable as err:
        raise NotConfigured(str(err)) from None


# Each channel (scheme, host and port of a URL) gets its own threads: a hanging
# endpoint holds its own, never the ones other people's notifications go through.
CHANNEL_THREADS = 64
# A send gives up before the notify activity's timeout (30 s), so the activity can fail
# over to the person's next contact method instead of timing out itself.
SEND_TIMEOUT = 20.0
# Apprise's own read timeout is 4 s: a receiver slower than that got each notification
# again on every retry. Unless the URL says otherwise (?rto=), wait longer.
READ_TIMEOUT = 15


def channel_of(url: str) -> str:
    """``json://127.0.0.1:9000``: what a channel's threads are keyed by (no credentials,
    no path: never logged either way)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}"


def with_read_timeout(url: str, seconds: int = READ_TIMEOUT) -> str:
    """``url`` with Apprise's ``rto`` (read timeout) unless it sets one."""
    parts = urlsplit(url)
    if any(key == "rto" for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    query = f"{parts.query}&rto={seconds}" if parts.query else f"rto={seconds}"
    return urlunsplit(parts._replace(query=query))


class Channels:
    """A small thread pool per channel, made on first use."""

    def __init__(self, threads: int = CHANNEL_THREADS) -> None:
        self._threads = threads
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def pool(self, channel: str) -> ThreadPoolExecutor:
        with self._lock:
            found = self._pools.get(channel)
            if found is None:
                found = ThreadPoolExecutor(self._threads, thread_name_prefix="notify")
                self._pools[channel] = found
            return found


# Parsing a URL into Apprise's plugin costs ~0.6 ms of CPU: each sending thread keeps the
# ones it has parsed (its own, as Apprise's plugin objects are not shared between threads).
PARSED_PER_THREAD = 64
_parsed = threading.local()
# Apprise (2.x) runs every send that has a deadline (its service_timeout, 60 s by default)
# on one process-wide pool of min(32, CPUs + 4) threads, whichever thread calls it: a few
# hanging endpoints held that pool and every channel waited behind them. Without a
# service_timeout it sends in the calling thread, the channel's own; the send timeout
# above and the read timeout (rto) bound it instead.
_ASSET = apprise.AppriseAsset(service_timeout=0)


def _sender(target: str) -> apprise.Apprise | None:
    """This thread's Apprise for ``target`` (None: not a valid Apprise URL)."""
    cache: OrderedDict[str, apprise.Apprise] | None = getattr(_parsed, "senders", None)
    if cache is None:
        cache = _parsed.senders = OrderedDict()
    sender = cache.get(target)
    if sender is not None:
        cache.move_to_end(target)
        return sender
    sender = apprise.Apprise(asset=_ASSET)
    if not sender.add(target):
        return None
    cache[target] = sender
    if len(cache) > PARSED_PER_THREAD:
        cache.popitem(last=False)
    return sender


def _deliver(target: str, message: Message) -> tuple[bool, list[str]] | None:
    """Send in this thread; what Apprise logged of a failure (None: invalid URL)."""
    sender = _sender(target)
    if sender is None:
        return None
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]  # apprise leaves LogCapture unannotated
        ok = bool(sender.notify(body=message.body, title=message.subject))
        reason = captured.getvalue().strip().splitlines()[-1:] if not ok else []
    return ok, reason


class AppriseNotifier:
    """Delivers through Apprise; failures carry Apprise's reason with the URL redacted."""

    def __init__(
        self,
        environ: Mapping[str, str],
        channels: Channels | None = None,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self._environ = environ
        self._channels = channels or Channels()
        self._send_timeout = send_timeout

    async def send(self, person: Person, address: str, message: Message) -> str:
        url = expand(address, self._environ)
        label = contact_label(address)
        target = with_read_timeout(url)
        pool = self._channels.pool(channel_of(url))
        sending = asyncio.get_running_loop().run_in_executor(pool, _deliver, target, message)
        try:
            sent = await asyncio.wait_for(asyncio.shield(sending), self._send_timeout)
        except TimeoutError:
            raise Unavailable(f"{label}: no answer within {self._send_timeout:g} s") from None
        if sent is None:
            raise Rejected(f"{label} is not a valid Apprise URL")
        ok, reason = sent
        if not ok:
            detail = reason[0].split(" - ", 2)[-1] if reason else "delivery failed"
            raise Unavailable(f"{label}: {detail.replace(target, label).replace(url, label)}")
        return label
