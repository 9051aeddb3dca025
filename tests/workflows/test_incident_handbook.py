"""IncidentWorkflow does what the handbooks say (issue 17 item 6), on the time-skipping
server: who decides the rollback, one rollback at a time, a second one confirmed; the
title, description and summary edited; notes from anyone in the incident, status updates
from the lead or the messenger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from starters.errors import Rejected
from tests.conftest import start_time_skipping
from tests.workflows.test_incident import CONFIG, Desk, open_desk
from workflows.chat_models import IncidentCard
from workflows.ids import incident_workflow_id
from workflows.incident import IncidentWorkflow
from workflows.incident_models import (
    DeclareRequest,
    IncidentEdit,
    IncidentState,
    NoteInput,
    ResolveInput,
    RoleInput,
    RollbackDecision,
    UpdateInput,
)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A fresh time-skipping server per test (incidents are long-lived workflows)."""
    env = await start_time_skipping()
    try:
        async for opened in open_desk(env, tmp_path, CONFIG):
            yield opened
    finally:
        await env.shutdown()


async def led_by_alice(desk: Desk) -> IncidentState:
    state = await desk.declare(service="search")
    await desk.incidents.assign_lead(state.id, RoleInput(person="alice", by="alice"))
    return state


class TestWhoDecidesTheRollback:
    async def test_the_lead_decides_once_there_is_one(self, desk: Desk) -> None:
        """With a lead, nobody else may decide on the rollback; the lead may."""
        state = await led_by_alice(desk)
        with pytest.raises(Rejected, match=r"only the incident lead \(alice\) may decide"):
            await desk.incidents.decide_rollback(
                state.id, RollbackDecision(choice="roll_back", by="bob")
            )
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="not_now", by="alice")
        )
        state = await desk.incidents.get(state.id)
        assert (state.rollback.decision, state.rollback.decided_by) == ("not_now", "alice")
        assert desk.runner.calls == []

    async def test_anyone_who_may_lead_decides_while_nobody_leads(self, desk: Desk) -> None:
        """Without a lead a responder decides; someone outside the incident's teams may not."""
        state = await desk.declare(service="search")
        with pytest.raises(Rejected, match="jo may not decide on the rollback"):
            await desk.incidents.decide_rollback(
                state.id, RollbackDecision(choice="roll_back", by="jo")
            )
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        assert [c.by for c in desk.runner.calls] == ["alice"]


