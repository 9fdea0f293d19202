"""Initial schema: sites, stations, hours, closures, the catalogs and staff accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def site_id_column() -> sa.Column[int]:
    return sa.Column("site_id", sa.Integer(), nullable=False)


def site_foreign_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=f"fk_{table}_site_id_sites", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("arrondissements", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("slug", name="uq_sites_slug"),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        site_id_column(),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('standard', 'double')", name=op.f("ck_stations_kind")),
        site_foreign_key("stations"),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
        sa.UniqueConstraint("site_id", "name", name="uq_stations_site_id_name"),
    )
    op.create_index("ix_stations_site_id", "stations", ["site_id"])
    op.create_table(
        "weekly_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        site_id_column(),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("nth_in_month", sa.Integer(), nullable=True),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "nth_in_month IS NULL OR nth_in_month IN (-1, 1, 2, 3, 4, 5)",
            name=op.f("ck_weekly_hours_nth_in_month"),
        ),
        sa.CheckConstraint("opens < closes", name=op.f("ck_weekly_hours_range")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_weekly_hours_weekday")),
        site_foreign_key("weekly_hours"),
        sa.PrimaryKeyConstraint("id", name="pk_weekly_hours"),
    )
    op.create_index("ix_weekly_hours_site_id", "weekly_hours", ["site_id"])
    op.create_table(
        "hours_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        site_id_column(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=True),
        sa.Column("closes", sa.Time(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND closes IS NOT NULL "
            "AND opens < closes)",
            name=op.f("ck_hours_exceptions_range"),
        ),
        site_foreign_key("hours_exceptions"),
        sa.PrimaryKeyConstraint("id", name="pk_hours_exceptions"),
    )
    op.create_index("ix_hours_exceptions_site_id_day", "hours_exceptions", ["site_id", "day"])
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer(), nullable=False),
        site_id_column(),
        sa.Column("starts_at", INSTANT, nullable=False),
        sa.Column("ends_at", INSTANT, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_closures_range")),
        site_foreign_key("closures"),
        sa.PrimaryKeyConstraint("id", name="pk_closures"),
    )
    op.create_index("ix_closures_site_id", "closures", ["site_id"])
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("station_kind", sa.String(length=16), nullable=False),
        sa.Column("documents", JSON, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "station_kind IN ('standard', 'double')", name=op.f("ck_services_station_kind")
        ),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 240", name=op.f("ck_services_duration")),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("code", name="uq_services_code"),
    )
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("extra_minutes", sa.Integer(), nullable=False),
        sa.Column("station_kind", sa.String(length=16), nullable=True),
        sa.Column("requires_accessible", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "station_kind IS NULL OR station_kind IN ('standard', 'double')",
            name=op.f("ck_needs_station_kind"),
        ),
        sa.CheckConstraint("extra_minutes BETWEEN 0 AND 120", name=op.f("ck_needs_extra_minutes")),
        sa.PrimaryKeyConstraint("id", name="pk_needs"),
        sa.UniqueConstraint("code", name="uq_needs_code"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_login_at", INSTANT, nullable=True),
        sa.CheckConstraint(
            "role IN ('reception', 'facilitator', 'manager', 'admin')", name=op.f("ck_agents_role")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("email", name="uq_agents_email"),
    )
    op.create_table(
        "agent_sites",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        site_id_column(),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_sites_agent_id_agents", ondelete="CASCADE"
        ),
        site_foreign_key("agent_sites"),
        sa.PrimaryKeyConstraint("agent_id", "site_id", name="pk_agent_sites"),
    )
    op.create_index("ix_agent_sites_site_id", "agent_sites", ["site_id"])


def downgrade() -> None:
    for table in (
        "agent_sites",
        "agents",
        "needs",
        "services",
        "closures",
        "hours_exceptions",
        "weekly_hours",
        "stations",
        "sites",
    ):
        op.drop_table(table)
