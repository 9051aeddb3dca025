"""On-call reports: kept in the SQL store, their text from the built-in or a configured
template (a broken one is a config error), and the recovery days they suggest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.adapters.jinja_report import (
    BUILTIN_TEMPLATE,
    builtin_template,
    render_report,
    render_with,
    sample_report,
)
from activities.adapters.sql_store import SqlStore, open_store
from activities.adapters.temporal_views import worked_by
from activities.errors import Rejected
from starters.cli import app
from worker.config import ConfigError, load_config
from workflows.incident_models import IncidentState, RolePage, StatusUpdate
from workflows.rotation_models import (
    IncidentSummary,
    PageSummary,
    RecoveryDay,
    ReportQuery,
    ShiftNote,
    ShiftReport,
    TeamActivity,
)
from workflows.shift_report import recovery_days, report_text

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"
T0 = datetime(2026, 11, 2, 16, tzinfo=UTC)  # a Monday, 10:00 in Chicago


def page(
    number: int, *, off_hours: bool = False, by: str | None = "alice", test: bool = False
) -> PageSummary:
    created = T0 + timedelta(days=1, hours=number)
    return PageSummary(
        id=f"p{number}",
        summary=f"page {number}",
        created_at=created,
        status="resolved",
        acknowledged_by=by,
        acknowledged_at=created + timedelta(minutes=3) if by else None,
        off_hours=off_hours,
        test=test,
    )


def incident(number: int, *worked_by: str) -> IncidentSummary:
    return IncidentSummary(
        id=f"INC-{number}",
        title=f"incident {number}",
        severity="major",
        status="resolved",
        declared_at=T0 + timedelta(days=2),
        worked_by=list(worked_by),
    )


def shift_report(
    rotation: str = "delivery",
    week: int = 0,
    holders: dict[str, str | None] | None = None,
    activity: TeamActivity | None = None,
) -> ShiftReport:
    """A kept report of ``rotation``'s shift ``week`` weeks after T0."""
    start = T0 + timedelta(weeks=week)
    held = holders if holders is not None else {"eoc": "alice", "tm": "dana"}
    found = activity or TeamActivity()
    report = ShiftReport(
        id=f"shift-{rotation}-{start:%Y%m%dT%H%MZ}",
        rotation=rotation,
        team=rotation,
        timezone="America/Chicago",
        start=start,
        end=start + timedelta(weeks=1),
        holders=held,
        activity=found,
        recovery=recovery_days(found, held),
    )
    report.recovery_day = bool(report.recovery)
    report.text = report_text(report, "America/Chicago")
    return report


class TestRecoveryDays:
    def test_off_hours_pages_and_worked_incidents(self) -> None:
        """Whoever answered an off-hours page or worked an incident gets a recovery day that
        names them; day-time pages and test pages count for nothing."""
        activity = TeamActivity(
            pages=[
                page(1, off_hours=True),
                page(2),
                page(3, off_hours=True, by=None),
                page(4, off_hours=True, by="bob", test=True),
            ],
            incidents=[incident(7, "alice", "carol"), incident(8)],
        )

        days = recovery_days(activity, {"eoc": "erin", "tm": "dana"})

        assert days == [
            RecoveryDay(person="alice", off_hours_pages=["p1"], incidents=["INC-7"]),
            RecoveryDay(person="carol", incidents=["INC-7"]),
            # nobody answered p3: it woke the first layer's holder
            RecoveryDay(person="erin", off_hours_pages=["p3"]),
        ]

    def test_an_incident_alone(self) -> None:
        """An incident worked in daytime is reason enough; the text says which."""
        report = shift_report(activity=TeamActivity(incidents=[incident(7, "alice")]))

        assert report.recovery_day
        assert report.text.splitlines()[-1] == (
            "Recovery: alice, take a recovery day — incident INC-7 (incident 7)."
        )

    def test_a_quiet_shift(self) -> None:
        assert recovery_days(TeamActivity(pages=[page(1)]), {"eoc": "alice"}) == []


class TestWorkedBy:
    def test_who_worked_an_incident(self) -> None:
        """Its role holders, whoever answered a role's page, posted an update or resolved
        it; not its declarer, not a page nobody answered."""
        state = IncidentState(
            id="INC-7",
            title="git pushes fail",
            severity="major",
            team="delivery",
            declared_by="erin",
            declared_at=T0,
            lead="alice",
            messenger="frank",
            pages=[
                RolePage(purpose="lead", page_id="p1", team="delivery", acknowledged_by="bob"),
                RolePage(purpose="messenger", page_id="p2", team="support"),
            ],
            updates=[StatusUpdate(at=T0, by="carol", text="rolled back")],
            resolved_by="dana",
        )

        assert worked_by(state) == ["alice", "bob", "carol", "dana", "frank"]


