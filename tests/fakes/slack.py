"""A loopback fake of the Slack Web API methods Tocsin calls, served by uvicorn.

slack-sdk POSTs to ``{base_url}{method}``: most methods carry their arguments in the
query string (``params``), ``chat.*`` send a JSON body, and form bodies are accepted too,
so the fake merges all three. Every answer has Slack's shape: HTTP 200 with ``ok: true``
or ``ok: false`` and an ``error`` code; ``429`` with ``Retry-After`` when rate limited.
Point ``SLACK_API_URL`` at :attr:`FakeSlack.api_url`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Params]]


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it (the token is not kept)."""

    method: str
    params: Params


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool
    members: set[str] = field(default_factory=set)
    topic: str = ""
    archived: bool = False
    pins: list[str] = field(default_factory=list)

    def as_slack(self) -> Params:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": FakeSlack.bot_user in self.members,
            "created": 1700000000,
            "creator": FakeSlack.bot_user,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(self.members),
        }


@dataclass
class FakeMessage:
    channel: str
    ts: str
    text: str
    blocks: list[Params]
    # Message metadata as posted (``event_type``, ``event_payload``); None: none.
    metadata: Params | None = None

    def as_slack(self, with_metadata: bool) -> Params:
        """The message as ``conversations.history`` lists it (metadata only when asked for)."""
        found: Params = {
            "type": "message",
            "user": FakeSlack.bot_user,
            "bot_id": "B0TOCSIN",
            "text": self.text,
            "ts": self.ts,
            "blocks": self.blocks,
        }
        if with_metadata and self.metadata is not None:
            found["metadata"] = self.metadata
        return found


