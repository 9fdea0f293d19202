"""Booking: appointments, guarded against overlaps, and each site's booking rules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
INSTANT = sa.DateTime(timezone=True)
SITE_RULES = [
    ("walk_in_percent", "30", "walk_in_percent BETWEEN 0 AND 100", "walk_in_percent"),
    ("booking_min_notice_minutes", "120", "booking_min_notice_minutes >= 0", "min_notice"),
    ("booking_horizon_days", "60", "booking_horizon_days BETWEEN 1 AND 366", "horizon"),
    (
        "max_future_bookings_per_contact",
        "2",
        "max_future_bookings_per_contact >= 1",
        "max_future_bookings",
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        for column, default, check, name in SITE_RULES:
            batch.add_column(
                sa.Column(column, sa.Integer(), server_default=default, nullable=False)
            )
            batch.create_check_constraint(op.f(f"ck_sites_{name}"), check)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", INSTANT, nullable=False),
        sa.Column("ends_at", INSTANT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("needs", JSON, nullable=False),
        sa.Column("reminders_by_email", sa.Boolean(), nullable=False),
        sa.Column("reminders_by_sms", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("booked_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("cancelled_at", INSTANT, nullable=True),
        sa.CheckConstraint(
            "channel IN ('online', 'phone', 'counter')", name=op.f("ck_appointments_channel")
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'checked_in', 'served', 'no_show', 'cancelled')",
            name=op.f("ck_appointments_status"),
        ),
        sa.CheckConstraint(
            "email IS NOT NULL OR phone IS NOT NULL", name=op.f("ck_appointments_contact")
        ),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_appointments_range")),
        sa.ForeignKeyConstraint(
            ["booked_by_agent_id"],
            ["agents.id"],
            name="fk_appointments_booked_by_agent_id_agents",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name="fk_appointments_service_id_services"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_appointments_site_id_sites"),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_appointments_station_id_stations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.UniqueConstraint("reference", name="uq_appointments_reference"),
        sa.UniqueConstraint("token", name="uq_appointments_token"),
    )
    op.create_index("ix_appointments_email", "appointments", ["email"])
    op.create_index("ix_appointments_phone", "appointments", ["phone"])
    op.create_index("ix_appointments_site_id_starts_at", "appointments", ["site_id", "starts_at"])
    op.create_index(
        "ix_appointments_station_id_starts_at", "appointments", ["station_id", "starts_at"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # The database itself refuses two live appointments on one station at
        # overlapping times, whatever the application does.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT no_overlap EXCLUDE USING gist "
            "(station_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status <> 'cancelled')"
        )


def downgrade() -> None:
    op.drop_table("appointments")
    with op.batch_alter_table("sites") as batch:
        for column, _default, _check, name in reversed(SITE_RULES):
            batch.drop_constraint(op.f(f"ck_sites_{name}"), type_="check")
            batch.drop_column(column)
