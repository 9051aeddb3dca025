"""``/incident`` and the incident card: builders, parsing, and listeners with fakes.

The listeners are called directly (as bolt would, by argument name) with fake ``ack``,
``respond`` and ``client`` callables and a stub Tocsin client: no Slack, no Temporal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from slack_bolt.async_app import AsyncApp

from activities.adapters.slack_blocks import incident_commands as blocks
from starters.api import TocsinClient
from starters.errors import Rejected
from starters.slack.context import NOT_IN_CONFIG, SlackContext
from starters.slack.incidents import (
    incident_for_channel,
    mentioned_user,
    register,
)
from workflows.actors import Acted
from workflows.config import TocsinConfig
from workflows.incident_models import (
    CommsConfirmation,
    DeclareRequest,
    FollowUpRequest,
    IncidentEdit,
    IncidentState,
    IncidentStatus,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    RollbackOutcome,
    RollbackState,
    UpdateInput,
)
from workflows.models import RollbackResult

Listener = Callable[..., Awaitable[None]]

CONFIG = TocsinConfig.model_validate(
    {
        "people": {
            "alice": {"name": "Alice", "slack": "U0ALICE"},
            "bob": {"name": "Bob", "slack": "U0BOB"},
            "carol": {"name": "Carol"},
        },
        "teams": {"delivery": {"members": ["alice", "bob"], "escalation_policy": "delivery"}},
        "escalation_policies": {
            "delivery": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "5m"}]}
        },
        "services": {"checkout": {"team": "delivery"}},
    }
)


class StaticConfig:
    def current(self) -> TocsinConfig:
        return CONFIG


def state(**changes: Any) -> IncidentState:
    base = IncidentState(
        id="INC-42",
        title="checkout is down",
        severity="critical",
        team="delivery",
        declared_by="alice",
        declared_at=datetime(2025, 1, 1, tzinfo=UTC),
        channel="#inc-42-checkout-is-down",
    )
    return base.model_copy(update=changes)


class StubTocsin:
    """The incident methods of TocsinClient, recording calls; ``refuse`` makes them reject."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.refuse: str | None = None
        # What get_incident answers (the rollback buttons look before rolling back again).
        self.current = state()

    def _check(self) -> None:
        if self.refuse is not None:
            raise Rejected(self.refuse)

    async def declare_incident(
        self, request: DeclareRequest, idempotency_key: str
    ) -> tuple[IncidentState, bool]:
        self.calls.append(("declare", (request, idempotency_key)))
        self._check()
        return state(title=request.title, severity=request.severity or "major"), True

    async def get_incident(self, incident_id: str) -> IncidentState:
        return self.current

    async def _act(self, name: str, incident_id: str, action: Any) -> IncidentState:
        self.calls.append((name, (incident_id, action)))
        self._check()
        return state()

    async def assign_lead(self, incident_id: str, role: RoleInput) -> IncidentState:
        await self._act("assign_lead", incident_id, role)
        return state(lead=role.person)

    async def assign_messenger(self, incident_id: str, role: RoleInput) -> IncidentState:
        return await self._act("assign_messenger", incident_id, role)

    async def assign_resolution_owner(self, incident_id: str, role: RoleInput) -> IncidentState:
        return await self._act("assign_resolution_owner", incident_id, role)

    async def report_rollback_outcome(
        self, incident_id: str, outcome: RollbackOutcome
    ) -> IncidentState:
        return await self._act("report_rollback_outcome", incident_id, outcome)

    async def decide_rollback(self, incident_id: str, decision: RollbackDecision) -> IncidentState:
        await self._act("decide_rollback", incident_id, decision)
        return state(rollback=RollbackState(decision=decision.choice, decided_by=decision.by))

    async def post_update(self, incident_id: str, update: UpdateInput) -> IncidentState:
        return await self._act("post_update", incident_id, update)

    async def resolve_incident(self, incident_id: str, resolution: ResolveInput) -> IncidentState:
        return await self._act("resolve_incident", incident_id, resolution)

    async def add_followup(self, incident_id: str, request: FollowUpRequest) -> IncidentState:
        return await self._act("add_followup", incident_id, request)

    async def confirm_customer_comms(
        self, incident_id: str, confirmation: CommsConfirmation
    ) -> IncidentState:
        return await self._act("confirm_customer_comms", incident_id, confirmation)

    async def add_note(self, incident_id: str, note: NoteInput) -> IncidentState:
        return await self._act("add_note", incident_id, note)

    async def edit_incident(self, incident_id: str, edit: IncidentEdit) -> IncidentState:
        return await self._act("edit_incident", incident_id, edit)

    async def change_incident_severity(
        self, incident_id: str, severity: str, actor: Acted
    ) -> IncidentState:
        self.calls.append(("severity", (incident_id, severity, actor)))
        self._check()
        return state(severity=severity)