@dataclass(frozen=True)
class Injected:
    """A failure answered instead of the method's normal result."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None


class _SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class FakeSlack:
    """One workspace: users, channels, DMs, user groups; failures injected per method."""

    bot_user = "U0TOCSINBOT"

    token: str = "xoxb-fake-token"
    # The app-level token Socket Mode connects with (``apps.connections.open`` takes only it).
    app_token: str = "xapp-fake-token"
    users: dict[str, str] = field(
        default_factory=lambda: {
            "U0ALICE": "alice",
            "U0BOB": "bob",
            "U0CAROL": "carol",
            FakeSlack.bot_user: "tocsin",
        }
    )
    usergroups: dict[str, list[str]] = field(default_factory=lambda: {"S0DELIVERY": []})
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=dict)
    messages: list[FakeMessage] = field(default_factory=list)
    views: list[Params] = field(default_factory=list)
    # Socket Mode: envelopes waiting to go out, and the acks the app sent back.
    socket_acks: list[Params] = field(default_factory=list)
    _outbox: asyncio.Queue[Params] = field(default_factory=asyncio.Queue)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Injected]] = field(default_factory=dict)
    # Seconds chat.postMessage holds its answer after the message is posted (a slow network:
    # the message is in the conversation before the caller hears that it is).
    post_delay: float = 0.0
    port: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _last_ts: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def api_url(self) -> str:
        """The value for ``SLACK_API_URL`` (with its trailing slash, as slack-sdk wants)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_named(self, name: str) -> FakeChannel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def add_channel(self, name: str, private: bool = False) -> FakeChannel:
        """A channel that already exists in the workspace, with the bot in it."""
        channel = FakeChannel(self._new_id("G" if private else "C"), name, private)
        channel.members.add(self.bot_user)
        self.channels[channel.id] = channel
        return channel

    def rate_limit(self, method: str, retry_after: int, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``Retry-After``."""
        self._inject(method, Injected(status=429, retry_after=retry_after), times)

    def error(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``ok: false`` with ``error``."""
        self._inject(method, Injected(error=error), times)

    def server_error(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer a bare HTTP 500."""
        self._inject(method, Injected(status=500), times)

    def reset(self) -> None:
        """A fresh workspace and no recorded calls (the server keeps running)."""
        fresh = FakeSlack()
        for name in ("token", "users", "usergroups", "channels", "dms", "messages", "views"):
            setattr(self, name, getattr(fresh, name))
        self.calls = []
        self.failures = {}
        self.post_delay = 0.0

    def _inject(self, method: str, failure: Injected, times: int) -> None:
        self.failures.setdefault(method, []).extend([failure] * times)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08d}"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = FastAPI()
        app.add_api_route("/api/{method}", self._dispatch, methods=["GET", "POST"])
        app.add_api_websocket_route("/link", self._socket)
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", log_level="warning"
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def _dispatch(self, request: Request, method: str) -> Response:
        params = await _params(request)
        token = params.pop("token", None)
        self.calls.append(Call(method, params))
        expected = self.app_token if method == "apps.connections.open" else self.token
        refused = self._injected(method) or self._unauthorized(request, token, expected)
        if refused is not None:
            return refused
        handler = self._handlers().get(method)
        if handler is None:
            return _fail("unknown_method")
        try:
            result = await handler(params)
        except _SlackError as err:
            return _fail(err.error, **err.extra)
        return JSONResponse({"ok": True, **result})

    def _injected(self, method: str) -> Response | None:
        queued = self.failures.get(method)
        if not queued:
            return None
        injected = queued.pop(0)
        if injected.status == 429:
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(injected.retry_after)},
            )
        if injected.status >= 500:
            return Response("<html>Internal Server Error</html>", 500, media_type="text/html")
        return _fail(injected.error or "fatal_error")

    def _unauthorized(self, request: Request, token: Any, expected: str) -> Response | None:
        """Slack takes the token as a Bearer header (slack-sdk) or a ``token`` field."""
        auth = request.headers.get("authorization", "")
        given = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else token
        if not given:
            return _fail("not_authed")
        if given in (self.token, self.app_token) and given != expected:
            return _fail("not_allowed_token_type")
        if given != expected:
            return _fail("invalid_auth")
        return None

    # -- Socket Mode --------------------------------------------------------------------

    async def socket_send(self, envelope_type: str, payload: Params) -> str:
        """Deliver an envelope to the connected app, as Slack does; returns its id."""
        await asyncio.wait_for(self._connected.wait(), 10)
        envelope_id = f"env-{next(self._ids)}"
        await self._outbox.put(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": envelope_type != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def _connections_open(self, params: Params) -> Params:
        return {"url": f"ws://127.0.0.1:{self.port}/link?ticket={next(self._ids)}"}

    async def _socket(self, websocket: WebSocket) -> None:
        """The Socket Mode link: ``hello``, then envelopes out and acks in."""
        await websocket.accept()
        await websocket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TOCSIN"}}
        )
        self._connected.set()

        async def receive() -> None:
            while True:
                self.socket_acks.append(json.loads(await websocket.receive_text()))

        receiving = asyncio.create_task(receive())
        try:
            while not receiving.done():
                try:
                    envelope = await asyncio.wait_for(self._outbox.get(), 0.1)
                except TimeoutError:
                    continue
                await websocket.send_json(envelope)
        except WebSocketDisconnect:
            pass
        finally:
            receiving.cancel()
            self._connected.clear()

    def _handlers(self) -> dict[str, Handler]:
        return {
            "auth.test": self._auth_test,
            "conversations.create": self._create,
            "conversations.list": self._list,
            "conversations.invite": self._invite,
            "conversations.setTopic": self._set_topic,
            "conversations.archive": self._archive,
            "conversations.open": self._open,
            "conversations.history": self._history,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "views.open": self._open_view,
            "apps.connections.open": self._connections_open,
            "pins.add": self._pin,
            "users.info": self._user_info,
            "usergroups.users.update": self._usergroup_update,
        }

    def _channel(self, params: Params, *, writable: bool = True) -> FakeChannel:
        wanted = str(params.get("channel", ""))
        if wanted in self.users and wanted != self.bot_user:
            # As Slack: a user id as the channel means the app's DM with that user.
            wanted = self._dm(wanted)
        channel = self.channels.get(wanted)
        if channel is None:
            raise _SlackError("channel_not_found")
        if writable and channel.archived:
            raise _SlackError("is_archived")
        return channel

    def _user_ids(self, params: Params, key: str) -> list[str]:
        ids = [u for u in str(params.get(key, "")).split(",") if u]
        if not ids:
            raise _SlackError("no_user")
        if any(u not in self.users for u in ids):
            raise _SlackError("user_not_found")
        return ids

    async def _auth_test(self, params: Params) -> Params:
        return {
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "tocsin",
            "team_id": "T0ACME",
            "user_id": self.bot_user,
            "bot_id": "B0TOCSIN",
        }

    async def _create(self, params: Params) -> Params:
        name = str(params.get("name", ""))
        if not name:
            raise _SlackError("invalid_name_required")
        if len(name) > 80:
            raise _SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME.match(name):
            raise _SlackError("invalid_name_specials")
        if self.channel_named(name) is not None:
            raise _SlackError("name_taken")
        channel = self.add_channel(name, private=_truthy(params.get("is_private")))
        return {"channel": channel.as_slack()}

    async def _list(self, params: Params) -> Params:
        types = str(params.get("types", "public_channel")).split(",")
        wanted = [
            c
            for c in self.channels.values()
            if ("private_channel" if c.is_private else "public_channel") in types
            and not (c.archived and _truthy(params.get("exclude_archived")))
        ]
        limit = min(int(params.get("limit", 100)), 1000)
        cursor = str(params.get("cursor", ""))
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        page = wanted[start : start + limit]
        more = start + limit < len(wanted)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {
            "channels": [c.as_slack() for c in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _invite(self, params: Params) -> Params:
        channel = self._channel(params)
        ids = self._user_ids(params, "users")
        present = [u for u in ids if u in channel.members]
        if present and (len(present) == len(ids) or not _truthy(params.get("force"))):
            errors = [{"user": u, "ok": False, "error": "already_in_channel"} for u in present]
            raise _SlackError("already_in_channel", errors=errors)
        channel.members.update(ids)
        return {"channel": channel.as_slack()}

    async def _set_topic(self, params: Params) -> Params:
        channel = self._channel(params)
        topic = str(params.get("topic", ""))
        if len(topic) > 250:
            raise _SlackError("too_long")
        channel.topic = topic
        return {"channel": channel.as_slack()}

    async def _archive(self, params: Params) -> Params:
        channel = self._channel(params, writable=False)
        if channel.archived:
            raise _SlackError("already_archived")
        channel.archived = True
        return {}

    async def _open(self, params: Params) -> Params:
        (user,) = self._user_ids(params, "users")[:1]
        return {"channel": {"id": self._dm(user)}}

    def _dm(self, user: str) -> str:
        dm = self.dms.setdefault(user, self._new_id("D"))
        if dm not in self.channels:
            self.channels[dm] = FakeChannel(dm, user, True, {user, self.bot_user})
        return dm

    async def _open_view(self, params: Params) -> Params:
        """``views.open``: a modal needs a trigger id (valid for 3 s in Slack) and a view."""
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id"):
            raise _SlackError("invalid_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _SlackError("invalid_arguments")
        opened = {**view, "id": self._new_id("V"), "state": {"values": {}}}
        self.views.append(opened)
        return {"view": opened}

    def _message(self, channel: FakeChannel, ts: str) -> FakeMessage:
        for message in self.messages:
            if message.channel == channel.id and message.ts == ts:
                return message
        raise _SlackError("message_not_found")

    def _new_ts(self) -> str:
        """As Slack: the time of posting in microseconds, unique within the workspace here."""
        micros = max(time.time_ns() // 1000, self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    async def _post(self, params: Params) -> Params:
        channel = self._channel(params)
        if self.bot_user not in channel.members:
            raise _SlackError("not_in_channel")
        text, blocks = str(params.get("text", "")), list(params.get("blocks") or [])
        if not text and not blocks:
            raise _SlackError("no_text")
        metadata = _metadata(params.get("metadata"))
        ts = self._new_ts()
        self.messages.append(FakeMessage(channel.id, ts, text, blocks, metadata))
        if self.post_delay:
            await asyncio.sleep(self.post_delay)
        message = {"type": "message", "user": self.bot_user, "bot_id": "B0TOCSIN", "ts": ts}
        return {"channel": channel.id, "ts": ts, "message": {**message, "text": text}}

    async def _history(self, params: Params) -> Params:
        """``conversations.history``: newest first, between ``oldest`` and ``latest``
        (exclusive unless ``inclusive``), ``limit`` (default 100, at most 999) a page with a
        cursor; metadata only with ``include_all_metadata``."""
        channel = self._channel(params, writable=False)
        if self.bot_user not in channel.members:
            raise _SlackError("not_in_channel")
        try:
            oldest = float(params.get("oldest") or 0)
            latest = float(params.get("latest") or "inf")
            limit = min(int(params.get("limit") or 100), 999)
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        inclusive = _truthy(params.get("inclusive"))

        def within(ts: str) -> bool:
            at = float(ts)
            return oldest <= at <= latest if inclusive else oldest < at < latest

        found = [m for m in reversed(self.messages) if m.channel == channel.id and within(m.ts)]
        cursor = str(params.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        page = found[start : start + limit]
        more = start + limit < len(found)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        with_metadata = _truthy(params.get("include_all_metadata"))
        return {
            "messages": [m.as_slack(with_metadata) for m in page],
            "has_more": more,
            "pin_count": len(channel.pins),
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _update(self, params: Params) -> Params:
        channel = self._channel(params)
        message = self._message(channel, str(params.get("ts", "")))
        message.text = str(params.get("text", message.text))
        # As Slack: blocks left out are kept; an empty list removes them.
        if "blocks" in params:
            message.blocks = list(params.get("blocks") or [])
        return {"channel": channel.id, "ts": message.ts, "text": message.text}

    async def _pin(self, params: Params) -> Params:
        channel = self._channel(params)
        ts = str(params.get("timestamp", ""))
        self._message(channel, ts)
        if ts in channel.pins:
            raise _SlackError("already_pinned")
        channel.pins.append(ts)
        return {}

    async def _user_info(self, params: Params) -> Params:
        user = str(params.get("user", ""))
        if user not in self.users:
            raise _SlackError("user_not_found")
        name = self.users[user]
        return {
            "user": {
                "id": user,
                "team_id": "T0ACME",
                "name": name,
                "real_name": name.title(),
                "deleted": False,
                "is_bot": user == self.bot_user,
                "tz": "Europe/Amsterdam",
                "profile": {"display_name": name, "real_name": name.title()},
            }
        }

    async def _usergroup_update(self, params: Params) -> Params:
        group = str(params.get("usergroup", ""))
        if group not in self.usergroups:
            raise _SlackError("no_such_subteam")
        ids = [u for u in str(params.get("users", "")).split(",") if u]
        if not ids or any(u not in self.users for u in ids):
            raise _SlackError("invalid_users")
        self.usergroups[group] = ids
        return {"usergroup": {"id": group, "users": ids, "user_count": len(ids)}}


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the test owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _params(request: Request) -> Params:
    """Query string, form body and JSON body merged, as Slack accepts them all."""
    params: Params = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if content_type.startswith("application/json"):
        params.update(json.loads(body) if body else {})
    elif content_type.startswith("application/x-www-form-urlencoded"):
        # parsed by hand: starlette's form() needs python-multipart, which we do not ship
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    if isinstance(params.get("blocks"), str):
        params["blocks"] = json.loads(params["blocks"])
    return params


def _metadata(value: Any) -> Params | None:
    """Posted message metadata, checked as Slack does: an ``event_type`` string and an
    ``event_payload`` object (a form body carries it as JSON text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _SlackError("invalid_metadata_format") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise _SlackError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _fail(error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error, **extra})
