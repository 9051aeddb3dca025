"""The store's tables: the incident log, webhook deliveries seen, the archive of
long-lived workflows, the issues linked to follow-ups and the page notifications
delivered (its migrations in ``migrations/`` create exactly these)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)

# Execution option of connections that only read (SQLite: no write lock taken).
READ_ONLY = "tocsin_read_only"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps the offset (``timestamptz``); SQLite keeps none, so values are
    written in UTC and read back as UTC. Naive values are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


metadata = MetaData()

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_rank", SmallInteger, nullable=False),
    Column("service", String(128), nullable=True),
    Column("team", String(128), nullable=False),
    Column("declared_by", String(128), nullable=False),
    Column("lead", String(128), nullable=True),
    Column("declared_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("resolution", String(32), nullable=True),
    Column("resolution_summary", Text, nullable=True),
    Column("postmortem_url", Text, nullable=True),
    Column("followups_open", Integer, nullable=False),
    Column("followups_closed", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_incidents_declared_at", "declared_at"),
    Index("ix_incidents_severity_declared_at", "severity", "declared_at"),
    Index("ix_incidents_service_declared_at", "service", "declared_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("delivery_id", String(128), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index("ix_webhook_deliveries_source_seen_at", "source", "seen_at"),
)

# What long-lived workflows (pages, incidents) spill before they continue as new: one row
# per timeline entry or alert, keyed by the workflow id and the item's sequence number.
archived_timeline = Table(
    "archived_timeline",
    metadata,
    Column("subject", String(160), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("by", Text, nullable=True),
    Column("via", Text, nullable=True),
)

archived_alerts = Table(
    "archived_alerts",
    metadata,
    Column("subject", String(160), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("status", String(16), nullable=False),
    # The whole alert, as the page held it (JSON).
    Column("alert", Text, nullable=False),
)

# Issues linked to incidents' follow-ups by URL: (repo, number) → incident, for the GitHub
# webhook. ``repo`` is kept in lower case: GitHub's owner and repository names are not
# case-sensitive, and a pasted URL may spell them otherwise than the webhook does.
followup_issues = Table(
    "followup_issues",
    metadata,
    Column("repo", String(200), primary_key=True),
    Column("number", BigInteger, primary_key=True),
    Column("incident_id", String(64), primary_key=True),
    Column("linked_at", UtcDateTime, nullable=False),
)

# Page notifications delivered, by idempotency key (activities.notify.delivery_key),
# written once the channel took one, so a retried notify activity skips it. Rows older
# than a week are pruned.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("delivery_key", String(64), primary_key=True),
    Column("page_id", String(160), nullable=False),
    Column("delivered_to", Text, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=False),
    Index("ix_notification_deliveries_delivered_at", "delivered_at"),
)

# The page log: one row per page opening, upserted as the page moves (a flap within the
# window stays on its row); ``version`` keeps an older write from replacing a newer one.
page_log = Table(
    "page_log",
    metadata,
    Column("page_id", String(160), primary_key=True),
    Column("opened_at", UtcDateTime, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("rule", Text, nullable=False),
    Column("service", String(128), nullable=True),
    Column("team", String(128), nullable=False),
    Column("urgency", String(8), nullable=False),
    Column("acked_by", String(128), nullable=True),
    Column("acked_at", UtcDateTime, nullable=True),
    Column("steps_reached", Integer, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(160), nullable=True),
    Column("auto_resolved_unacked", Boolean, nullable=False),
    Column("flaps", Integer, nullable=False),
    Column("off_hours", Boolean, nullable=False),
    Column("silenced", Boolean, nullable=False),
    Column("incident_id", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_page_log_opened_at", "opened_at"),
)

# Uptime checks' probe results: one row per probe, kept 30 days (pruned as rows are added).
check_results = Table(
    "check_results",
    metadata,
    Column("check_name", String(64), primary_key=True),
    Column("at", UtcDateTime, primary_key=True),
    Column("ok", Boolean, nullable=False),
    Column("status", SmallInteger, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_check_results_at", "at"),
)

# Ad-hoc silences (workflows.silence_models.Silence): what they cover as JSON lists, who
# set them (from their credential) and who ended them early.
silences = Table(
    "silences",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("services", Text, nullable=False),
    Column("teams", Text, nullable=False),
    Column("matchers", Text, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(160), nullable=False),
    Column("created_via", String(160), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_by", String(160), nullable=True),
    Index("ix_silences_ends_at", "ends_at"),
)

# The pages a silence holds (by workflow id): ending it early tells them to look again.
silence_holds = Table(
    "silence_holds",
    metadata,
    Column("silence_id", String(32), primary_key=True),
    Column("page_id", String(160), primary_key=True),
    Column("held_at", UtcDateTime, nullable=False),
)