class FakeApp:
    """Records what ``register`` attaches, by command / callback id / action id."""

    def __init__(self) -> None:
        self.listeners: dict[str, Listener] = {}

    def _on(self, key: str) -> Callable[[Listener], Listener]:
        def attach(func: Listener) -> Listener:
            self.listeners[key] = func
            return func

        return attach

    command = view = action = _on


class Recorder:
    """A fake ``ack`` / ``respond``: an awaitable callable recording its keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, text: str | None = None, **kwargs: Any) -> None:
        if text is not None:
            kwargs["text"] = text
        self.calls.append(kwargs)


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def views_open(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("views.open", kwargs))
        return {"ok": True}

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True}


class Harness:
    def __init__(self) -> None:
        self.tocsin = StubTocsin()
        ctx = SlackContext(tocsin=cast(TocsinClient, self.tocsin), config=StaticConfig())
        self.app = FakeApp()
        register(cast(AsyncApp, self.app), ctx)
        self.ack = Recorder()
        self.respond = Recorder()
        self.client = FakeClient()

    async def command(self, text: str, user: str = "U0ALICE", channel: str = "general") -> None:
        command = {
            "command": "/incident",
            "text": text,
            "user_id": user,
            "channel_name": channel,
            "channel_id": "C0CHAN",
            "trigger_id": "1337.42.abc",
        }
        await self.app.listeners["/incident"](
            ack=self.ack, command=command, respond=self.respond, client=self.client
        )

    async def press(self, action_id: str, value: str, user: str = "U0ALICE") -> None:
        body = {
            "type": "block_actions",
            "user": {"id": user},
            "actions": [{"action_id": action_id, "value": value}],
        }
        await self.app.listeners[action_id](ack=self.ack, body=body, respond=self.respond)

    async def submit(self, values: dict[str, Any], user: str = "U0ALICE") -> None:
        view = {"id": "V0VIEW", "callback_id": "incident_declare", "state": {"values": values}}
        body = {"type": "view_submission", "user": {"id": user}, "view": view}
        await self.app.listeners["incident_declare"](
            ack=self.ack, body=body, view=view, client=self.client
        )


@pytest.fixture
def h() -> Harness:
    return Harness()


# --- builders -------------------------------------------------------------------------


def test_card_shows_headline_roles_rollback_and_buttons() -> None:
    card = blocks.card(
        state(lead="alice", rollback=RollbackState(decision="revert", decided_by="bob"))
    )
    assert card[0]["text"]["text"] == "*INC-42 · critical · checkout is down*"
    fields = " ".join(f["text"] for f in card[1]["fields"])
    assert "*Lead:* alice" in fields
    assert "*Messenger:* nobody yet" in fields
    assert "*Rollback:* Revert (by bob)" in fields
    buttons = card[-1]["elements"]
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in buttons] == [
        ("incident_take_lead", "Take lead", "INC-42"),
        ("incident_rollback", "Roll back", "INC-42:roll_back"),
        ("incident_rollback", "Revert", "INC-42:revert"),
        ("incident_rollback", "Not now", "INC-42:not_now"),
        ("incident_resolve", "Resolve", "INC-42"),
    ]


def test_card_asks_whether_the_rollback_resolved_it() -> None:
    """Once a rollback ran (and until the incident is resolved) the card answers "did the
    rollback resolve it?"; not while it runs."""
    ran = RollbackState(
        decision="roll_back",
        decided_by="bob",
        result=RollbackResult(ok=True, runner="command", summary="exited 0"),
    )
    card = blocks.card(state(rollback=ran))
    outcome = next(b for b in card if b.get("block_id") == "incident_rollback_outcome:INC-42")
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in outcome["elements"]] == [
        ("incident_rollback_outcome", "Rollback resolved it", "INC-42:yes"),
        ("incident_rollback_outcome", "It did not", "INC-42:no"),
    ]
    for shown in (state(), state(rollback=ran.model_copy(update={"running": True}))):
        assert all(
            not str(b.get("block_id", "")).startswith("incident_rollback_outcome")
            for b in blocks.card(shown)
        )