class TestOneRollbackAtATime:
    async def test_two_decisions_at_once_run_one_rollback(self, desk: Desk) -> None:
        """Two 'roll back' at the same moment: one runs, the other is refused; while it
        runs, every further decision is refused too."""
        desk.runner.gate = asyncio.Event()
        state = await led_by_alice(desk)
        decide = [
            desk.incidents.decide_rollback(state.id, RollbackDecision(choice=choice, by="alice"))
            for choice in ("roll_back", "revert")
        ]
        answers = await asyncio.gather(*decide, return_exceptions=True)
        refused = [a for a in answers if isinstance(a, Exception)]
        assert len(refused) == 1, answers
        assert "a rollback is running" in str(refused[0])
        await desk.settled(state.id, lambda s: s.rollback.running)
        with pytest.raises(Rejected, match="a rollback is running"):
            await desk.incidents.decide_rollback(
                state.id, RollbackDecision(choice="not_now", by="alice")
            )
        desk.runner.gate.set()
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        assert len(desk.runner.calls) == 1
        assert not state.rollback.running

    async def test_a_decided_rollback_is_carried_over_a_continue_as_new(self, desk: Desk) -> None:
        """A rollback decided as the incident continued as new runs in the next run, once."""
        state = await led_by_alice(desk)
        state = await desk.settled(state.id, lambda s: s.channel is not None)
        carried = state.model_copy(deep=True)
        carried.rollback.decision = "roll_back"
        carried.rollback.decided_by = "alice"
        carried.rollback.requested = True
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        await handle.terminate("replaced by a run that carries a decided rollback")
        incident = desk.incidents.incident_input(
            DeclareRequest(title=state.title, severity="critical", service="search", by="bob")
        )
        run = incident.model_copy(
            update={"id": state.id, "number": state.number, "carried": carried}
        )
        await desk.env.client.start_workflow(
            IncidentWorkflow.run,
            run,
            id=incident_workflow_id(state.id),
            task_queue=desk.task_queue,
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        assert [c.choice for c in desk.runner.calls] == ["roll_back"]
        assert not state.rollback.requested


class TestRollingBackAgain:
    async def test_a_second_roll_back_after_a_success_needs_confirming(self, desk: Desk) -> None:
        """After a rollback succeeded, rolling back again is refused until confirmed; 'not
        now' never needs it."""
        state = await led_by_alice(desk)
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.succeeded_at is not None)
        assert state.rollback.succeeded_by == "alice"
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="not_now", by="alice")
        )
        for choice in ("roll_back", "revert"):
            with pytest.raises(Rejected, match=r"already rolled back successfully.*confirm"):
                await desk.incidents.decide_rollback(
                    state.id, RollbackDecision(choice=choice, by="alice")
                )
        assert len(desk.runner.calls) == 1
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="revert", confirm=True, by="alice")
        )
        state = await desk.settled(state.id, lambda s: s.rollback.result is not None)
        assert [c.choice for c in desk.runner.calls] == ["roll_back", "revert"]

    async def test_after_a_failed_rollback_trying_again_needs_no_confirming(
        self, desk: Desk
    ) -> None:
        """A rollback that failed may be tried again at once."""
        desk.runner.ok = False
        state = await led_by_alice(desk)
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        await desk.settled(state.id, lambda s: s.rollback.result is not None)
        desk.runner.ok = True
        await desk.incidents.decide_rollback(
            state.id, RollbackDecision(choice="roll_back", by="alice")
        )
        state = await desk.settled(
            state.id, lambda s: s.rollback.result is not None and s.rollback.result.ok
        )
        assert len(desk.runner.calls) == 2


class TestEditing:
    async def test_title_description_and_summary_are_kept_up_to_date(self, desk: Desk) -> None:
        """A responder edits the title, description and summary: the timeline, the channel,
        its card and topic, the incident log and the workflow's memo (incident lists) follow."""
        state = await led_by_alice(desk)
        state = await desk.settled(state.id, lambda s: s.card_ref is not None)
        state = await desk.incidents.edit(
            state.id,
            IncidentEdit(
                title="Search returns no results",
                summary="Index rebuild from 09:40 is empty; rolling back the indexer",
                by="bob",
            ),
        )
        assert state.title == "Search returns no results"
        assert (state.summary_by, state.description) == ("bob", None)
        edited = [(e.kind, e.text, e.by) for e in state.timeline if e.kind in ("edited", "summary")]
        assert edited == [
            ("edited", "Title: Search is down → Search returns no results", "bob"),
            (
                "summary",
                "Summary: Index rebuild from 09:40 is empty; rolling back the indexer",
                "bob",
            ),
        ]
        channel = state.channel or ""
        await desk.heard(channel, "bob changed the title to: Search returns no results")
        await desk.heard(channel, "Summary from bob: Index rebuild from 09:40 is empty")
        for _ in range(250):
            row = desk.store.rows.get(state.id)
            if row is not None and row.title == state.title:
                break
            await asyncio.sleep(0.02)
        assert row is not None
        assert row.title == "Search returns no results"
        handle = desk.env.client.get_workflow_handle(incident_workflow_id(state.id))
        assert (await (await handle.describe()).memo())["title"] == "Search returns no results"
        for _ in range(250):
            topics = [t for c, t in desk.chat.topics if c == channel]
            if topics and topics[-1].endswith("Search returns no results"):
                break
            await asyncio.sleep(0.02)
        assert topics[-1].endswith("Search returns no results")
        card = desk.chat.cards[state.card_ref or ""]
        assert isinstance(card, IncidentCard)
        assert card.title == "Search returns no results"

        state = await desk.incidents.edit(
            state.id, IncidentEdit(description="Search API answers 200 with no hits", by="alice")
        )
        cleared = await desk.incidents.edit(state.id, IncidentEdit(summary="", by="alice"))
        assert cleared.description == "Search API answers 200 with no hits"
        assert cleared.summary is None
        assert cleared.timeline[-2].text == "Summary cleared"

    async def test_only_responders_edit_and_only_a_change(self, desk: Desk) -> None:
        """Someone outside the incident's teams may not edit it; an edit that changes
        nothing is refused; a closed incident is not edited."""
        state = await desk.declare(severity="minor")
        with pytest.raises(Rejected, match="jo may not edit"):
            await desk.incidents.edit(state.id, IncidentEdit(summary="x", by="jo"))
        with pytest.raises(Rejected, match="nothing to change"):
            await desk.incidents.edit(state.id, IncidentEdit(title=state.title, by="bob"))
        await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="ok", by="bob")
        )
        handle = desk.env.client.get_workflow_handle_for(
            IncidentWorkflow.run, incident_workflow_id(state.id)
        )
        await handle.result()
        with pytest.raises(Rejected, match="is closed"):
            await desk.incidents.edit(state.id, IncidentEdit(summary="late", by="bob"))


