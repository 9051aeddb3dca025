"""Alert payloads as real sources send them: Alertmanager v4 and PagerDuty Events v2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from starters.alertmanager import (
    AmWebhook,
    group_page_key,
    group_summary,
    highest_severity,
    routing_labels,
    to_alerts,
)
from starters.events import Event, event_page_key, to_alert
from workflows.config import TocsinConfig
from workflows.models import Alert
from workflows.page_alerts import page_severity
from workflows.routing import urgencies

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures"


def sample(name: str) -> AmWebhook:
    return AmWebhook.model_validate(
        json.loads((SAMPLES / f"alertmanager-0.25-{name}.json").read_text())
    )


# From PagerDuty's Events API v2 documentation (trigger with every optional field).
PD_TRIGGER: dict[str, Any] = {
    "payload": {
        "summary": "DISK at 99% on machine prod-datapipe03.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": "samplekeyhere",
    "dedup_key": "samplekeyhere",
    "images": [
        {
            "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "href": "https://example.com/",
            "alt": "Example text",
        }
    ],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.service.com",
}


class TestAlertmanagerPayload:
    def test_real_samples_parse(self) -> None:
        """The three bodies captured from Alertmanager 0.25 validate as webhook v4."""
        firing, joined, resolved = (
            sample("firing-2-alerts"),
            sample("firing-3rd-alert-joins"),
            sample("resolved"),
        )
        assert [len(p.alerts) for p in (firing, joined, resolved)] == [2, 3, 3]
        assert resolved.status == "resolved"

    def test_one_page_key_per_group(self) -> None:
        """Every delivery of one group maps to the same page; another receiver to another page."""
        keys = {
            group_page_key(p.receiver, p.groupKey)
            for p in map(sample, ["firing-2-alerts", "firing-3rd-alert-joins", "resolved"])
        }
        assert len(keys) == 1
        [key] = keys
        assert key.startswith("am-")
        assert group_page_key("other-receiver", sample("resolved").groupKey) != key

    def test_alerts_carry_what_a_responder_needs(self) -> None:
        """Each alert keeps its fingerprint, summary, severity, labels and link; zero end time is none."""
        alerts = to_alerts(sample("firing-2-alerts"))
        assert [a.fingerprint for a in alerts] == ["d4f1100f5eb150ad", "2120dd3b517aa3a4"]
        assert alerts[0].summary == "disk full on gitserver-0"
        assert alerts[0].severity == "critical"
        assert alerts[0].labels["instance"] == "gitserver-0"
        assert alerts[0].annotations["runbook_url"] == "https://example.com/runbooks/disk-full"
        assert alerts[0].source_url == "http://prometheus.example:9090/graph?g0.expr=disk"
        assert alerts[0].ends_at is None
        assert all(
            a.status == "resolved" and a.ends_at is not None for a in to_alerts(sample("resolved"))
        )

    def test_group_summary(self) -> None:
        """A one-alert group is named by its summary; a larger one by its group labels."""
        assert group_summary(sample("firing-2-alerts")) == "DiskFull (service=gitserver)"
        single = sample("firing-2-alerts").model_copy(
            update={"alerts": sample("firing-2-alerts").alerts[:1]}
        )
        assert group_summary(single) == "disk full on gitserver-0"

    def test_routing_labels_are_shared_by_the_group(self) -> None:
        """Routing sees the common and group labels, not one alert's instance."""
        labels = routing_labels(sample("firing-2-alerts"))
        assert labels == {"alertname": "DiskFull", "service": "gitserver", "severity": "critical"}

    @pytest.mark.parametrize(
        ("severities", "expected"),
        [
            (["warning", "critical"], "critical"),
            (["info", None], "info"),
            ([None], None),
            (["weird", "warning"], "warning"),
        ],
    )
    def test_highest_severity(self, severities: list[str | None], expected: str | None) -> None:
        """The page takes the most severe severity of its firing alerts."""
        assert highest_severity(severities) == expected

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda d: d.update(version="3"),
            lambda d: d.pop("groupKey"),
            lambda d: d.update(alerts=[]),
            lambda d: d["alerts"][0].pop("fingerprint"),
            lambda d: d["alerts"][0].update(status="pending"),
            lambda d: d["alerts"][0].update(startsAt="yesterday"),
        ],
    )
    def test_wrong_schema_is_refused(self, mutate: Any) -> None:
        """A body that is not Alertmanager's v4 shape does not validate."""
        data = json.loads((SAMPLES / "alertmanager-0.25-firing-2-alerts.json").read_text())
        mutate(data)
        with pytest.raises(ValidationError):
            AmWebhook.model_validate(data)