class TestTemplate:
    @pytest.mark.parametrize(
        "report",
        [
            sample_report(),
            shift_report(),
            shift_report(
                activity=TeamActivity(
                    pages=[page(1, off_hours=True), page(2, by=None)],
                    incidents=[incident(7, "alice")],
                    open_pages=[page(2, by=None)],
                )
            ),
            sample_report().model_copy(
                update={
                    "test_page_acknowledged_by": "alice",
                    "notes": [ShiftNote(at=T0, by="dana", text="all quiet")],
                    "holders": {},
                }
            ),
        ],
        ids=["sample", "quiet", "busy", "acknowledged"],
    )
    def test_builtin_is_the_workflows_text(self, report: ShiftReport) -> None:
        """The built-in template writes exactly what the workflow writes without it."""
        rendered = render_with(report, (BUILTIN_TEMPLATE, builtin_template()))

        assert rendered == report_text(report, report.timezone or "UTC")

    def test_configured_template(self, tmp_path: Path) -> None:
        """A configured template (relative to the config file) sees the report and filters."""
        (tmp_path / "reports").mkdir()
        (tmp_path / "reports" / "oncall.md.j2").write_text(
            "# {{ report.rotation }} from {{ report.start | local }}\n"
            "{% for d in report.recovery %}- {{ d.person }}: {{ d.incidents | join(', ') }}\n"
            "{% endfor %}"
        )
        config = self.config_with(tmp_path, "reports/oncall.md.j2")
        report = shift_report(activity=TeamActivity(incidents=[incident(7, "alice")]))

        text = render_report(report, load_config(config), tmp_path)

        assert text == "# delivery from Mon 2026-11-02 10:00 CST\n- alice: INC-7"

    def test_unknown_variable(self, tmp_path: Path) -> None:
        """A template naming something the report lacks is refused, saying which file."""
        (tmp_path / "bad.j2").write_text("{{ report.nope }}")

        with pytest.raises(Rejected, match=r"bad\.j2: .*nope"):
            render_with(shift_report(), (str(tmp_path / "bad.j2"), "{{ report.nope }}"))

    def config_with(self, tmp_path: Path, template: str) -> Path:
        path = tmp_path / "tocsin.yaml"
        path.write_text(EXAMPLE.read_text() + f"\nreports:\n  oncall_template: {template}\n")
        return path


class TestConfigCheck:
    """``reports.oncall_template`` is checked with the config: there, readable, rendering."""

    def check(self, tmp_path: Path, template: str) -> tuple[int, str]:
        path = TestTemplate().config_with(tmp_path, template)
        result = CliRunner().invoke(app, ["config", "check", str(path)])
        return result.exit_code, result.stdout

    def test_missing_file(self, tmp_path: Path) -> None:
        """A template that is not there is a config error naming the key and the file."""
        code, out = self.check(tmp_path, "templates/oncall.md.j2")

        assert code == 2
        assert out == (
            f"{tmp_path / 'tocsin.yaml'}: reports.oncall_template: cannot read "
            f"{tmp_path / 'templates' / 'oncall.md.j2'}: No such file or directory\n"
        )

    def test_syntax_error(self, tmp_path: Path) -> None:
        (tmp_path / "oncall.md.j2").write_text("line one\n{% for p in pages %}\n")

        code, out = self.check(tmp_path, "oncall.md.j2")

        assert code == 2
        assert out.startswith(f"{tmp_path / 'tocsin.yaml'}: reports.oncall_template: ")
        assert "oncall.md.j2, line 2" in out

    def test_good_template(self, tmp_path: Path) -> None:
        (tmp_path / "oncall.md.j2").write_text("{{ report.rotation }}: {{ pages | length }}")

        assert self.check(tmp_path, "oncall.md.j2") == (0, "ok\n")

    def test_loading_refuses_it_too(self, tmp_path: Path) -> None:
        """The worker and API load the config the same way: the same error stops them."""
        path = TestTemplate().config_with(tmp_path, "absent.j2")

        with pytest.raises(ConfigError, match=r"reports\.oncall_template: cannot read"):
            load_config(path)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'tocsin.db'}")
    yield opened
    await opened.close()


class TestStore:
    async def test_kept_and_read_back(self, store: SqlStore) -> None:
        """A report comes back whole, text included; kept again it replaces itself."""
        report = shift_report(activity=TeamActivity(pages=[page(1, off_hours=True)]))

        await store.keep_shift_report(report)
        await store.keep_shift_report(report.model_copy(update={"text": "edited"}))

        assert await store.get_shift_report(report.id or "") == report.model_copy(
            update={"text": "edited"}
        )
        assert len(await store.list_shift_reports(ReportQuery())) == 1
        assert await store.get_shift_report("shift-delivery-20200101T0000Z") is None

    async def test_filters_and_order(self, store: SqlStore) -> None:
        """Newest shift first; by rotation, by person (on call or given a recovery day), by
        the end of the shift, at most ``limit``."""
        reports = [
            shift_report("delivery", 0, {"eoc": "alice", "tm": "dana"}),
            shift_report("delivery", 1, {"eoc": "bob", "tm": "dana"}),
            shift_report("ops", 1, {"eoc": "carol", "tm": None}),
            shift_report(
                "delivery",
                2,
                {"eoc": "alice", "tm": "dana"},
                TeamActivity(incidents=[incident(9, "erin")]),
            ),
        ]
        for report in reports:
            await store.keep_shift_report(report)

        async def ids(**query: object) -> list[str]:
            found = await store.list_shift_reports(ReportQuery.model_validate(query))
            return [r.id or "" for r in found]

        every = await ids()
        # ops and delivery's second shifts start together: the greater id first
        assert every == [reports[3].id, reports[2].id, reports[1].id, reports[0].id]
        assert await ids(rotation="delivery") == [reports[3].id, reports[1].id, reports[0].id]
        assert await ids(person="alice") == [reports[3].id, reports[0].id]
        assert await ids(person="erin") == [reports[3].id]  # a recovery day, not on call
        assert await ids(person="nobody") == []
        assert await ids(since=T0 + timedelta(weeks=2)) == every[:3]
        assert await ids(limit=1) == [reports[3].id]