class TestNotesAndUpdates:
    async def test_anyone_in_the_incident_adds_notes_until_it_closes(self, desk: Desk) -> None:
        """A responder's note goes to the timeline and the channel and leaves the update
        clock alone; someone outside the incident may not add one; after resolution notes
        still come (the postmortem reads them)."""
        state = await led_by_alice(desk)
        due = (await desk.incidents.get(state.id)).update_due
        state = await desk.incidents.add_note(
            state.id, NoteInput(text="Error rate dropped after the CDN purge", by="bob")
        )
        assert [(e.kind, e.text, e.by) for e in state.timeline if e.kind == "note"] == [
            ("note", "Error rate dropped after the CDN purge", "bob")
        ]
        assert state.updates == []
        assert state.update_due == due
        await desk.heard(state.channel or "", "Note from bob: Error rate dropped after the CDN")
        with pytest.raises(Rejected, match="jo may not add a note"):
            await desk.incidents.add_note(state.id, NoteInput(text="hi", by="jo"))
        await desk.incidents.resolve(
            state.id, ResolveInput(resolution="fixed", summary="purged", by="alice")
        )
        state = await desk.incidents.add_note(
            state.id, NoteInput(text="The purge job had been disabled since May", by="alice")
        )
        assert state.timeline[-2].text == "The purge job had been disabled since May"

    async def test_status_updates_are_the_leads_or_the_messengers(self, desk: Desk) -> None:
        """With a lead, an update from anyone but the lead or the messenger is their note,
        marked as such: the lead is still reminded; the lead's and the messenger's reset it."""
        state = await led_by_alice(desk)
        await desk.incidents.assign_messenger(state.id, RoleInput(person="hana", by="hana"))
        await desk.env.sleep(timedelta(minutes=10))
        state = await desk.incidents.post_update(
            state.id, UpdateInput(text="I think it is the CDN", by="bob")
        )
        assert state.updates == []
        assert (state.timeline[-2].kind, state.timeline[-2].by) == ("note", "bob")
        await desk.heard(
            state.channel or "",
            "Note from bob (not a status update: those come from alice or hana): I think it is",
        )
        await desk.env.sleep(timedelta(minutes=5, seconds=10))
        state = await desk.settled(state.id, lambda s: s.reminders == 1)
        await desk.incidents.post_update(
            state.id, UpdateInput(text="Customers told on the status page", by="hana")
        )
        state = await desk.incidents.post_update(
            state.id, UpdateInput(text="Purging the CDN", by="alice")
        )
        assert [(u.by, u.text) for u in state.updates] == [
            ("hana", "Customers told on the status page"),
            ("alice", "Purging the CDN"),
        ]
        assert state.reminders == 0
        with pytest.raises(Rejected, match="jo may not add a note"):
            await desk.incidents.post_update(state.id, UpdateInput(text="hi", by="jo"))
