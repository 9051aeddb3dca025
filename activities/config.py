"""Activities that read the current configuration (the file may change while pages run)."""

from __future__ import annotations

from temporalio import activity

from activities.contacts import contact_label
from activities.ports import ConfigSource
from workflows.config import Person
from workflows.durations import format_duration
from workflows.models import Recipient, ResolveStepInput, ResolveStepResult
from workflows.policy import resolve_targets


def contacts(person: Person, urgency: str) -> list[str]:
    """Low-urgency pages use the person's quieter methods when they listed some."""
    if urgency == "low" and person.low_urgency_contact:
        return person.low_urgency_contact
    return person.contact


class ConfigActivities:
    """Answers questions about the configuration of the moment."""

    def __init__(self, config: ConfigSource) -> None:
        self._config = config

    @activity.defn(name="resolve_step")
    async def resolve_step(self, request: ResolveStepInput) -> ResolveStepResult:
        """Who step ``step_index`` of the team's policy reaches at ``at``, and how long they have."""
        config = self._config.current()
        team = config.teams.get(request.team)
        if team is None:
            return ResolveStepResult(error=f"team {request.team!r} is not in the configuration")
        name = request.policy or team.escalation_policy
        policy = config.escalation_policies.get(name)
        if policy is None:
            return ResolveStepResult(
                error=f"escalation policy {name!r} is not in the configuration"
            )
        result = ResolveStepResult(
            policy=name,
            step_count=len(policy.steps),
            repeat=policy.repeat,
            team_members=list(team.members),
            channel=team.slack_channel,
        )
        if request.step_index >= len(policy.steps):
            return result
        step = policy.steps[request.step_index]
        resolution = resolve_targets(config, step.targets, request.at)
        activity.logger.info(
            "step %d of %s → %s (timeout %s)",
            request.step_index + 1,
            name,
            resolution.people,
            format_duration(step.ack_timeout),
        )
        result.ack_timeout_seconds = step.ack_timeout.total_seconds()
        result.targets = list(step.targets)
        result.unreachable_targets = resolution.empty
        result.recipients = [
            Recipient(
                person=pid,
                name=config.people[pid].name,
                contacts=[contact_label(m) for m in contacts(config.people[pid], request.urgency)],
            )
            for pid in resolution.people
        ]
        return result