def test_resolved_card_has_no_buttons() -> None:
    card = blocks.card(
        state(
            status=IncidentStatus.resolved,
            resolution="fixed",
            resolved_by="alice",
            resolution_summary="ok",
        )
    )
    assert all(b["type"] != "actions" for b in card)
    assert any("Resolved (fixed)" in b.get("text", {}).get("text", "") for b in card)


def test_declare_modal_fields() -> None:
    modal = blocks.declare_modal(["critical", "major"], ["checkout", "api"], default="major")
    assert modal["callback_id"] == "incident_declare"
    ids = [b["block_id"] for b in modal["blocks"]]
    assert ids == ["title", "description", "severity", "service", "flags"]
    severity = modal["blocks"][2]["element"]
    assert [o["value"] for o in severity["options"]] == ["critical", "major"]
    assert severity["initial_option"]["value"] == "major"
    assert modal["blocks"][3]["optional"] is True
    flags = [o["value"] for o in modal["blocks"][4]["element"]["options"]]
    assert flags == ["customer_impact", "security"]
    assert "service" not in [b["block_id"] for b in blocks.declare_modal(["x"], [])["blocks"]]


def test_usage_lists_subcommands() -> None:
    text = blocks.usage()
    for sub in (
        "lead",
        "messenger",
        "owner",
        "rollback",
        "update",
        "note",
        "summary",
        "severity",
        "resolve",
        "followup",
    ):
        assert f"/incident {sub}" in text


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "user"),
    [("<@U0BOB|bob>", "U0BOB"), ("<@U0BOB>", "U0BOB"), (" <@W123|x> ", "W123"), ("@bob", None)],
)
def test_mentioned_user(text: str, user: str | None) -> None:
    assert mentioned_user(text) == user


@pytest.mark.parametrize(
    ("name", "incident"),
    [
        ("inc-42-checkout-is-down", "INC-42"),
        ("inc-7", "INC-7"),
        ("#inc-42-x-2", "INC-42"),
        ("general", None),
        ("incidents", None),
        (None, None),
    ],
)
def test_incident_for_channel(name: str | None, incident: str | None) -> None:
    assert incident_for_channel(name) == incident


# --- slash command --------------------------------------------------------------------


async def test_declare_by_title(h: Harness) -> None:
    await h.command("checkout is down")
    assert h.ack.calls == [{}]
    [(name, (request, key))] = h.tocsin.calls
    assert name == "declare"
    assert request.title == "checkout is down"
    assert request.by == "alice"
    assert request.severity is None  # the config's default
    assert key == "slack:1337.42.abc"
    [answer] = h.respond.calls
    assert "INC-42" in answer["text"]
    assert "#inc-42-checkout-is-down" in answer["text"]


async def test_no_text_opens_the_modal(h: Harness) -> None:
    await h.command("")
    assert h.ack.calls == [{}]
    [(method, kwargs)] = h.client.calls
    assert method == "views.open"
    assert kwargs["trigger_id"] == "1337.42.abc"
    assert kwargs["view"]["callback_id"] == "incident_declare"
    assert h.tocsin.calls == []


