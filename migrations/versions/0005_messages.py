"""Messages: the outbox, follow-up answers, sweep runs, and each site's message rules.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("instance", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "period", name=op.f("pk_sweep_runs")),
    )
    op.create_table(
        "follow_up_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_follow_up_answers_score")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_follow_up_answers_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_follow_up_answers_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_answers")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_follow_up_answers_ticket_id")),
    )
    with op.batch_alter_table("follow_up_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_answers_site_id"), ["site_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_outbox_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_outbox_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_outbox_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_outbox_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_appointment_id", ["appointment_id"], unique=False)
        batch_op.create_index("ix_outbox_status_send_after", ["status", "send_after"], unique=False)
        batch_op.create_index("ix_outbox_ticket_id", ["ticket_id"], unique=False)

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminder_hours",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default="[24, 2]",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("sms_quiet_from", sa.Time(), server_default="20:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sms_quiet_until", sa.Time(), server_default="08:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("turn_near_position", sa.Integer(), server_default="3", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_sites_turn_near_position"), "turn_near_position BETWEEN 0 AND 20"
        )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sites_turn_near_position"), type_="check")
        batch_op.drop_column("turn_near_position")
        batch_op.drop_column("sms_quiet_until")
        batch_op.drop_column("sms_quiet_from")
        batch_op.drop_column("reminder_hours")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ticket_id")
        batch_op.drop_index("ix_outbox_status_send_after")
        batch_op.drop_index("ix_outbox_appointment_id")

    op.drop_table("outbox")
    with op.batch_alter_table("follow_up_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_answers_site_id"))

    op.drop_table("follow_up_answers")
    op.drop_table("sweep_runs")
