"""Incident log maths and formats: times to acknowledge/resolve, MTTA/MTTR, tables, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from starters.incident_log import (
    NO_SERVICE,
    LogRow,
    human_duration,
    log_csv,
    log_text,
    parse_when,
    report,
    report_text,
    time_to_acknowledge,
    time_to_resolve,
)
from workflows.incident_models import IncidentRecord, IncidentStatus

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


def incident(
    number: int,
    severity: str = "critical",
    service: str | None = "gitserver",
    ack: float | None = None,
    fix: float | None = None,
    resolution: str | None = None,
) -> IncidentRecord:
    """An incident declared at T0, acknowledged after ``ack`` and resolved after ``fix`` minutes."""
    return IncidentRecord.model_validate(
        {
            "id": f"INC-{number}",
            "number": number,
            "title": f"Incident {number}",
            "severity": severity,
            "status": IncidentStatus.resolved if fix is not None else IncidentStatus.active,
            "service": service,
            "team": "delivery",
            "declared_by": "bob",
            "lead": "alice" if ack is not None else None,
            "declared_at": T0,
            "acknowledged_at": None if ack is None else T0 + timedelta(minutes=ack),
            "resolved_at": None if fix is None else T0 + timedelta(minutes=fix),
            "resolution": resolution or ("fixed" if fix is not None else None),
        }
    )


class TestRowDurations:
    def test_acknowledge_and_resolve(self) -> None:
        """Both durations run from the declaration."""
        r = incident(1, ack=4, fix=90)

        assert time_to_acknowledge(r) == timedelta(minutes=4)
        assert time_to_resolve(r) == timedelta(minutes=90)
        row = LogRow.of(r)
        assert (row.time_to_acknowledge_seconds, row.time_to_resolve_seconds) == (240.0, 5400.0)

    def test_open_incident_has_none(self) -> None:
        """Until they happen, the durations are None."""
        row = LogRow.of(incident(1))

        assert row.time_to_acknowledge_seconds is None
        assert row.time_to_resolve_seconds is None

    def test_ack_before_declaration_is_zero(self) -> None:
        """A page acknowledged just before it was promoted counts as acknowledged at once."""
        assert time_to_acknowledge(incident(1, ack=-2)) == timedelta(0)


class TestReport:
    RECORDS = (
        incident(1, ack=2, fix=30),
        incident(2, ack=4, fix=90),
        incident(3, ack=12, fix=60),
        incident(
            4, severity="minor", service="database", ack=10, fix=15, resolution="false_positive"
        ),
        incident(5, severity="minor", service=None),
    )

    def test_overall(self) -> None:
        """MTTA over every acknowledged incident; MTTR leaves the false positive out."""
        total = report(self.RECORDS).total

        assert (total.incidents, total.false_positives) == (5, 1)
        assert total.mtta.count == 4
        assert total.mtta.median_seconds == 7 * 60  # 2, 4, 10, 12 minutes
        assert total.mtta.mean_seconds == 7 * 60
        assert total.mttr.count == 3
        assert total.mttr.median_seconds == 60 * 60  # 30, 60, 90 minutes
        assert total.mttr.mean_seconds == 60 * 60

    def test_per_severity(self) -> None:
        """Each severity gets its own counts and durations, sorted by name."""
        groups = {g.key: g for g in report(self.RECORDS).by_severity}

        assert list(groups) == ["critical", "minor"]
        assert groups["critical"].mtta.median_seconds == 4 * 60
        assert groups["critical"].mttr.mean_seconds == 60 * 60
        assert (groups["minor"].incidents, groups["minor"].false_positives) == (2, 1)
        assert groups["minor"].mttr.count == 0
        assert groups["minor"].mttr.median_seconds is None

    def test_per_service(self) -> None:
        """Incidents without a service are grouped under their own key."""
        keys = [(g.key, g.incidents) for g in report(self.RECORDS).by_service]

        assert keys == [(NO_SERVICE, 1), ("database", 1), ("gitserver", 3)]

    def test_empty(self) -> None:
        """No incidents: zero counts and no durations, and the text says so."""
        result = report([], T0, NOW)

        assert result.total.incidents == 0
        assert result.total.mtta.mean_seconds is None
        assert report_text(result) == (
            "Incidents declared 2026-05-04 09:00 UTC to 2026-05-10 12:00 UTC: 0 (0 false positives)"
        )

    def test_text(self) -> None:
        """The text has a table per severity and per service, each with an 'all' line."""
        text = report_text(report(self.RECORDS, T0, NOW))

        assert text.startswith("Incidents declared 2026-05-04 09:00 UTC to 2026-05-10 12:00 UTC: 5")
        assert "(1 false positive)" in text
        lines = text.splitlines()
        assert lines[2].split() == [
            "SEVERITY", "INCIDENTS", "FALSE", "POS.", "MTTA", "MEDIAN", "MTTA", "MEAN",
            "MTTR", "MEDIAN", "MTTR", "MEAN",
        ]  # fmt: skip
        assert lines[3].split() == ["critical", "3", "0", "4m00s", "6m00s", "1h00m", "1h00m"]
        assert lines[5].split() == ["all", "5", "1", "7m00s", "7m00s", "1h00m", "1h00m"]
        assert any(line.split()[:2] == ["gitserver", "3"] for line in lines)


class TestParseWhen:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("7d", NOW - timedelta(days=7)),
            ("12h", NOW - timedelta(hours=12)),
            ("PT30M", NOW - timedelta(minutes=30)),
            ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
            ("2026-05-01T09:00:00+02:00", datetime(2026, 5, 1, 7, tzinfo=UTC)),
            ("2026-05-01T09:00:00Z", datetime(2026, 5, 1, 9, tzinfo=UTC)),
            ("2026-05-01T09:00", datetime(2026, 5, 1, 9, tzinfo=UTC)),
        ],
    )
    def test_forms(self, text: str, expected: datetime) -> None:
        """Durations go back from now; dates and times without an offset are UTC."""
        parsed = parse_when(text, NOW)

        assert parsed == expected
        assert parsed.tzinfo == UTC

    @pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01", "7x", "-7d"])
    def test_nonsense(self, text: str) -> None:
        """Anything else is a ValueError that shows both accepted forms."""
        with pytest.raises(ValueError, match="7d"):
            parse_when(text, NOW)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("1000000000000d", "1000000000000d back from now is before 2000-01-01"),
            ("30000w", "30000w back from now is before 2000-01-01"),
            ("0001-01-01", "must be between 2000-01-01 and 2200-01-01"),
            ("9999-12-31T23:59:59+05:00", "must be between 2000-01-01 and 2200-01-01"),
        ],
    )
    def test_out_of_range(self, text: str, message: str) -> None:
        """Times no log row can have are refused with the bound, never an OverflowError."""
        with pytest.raises(ValueError, match=message):
            parse_when(text, NOW)

    def test_now_in_another_zone(self) -> None:
        """'now' with an offset still gives a UTC answer."""
        local = NOW.astimezone(timezone(timedelta(hours=-6)))

        assert parse_when("1h", local) == NOW - timedelta(hours=1)


class TestFormats:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (None, "-"),
            (0, "0s"),
            (45.4, "45s"),
            (725, "12m05s"),
            (3 * 3600 + 7 * 60 + 30, "3h07m"),
            (2 * 86400 + 4 * 3600, "2d04h"),
        ],
    )
    def test_human_duration(self, seconds: float | None, text: str) -> None:
        """Durations read at a glance, to the two largest units."""
        assert human_duration(seconds) == text

    def test_table(self) -> None:
        """One aligned line per incident with every column of the log."""
        closed = incident(7, ack=4, fix=90).model_copy(
            update={
                "status": IncidentStatus.closed,
                "closed_at": T0 + timedelta(days=3),
                "postmortem_url": "https://github.com/acme/ops/issues/9",
                "followups_open": 1,
                "followups_closed": 2,
                "title": "Git pushes fail for everyone in the EU region, since the deploy",
            }
        )
        text = log_text([LogRow.of(closed), LogRow.of(incident(8))])
        header, first, second, footer = text.splitlines()

        assert header.split()[:5] == ["ID", "TITLE", "SEVERITY", "SERVICE", "LEAD"]
        assert header.index("SEVERITY") == first.index("critical") == second.index("critical")
        assert "Git pushes fail for everyone in the EU …" in first
        for cell in (
            "2026-05-04 09:00",
            "2026-05-04 09:04",
            "2026-05-04 10:30",
            "2026-05-07 09:00",
        ):
            assert cell in first
        assert first.split()[-5:] == ["4m00s", "1h30m", "fixed", closed.postmortem_url, "1/2"]
        assert second.split()[-5:] == ["-", "-", "-", "-", "0/0"]
        assert footer == "(times in UTC; follow-ups open/closed)"

    def test_empty_table(self) -> None:
        """An empty log says so."""
        assert log_text([]) == "no incidents"

    def test_csv(self) -> None:
        """CSV has every field, ISO 8601 times, seconds, and empty cells for None."""
        text = log_csv([LogRow.of(incident(1, ack=4, fix=90)), LogRow.of(incident(2))])
        rows = list(csv.DictReader(io.StringIO(text)))

        assert len(rows) == 2
        assert rows[0]["id"] == "INC-1"
        assert rows[0]["declared_at"] == "2026-05-04T09:00:00Z"
        assert rows[0]["time_to_acknowledge_seconds"] == "240.0"
        assert rows[0]["time_to_resolve_seconds"] == "5400.0"
        assert rows[1]["acknowledged_at"] == ""
        assert rows[1]["lead"] == ""
        assert set(rows[0]) == {
            *IncidentRecord.model_fields,
            *("time_to_acknowledge_seconds", "time_to_resolve_seconds"),
        }