async def test_view_submission_declares(h: Harness) -> None:
    await h.submit(
        {
            "title": {"title": {"type": "plain_text_input", "value": "payments slow"}},
            "description": {"description": {"type": "plain_text_input", "value": None}},
            "severity": {"severity": {"selected_option": {"value": "major"}}},
            "service": {"service": {"selected_option": {"value": "checkout"}}},
            "flags": {"flags": {"selected_options": [{"value": "customer_impact"}]}},
        }
    )
    assert h.ack.calls == [{}]
    [(_, (request, key))] = h.tocsin.calls
    assert request == DeclareRequest(
        title="payments slow",
        severity="major",
        service="checkout",
        customer_impact=True,
        by="alice",
        via="slack U0ALICE",
    )
    assert key == "slack:V0VIEW"
    [(method, kwargs)] = h.client.calls
    assert method == "chat.postMessage"
    assert kwargs["channel"] == "U0ALICE"
    assert "INC-42" in kwargs["text"]


async def test_view_submission_with_unknown_severity_shows_errors(h: Harness) -> None:
    await h.submit(
        {
            "title": {"title": {"value": "payments slow"}},
            "severity": {"severity": {"selected_option": {"value": "apocalyptic"}}},
        }
    )
    [ack] = h.ack.calls
    assert ack["response_action"] == "errors"
    assert "apocalyptic" in ack["errors"]["severity"]
    assert h.tocsin.calls == []


async def test_lead_by_mention_maps_the_slack_user(h: Harness) -> None:
    await h.command("lead <@U0BOB|bob>", channel="inc-42-checkout-is-down")
    assert h.ack.calls == [{}]
    assert h.tocsin.calls == [
        ("assign_lead", ("INC-42", RoleInput(person="bob", by="alice", via="slack U0ALICE")))
    ]
    [answer] = h.respond.calls
    assert answer["response_type"] == "ephemeral"


async def test_update_severity_and_resolve_in_channel(h: Harness) -> None:
    channel = "inc-42-checkout-is-down"
    await h.command("update rolled back, watching", channel=channel)
    await h.command("severity major", channel=channel)
    await h.command("resolve rolled_back deploy 1234 reverted", channel=channel)
    await h.command("resolve", channel=channel)
    assert h.tocsin.calls == [
        (
            "post_update",
            ("INC-42", UpdateInput(text="rolled back, watching", by="alice", via="slack U0ALICE")),
        ),
        ("severity", ("INC-42", "major", Acted(by="alice", via="slack U0ALICE"))),
        (
            "resolve_incident",
            (
                "INC-42",
                ResolveInput(
                    resolution="rolled_back",
                    summary="deploy 1234 reverted",
                    by="alice",
                    via="slack U0ALICE",
                ),
            ),
        ),
        (
            "resolve_incident",
            (
                "INC-42",
                ResolveInput(
                    resolution="fixed",
                    summary="Resolved from Slack",
                    by="alice",
                    via="slack U0ALICE",
                ),
            ),
        ),
    ]


async def test_unknown_user_gets_not_in_config_and_nothing_happens(h: Harness) -> None:
    await h.command("checkout is down", user="U0STRANGER")
    await h.command("lead <@U0BOB>", user="U0STRANGER", channel="inc-42-x")
    assert h.ack.calls == [{"text": NOT_IN_CONFIG}, {"text": NOT_IN_CONFIG}]
    assert h.tocsin.calls == []
    assert h.client.calls == []


async def test_mention_of_someone_not_in_config_is_refused(h: Harness) -> None:
    await h.command("lead <@U0NOBODY|nobody>", channel="inc-42-x")
    [ack] = h.ack.calls
    assert "not in Tocsin's config" in ack["text"]
    assert h.tocsin.calls == []


async def test_subcommand_outside_an_incident_channel_explains(h: Harness) -> None:
    await h.command("lead <@U0BOB>", channel="general")
    [ack] = h.ack.calls
    assert "incident's channel" in ack["text"]
    assert h.tocsin.calls == []


async def test_unknown_subcommand_answers_usage(h: Harness) -> None:
    await h.command("frobnicate now", channel="inc-42-x")
    await h.command("help")
    assert all(blocks.usage() in call["text"] for call in h.ack.calls)
    assert len(h.ack.calls) == 2
    assert h.tocsin.calls == []


