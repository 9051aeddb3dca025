"""Alert routing: routes, the default route, severities to urgency, and config errors."""

from __future__ import annotations

from typing import Any

import pytest

from worker.config import ConfigError, parse_config
from workflows.config import TocsinConfig
from workflows.routing import NoRoute, destination, route, urgency_for

BASE: dict[str, Any] = {
    "people": {"alice": {"name": "Alice"}, "erik": {"name": "Erik"}},
    "teams": {
        "delivery": {
            "members": ["alice"],
            "escalation_policy": "page",
            "low_urgency_policy": "sla",
        },
        "ops": {"members": ["erik"], "escalation_policy": "page"},
    },
    "escalation_policies": {
        "page": {"steps": [{"targets": ["team:delivery"], "ack_timeout": "10m"}]},
        "sla": {"urgency": "low", "steps": [{"targets": ["team:delivery"], "ack_timeout": "24h"}]},
        "db": {"steps": [{"targets": ["team:ops"], "ack_timeout": "5m"}]},
    },
    "services": {
        "gitserver": {"team": "delivery"},
        "web": {"team": "delivery", "urgency": {"warning": "high", "critical": "high"}},
        "database": {"team": "ops", "escalation_policy": "db"},
    },
    "routes": [
        {"match": {"service": "gitserver"}, "service": "gitserver"},
        {"match_re": {"service": "web|frontend-.*"}, "service": "web"},
        {"match": {"team": "data"}, "match_re": {"alertname": "Postgres.*"}, "service": "database"},
        {"default": True, "team": "ops"},
    ],
}


def config(**changes: Any) -> TocsinConfig:
    return parse_config({**BASE, **changes}, "tocsin.yaml")


def problems(**changes: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config(**changes)
    return info.value.problems


class TestRoute:
    def test_first_match_wins(self) -> None:
        """Equality routes pick the service; its team and policy follow."""
        target = route(config(), {"service": "gitserver", "alertname": "DiskFull"}, "critical")
        assert (target.team, target.service, target.policy, target.urgency) == (
            "delivery",
            "gitserver",
            "page",
            "high",
        )
        assert target.routed

    def test_regex_matches_the_whole_value(self) -> None:
        """match_re is anchored like Alertmanager's =~: 'web' and 'frontend-eu' match, 'webhooks' does not."""
        assert route(config(), {"service": "frontend-eu"}).service == "web"
        assert route(config(), {"service": "web"}).service == "web"
        assert route(config(), {"service": "webhooks"}).service is None

    def test_every_condition_must_hold(self) -> None:
        """A route with match and match_re needs both."""
        assert route(config(), {"team": "data", "alertname": "PostgresDown"}).service == "database"
        assert route(config(), {"team": "data", "alertname": "DiskFull"}).routed is False

    def test_unmatched_goes_to_the_default_route_flagged(self) -> None:
        """Labels no route matches reach the default route's team, marked unrouted."""
        target = route(config(), {"service": "mystery"})
        assert (target.team, target.service, target.routed) == ("ops", None, False)

    def test_no_routes_at_all(self) -> None:
        """Without any route the alert cannot be placed, and says so."""
        with pytest.raises(NoRoute, match="no routes are configured"):
            route(config(routes=[]), {"service": "gitserver"})


class TestUrgency:
    @pytest.mark.parametrize(
        ("severity", "expected"),
        [
            ("critical", "high"),
            ("error", "high"),
            ("warning", "low"),
            ("info", "low"),
            ("CRITICAL", "high"),
            ("bizarre", "high"),
            (None, "high"),
        ],
    )
    def test_default_mapping(self, severity: str | None, expected: str) -> None:
        """Critical and error page people; warning and info do not; unknown severities page."""
        assert urgency_for(config(), "gitserver", severity) == expected

    def test_service_overrides_the_mapping(self) -> None:
        """A service can make warnings page."""
        assert urgency_for(config(), "web", "warning") == "high"

    def test_low_urgency_uses_the_slower_policy(self) -> None:
        """A warning for a delivery service escalates on the team's low-urgency (24 h) policy."""
        target = destination(config(), service="gitserver", severity="warning")
        assert (target.urgency, target.policy) == ("low", "sla")

    def test_low_urgency_without_a_slow_policy_keeps_the_normal_one(self) -> None:
        """A team with no low-urgency policy still gets the page, on its normal policy."""
        target = destination(config(), service="database", severity="warning")
        assert (target.urgency, target.policy) == ("low", "db")


class TestRoutingConfigErrors:
    def test_unknown_names(self) -> None:
        """Routes and services naming unknown services, teams or policies are named by key path."""
        found = problems(
            services={
                "gitserver": {"team": "nope", "escalation_policy": "missing"},
                "web": {"team": "delivery"},
                "database": {"team": "ops"},
            },
            routes=[{"match": {"a": "b"}, "service": "ghost"}, {"default": True, "team": "nobody"}],
        )
        assert "tocsin.yaml: services.gitserver.team: unknown team 'nope'" in found
        assert (
            "tocsin.yaml: services.gitserver.escalation_policy: unknown escalation policy 'missing'"
            in found
        )
        assert "tocsin.yaml: routes.0.service: unknown service 'ghost'" in found
        assert "tocsin.yaml: routes.1.team: unknown team 'nobody'" in found

    @pytest.mark.parametrize(
        "routes",
        [
            [{"match": {"a": "b"}, "team": "ops"}],
            [{"default": True, "team": "ops"}, {"match": {"a": "b"}, "team": "ops"}],
            [{"default": True, "team": "ops"}, {"default": True, "team": "delivery"}],
        ],
    )
    def test_exactly_one_default_route_last(self, routes: list[dict[str, Any]]) -> None:
        """Routes need one default route, in last place."""
        assert problems(routes=routes) == [
            "tocsin.yaml: routes: exactly one route must have default: true, and it must be last"
        ]

    @pytest.mark.parametrize(
        ("route_spec", "message"),
        [
            (
                {"match": {"a": "b"}, "service": "web", "team": "ops"},
                "exactly one of service or team",
            ),
            ({"match": {"a": "b"}}, "exactly one of service or team"),
            ({"team": "ops"}, "needs match or match_re"),
            ({"default": True, "match": {"a": "b"}, "team": "ops"}, "give it no match"),
            (
                {"match_re": {"a": "(unclosed"}, "team": "ops"},
                "invalid regular expression '(unclosed'",
            ),
        ],
    )
    def test_malformed_route(self, route_spec: dict[str, Any], message: str) -> None:
        """A route that cannot work is refused with the reason, at its index."""
        found = problems(routes=[route_spec, {"default": True, "team": "ops"}])
        assert any(p.startswith("tocsin.yaml: routes.0") and message in p for p in found), found

    def test_integration_keys_are_unique(self) -> None:
        """Two owners of one integration key would make events ambiguous."""
        found = problems(
            services={
                **BASE["services"],
                "gitserver": {"team": "delivery", "integration_key": "${K}"},
            },
            teams={
                **BASE["teams"],
                "ops": {
                    "members": ["erik"],
                    "escalation_policy": "page",
                    "integration_key": "${K}",
                },
            },
        )
        assert found == [
            "tocsin.yaml: services.gitserver.integration_key: integration key already used by teams.ops"
        ]
