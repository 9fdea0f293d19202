"""Queue: tickets, their history, the day's counters, each site's seq and queue rules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SITE_RULES = [
    ("check_in_early_minutes", "30", "check_in_early_minutes BETWEEN 0 AND 240", "check_in_early"),
    ("check_in_late_minutes", "15", "check_in_late_minutes BETWEEN 0 AND 240", "check_in_late"),
    ("priority_after_minutes", "30", "priority_after_minutes BETWEEN 1 AND 480", "priority_after"),
    ("no_show_after_calls", "3", "no_show_after_calls BETWEEN 1 AND 10", "no_show_after_calls"),
]


def upgrade() -> None:
    op.create_table(
        "queue_counters",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("letter", sa.String(length=1), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_queue_counters_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", "day", "letter", name=op.f("pk_queue_counters")),
    )
    op.create_table(
        "queue_states",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_queue_states_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_queue_states")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column(
            "needs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("station_kind", sa.String(length=16), nullable=False),
        sa.Column("requires_accessible", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_count", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "station_kind IN ('standard', 'double')", name=op.f("ck_tickets_station_kind")
        ),
        sa.CheckConstraint(
            "status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled')",
            name=op.f("ck_tickets_status"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_tickets_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_tickets_service_id_services")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_tickets_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_tickets_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_tickets_appointment_id")),
        sa.UniqueConstraint("site_id", "day", "number", name=op.f("uq_tickets_site_id_day_number")),
        sa.UniqueConstraint("token", name=op.f("uq_tickets_token")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_site_id_day_status", ["site_id", "day", "status"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_site_id_service_id_finished_at",
            ["site_id", "service_id", "finished_at"],
            unique=False,
        )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_ticket_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_ticket_events_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_ticket_events_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_site_id_seq", ["site_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("sites") as batch:
        for column, default, check, name in SITE_RULES:
            batch.add_column(
                sa.Column(column, sa.Integer(), server_default=default, nullable=False)
            )
            batch.create_check_constraint(op.f(f"ck_sites_{name}"), check)


def downgrade() -> None:
    for table in ("ticket_events", "tickets", "queue_states", "queue_counters"):
        op.drop_table(table)
    with op.batch_alter_table("sites") as batch:
        for column, _default, _check, name in reversed(SITE_RULES):
            batch.drop_constraint(op.f(f"ck_sites_{name}"), type_="check")
            batch.drop_column(column)