async def test_followup_opens_an_issue_or_links_one(h: Harness) -> None:
    await h.command("followup Alert on queue depth", channel="inc-42-x")
    await h.command(
        "followup <https://github.com/acme/shop/issues/7|acme/shop#7>", channel="inc-42-x"
    )
    await h.command("followup", channel="inc-42-x")
    assert [c[0] for c in h.tocsin.calls] == ["add_followup", "add_followup"]
    first, second = (c[1] for c in h.tocsin.calls)
    assert first[1] == FollowUpRequest(
        title="Alert on queue depth", by="alice", via="slack U0ALICE"
    )
    assert second[1] == FollowUpRequest(
        issue_url="https://github.com/acme/shop/issues/7", by="alice", via="slack U0ALICE"
    )
    assert "Usage: `/incident followup" in h.ack.calls[-1]["text"]


async def test_comms_confirms_customer_communication(h: Harness) -> None:
    await h.command("comms status page updated", channel="inc-42-x")
    [(method, (incident_id, action))] = h.tocsin.calls
    assert (incident_id, method) == ("INC-42", "confirm_customer_comms")
    assert action == CommsConfirmation(by="alice", via="slack U0ALICE", note="status page updated")


async def test_owner_and_the_rollback_in_channel(h: Harness) -> None:
    """``owner @user`` names the resolution owner; ``rollback yes|no`` answers whether the
    rollback resolved it; ``rollback <choice> [confirm]`` decides."""
    channel = "inc-42-checkout-is-down"
    await h.command("owner <@U0BOB|bob>", channel=channel)
    await h.command("rollback no", channel=channel)
    await h.command("rollback Yes", channel=channel)
    await h.command("rollback revert", channel=channel)
    await h.command("rollback roll_back confirm", channel=channel)
    via = {"by": "alice", "via": "slack U0ALICE"}
    assert h.tocsin.calls == [
        ("assign_resolution_owner", ("INC-42", RoleInput(person="bob", **via))),
        ("report_rollback_outcome", ("INC-42", RollbackOutcome(resolved=False, **via))),
        ("report_rollback_outcome", ("INC-42", RollbackOutcome(resolved=True, **via))),
        ("decide_rollback", ("INC-42", RollbackDecision(choice="revert", **via))),
        (
            "decide_rollback",
            ("INC-42", RollbackDecision(choice="roll_back", confirm=True, **via)),
        ),
    ]
    for wrong in ("rollback", "rollback maybe", "rollback roll_back now"):
        await h.command(wrong, channel=channel)
        assert "Usage: `/incident rollback roll_back|revert|not_now`" in h.ack.calls[-1]["text"]
    assert len(h.tocsin.calls) == 5


async def test_note_adds_to_the_timeline(h: Harness) -> None:
    await h.command("note CDN purge at 10:05 &gt; errors dropped", channel="inc-42-x")
    await h.command("note", channel="inc-42-x")
    assert h.tocsin.calls == [
        (
            "add_note",
            (
                "INC-42",
                NoteInput(
                    text="CDN purge at 10:05 > errors dropped", by="alice", via="slack U0ALICE"
                ),
            ),
        )
    ]
    assert h.ack.calls[-1] == {"text": "Usage: `/incident note <text>`"}


async def test_title_description_and_summary_are_edited_in_channel(h: Harness) -> None:
    channel = "inc-42-checkout-is-down"
    await h.command("summary Payments fail for EU cards &amp; we are rolling back", channel=channel)
    await h.command("title Checkout fails for EU cards", channel=channel)
    await h.command("description Card payments via <@U0BOB|bob>'s gateway", channel=channel)
    await h.command("summary", channel=channel)
    via = {"by": "alice", "via": "slack U0ALICE"}
    assert h.tocsin.calls == [
        (
            "edit_incident",
            (
                "INC-42",
                IncidentEdit(summary="Payments fail for EU cards & we are rolling back", **via),
            ),
        ),
        ("edit_incident", ("INC-42", IncidentEdit(title="Checkout fails for EU cards", **via))),
        (
            "edit_incident",
            ("INC-42", IncidentEdit(description="Card payments via @bob's gateway", **via)),
        ),
    ]
    assert h.ack.calls[-1] == {"text": "Usage: `/incident summary <text>`"}


# --- buttons --------------------------------------------------------------------------