class TestEventsPayload:
    def test_documented_trigger_parses(self) -> None:
        """PagerDuty's own example trigger becomes one firing alert with links, images and details."""
        event = Event.model_validate(PD_TRIGGER)
        alert = to_alert(event, "samplekeyhere")
        assert alert.status == "firing"
        assert alert.summary.startswith("DISK at 99%")
        assert alert.severity == "critical"
        assert alert.labels == {
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
        }
        assert alert.details == {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
        assert {"href": "https://example.com/", "text": "Link text"} in alert.links
        assert {"href": "https://example.com/", "text": "Example text"} in alert.links
        assert alert.source_url == "https://monitoring.service.com"

    def test_resolve_and_acknowledge_need_only_the_dedup_key(self) -> None:
        """Acknowledge and resolve events carry no payload, just the key of what they act on."""
        for action in ("acknowledge", "resolve"):
            event = Event.model_validate(
                {"routing_key": "k", "event_action": action, "dedup_key": "d"}
            )
            assert event.payload is None
        assert (
            to_alert(
                Event.model_validate(
                    {"routing_key": "k", "event_action": "resolve", "dedup_key": "d"}
                ),
                "d",
            ).status
            == "resolved"
        )

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"routing_key": "k", "event_action": "trigger"}, "'payload' is required"),
            ({"routing_key": "k", "event_action": "resolve"}, "'dedup_key' is required"),
            ({"event_action": "trigger", "payload": PD_TRIGGER["payload"]}, "routing_key"),
            ({"routing_key": "k", "event_action": "explode", "dedup_key": "d"}, "event_action"),
            (
                {
                    "routing_key": "k",
                    "event_action": "trigger",
                    "payload": {**PD_TRIGGER["payload"], "severity": "fatal"},
                },
                "severity",
            ),
            (
                {
                    "routing_key": "k",
                    "event_action": "trigger",
                    "payload": {"summary": "s", "severity": "info"},
                },
                "source",
            ),
        ],
    )
    def test_invalid_events_name_the_problem(self, body: dict[str, Any], fragment: str) -> None:
        """An invalid event fails validation with a message naming the field at fault."""
        with pytest.raises(ValidationError) as info:
            Event.model_validate(body)
        assert fragment in str(info.value)

    def test_page_key_is_scoped_to_the_integration(self) -> None:
        """The same dedup key from two services is two pages; from one service, one page."""
        assert event_page_key("gitserver", "abc") == event_page_key("gitserver", "abc")
        assert event_page_key("gitserver", "abc") != event_page_key("web", "abc")


def _alert(
    fingerprint: str, severity: str | None, status: Literal["firing", "resolved"] = "firing"
) -> Alert:
    return Alert(fingerprint=fingerprint, status=status, summary=fingerprint, severity=severity)


class TestPageSeverity:
    """A page's severity is the most severe of its firing alerts after each delivery."""

    @pytest.mark.parametrize(
        ("current", "held", "batch", "expected"),
        [
            # A more severe alert raises it.
            ("warning", [("a", "warning"), ("b", "critical")], [("b", "critical")], "critical"),
            # A less severe re-trigger of the critical alert lowers it to what fires now.
            ("critical", [("a", "warning"), ("b", "info")], [("b", "info")], "warning"),
            # A less severe alert beside a critical one that still fires keeps critical.
            ("critical", [("a", "critical"), ("b", "info")], [("b", "info")], "critical"),
            # Nothing fires any more: the last severity stays.
            ("critical", [], [], "critical"),
            # No alert has a severity: none.
            (None, [("a", None)], [("a", None)], None),
        ],
    )
    def test_follows_the_firing_alerts(
        self,
        current: str | None,
        held: list[tuple[str, str | None]],
        batch: list[tuple[str, str | None]],
        expected: str | None,
    ) -> None:
        alerts = [_alert(f, s) for f, s in held]
        incoming = [_alert(f, s) for f, s in batch]
        assert page_severity(current, alerts, incoming) == expected

    def test_resolving_the_most_severe_lowers_it(self) -> None:
        alerts = [_alert("a", "critical", "resolved"), _alert("b", "warning")]
        assert page_severity("critical", alerts, [alerts[0]]) == "warning"


class TestUrgencies:
    def test_service_overrides_and_defaults(self) -> None:
        """Every named severity's urgency for a service, as urgency_for decides it."""
        config = TocsinConfig.model_validate(
            {
                "people": {"alice": {"name": "Alice"}},
                "teams": {"ops": {"members": ["alice"], "escalation_policy": "ops"}},
                "escalation_policies": {
                    "ops": {"steps": [{"targets": ["person:alice"], "ack_timeout": "5m"}]}
                },
                "services": {"git": {"team": "ops", "urgency": {"warning": "high"}}},
            }
        )
        mapping = urgencies(config, "git")
        assert (mapping["critical"], mapping["warning"], mapping["info"]) == ("high", "high", "low")
        assert urgencies(config, None)["warning"] == "low"