async def test_take_lead_acts_as_the_mapped_person_and_replaces_the_card(h: Harness) -> None:
    await h.press("incident_take_lead", "INC-42", user="U0BOB")
    assert h.ack.calls == [{}]
    assert h.tocsin.calls == [
        ("assign_lead", ("INC-42", RoleInput(person="bob", by="bob", via="slack U0BOB")))
    ]
    [answer] = h.respond.calls
    assert answer["replace_original"] is True
    assert answer["blocks"] == blocks.card(state(lead="bob"))


async def test_rollback_and_resolve_buttons(h: Harness) -> None:
    await h.press("incident_rollback", "INC-42:revert")
    await h.press("incident_resolve", "INC-42")
    assert h.tocsin.calls == [
        (
            "decide_rollback",
            ("INC-42", RollbackDecision(choice="revert", by="alice", via="slack U0ALICE")),
        ),
        (
            "resolve_incident",
            (
                "INC-42",
                ResolveInput(
                    resolution="fixed",
                    summary="Resolved from Slack",
                    by="alice",
                    via="slack U0ALICE",
                ),
            ),
        ),
    ]
    assert all(call["replace_original"] is True for call in h.respond.calls)


async def test_rolling_back_again_asks_first_then_confirms(h: Harness) -> None:
    """After a rollback succeeded, Roll back answers with a confirmation (nothing sent); its
    button sends the decision confirmed. Not now is never asked about."""
    h.tocsin.current = state(
        service="checkout",
        rollback=RollbackState(
            decision="roll_back",
            succeeded_at=datetime(2025, 1, 1, 10, 2, tzinfo=UTC),
            succeeded_by="bob",
        ),
    )
    await h.press("incident_rollback", "INC-42:roll_back")
    assert h.tocsin.calls == []
    [asked] = h.respond.calls
    assert asked["response_type"] == "ephemeral"
    assert asked["replace_original"] is False
    section = asked["blocks"][0]["text"]["text"]
    assert section == (
        "`checkout` was already rolled back successfully at 10:02 UTC (decided by bob). "
        "Roll back again?"
    )
    [again] = asked["blocks"][1]["elements"]
    assert (again["action_id"], again["text"]["text"], again["value"]) == (
        "incident_rollback",
        "Roll back again",
        "INC-42:roll_back:confirm",
    )

    await h.press("incident_rollback", again["value"])
    await h.press("incident_rollback", "INC-42:not_now")
    assert h.tocsin.calls == [
        (
            "decide_rollback",
            (
                "INC-42",
                RollbackDecision(choice="roll_back", confirm=True, by="alice", via="slack U0ALICE"),
            ),
        ),
        (
            "decide_rollback",
            ("INC-42", RollbackDecision(choice="not_now", by="alice", via="slack U0ALICE")),
        ),
    ]


async def test_rollback_outcome_buttons(h: Harness) -> None:
    await h.press("incident_rollback_outcome", "INC-42:no", user="U0BOB")
    await h.press("incident_rollback_outcome", "INC-42:yes")
    assert h.tocsin.calls == [
        (
            "report_rollback_outcome",
            ("INC-42", RollbackOutcome(resolved=False, by="bob", via="slack U0BOB")),
        ),
        (
            "report_rollback_outcome",
            ("INC-42", RollbackOutcome(resolved=True, by="alice", via="slack U0ALICE")),
        ),
    ]
    assert all(call["replace_original"] is True for call in h.respond.calls)


async def test_rejected_button_explains_ephemerally(h: Harness) -> None:
    h.tocsin.refuse = "only the lead can decide the rollback"
    await h.press("incident_rollback", "INC-42:roll_back", user="U0BOB")
    assert h.ack.calls == [{}]
    [answer] = h.respond.calls
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert "only the lead can decide the rollback" in answer["text"]


async def test_button_by_unknown_user_does_nothing(h: Harness) -> None:
    await h.press("incident_take_lead", "INC-42", user="U0STRANGER")
    assert h.tocsin.calls == []
    assert h.respond.calls == [
        {"response_type": "ephemeral", "replace_original": False, "text": NOT_IN_CONFIG}
    ]
