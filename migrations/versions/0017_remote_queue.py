"""The queue from a phone: tickets taken before their holder is there (`remote`), and each
mairie's limits for them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
OLD_STATUSES = (
    "status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled', 'closed')"
)
NEW_STATUSES = (
    "status IN ('remote', 'waiting', 'called', 'serving', 'done', 'no_show', 'cancelled', 'closed')"
)
SITE_RULES = [
    ("remote_per_hour", "20", "remote_per_hour BETWEEN 0 AND 200", "remote_per_hour"),
    (
        "remote_head_start_minutes",
        "60",
        "remote_head_start_minutes BETWEEN 0 AND 240",
        "remote_head_start",
    ),
    (
        "remote_rejoin_minutes",
        "15",
        "remote_rejoin_minutes BETWEEN 5 AND 60",
        "remote_rejoin_minutes",
    ),
]
TICKET_INSTANTS = ("confirmed_at", "held_at", "leave_told_at", "came_at")


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        for column, default, check, name in SITE_RULES:
            batch_op.add_column(
                sa.Column(column, sa.Integer(), server_default=default, nullable=False)
            )
            batch_op.create_check_constraint(op.f(f"ck_sites_{name}"), check)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("travel_minutes", sa.Integer(), nullable=True))
        for column in TICKET_INSTANTS:
            batch_op.add_column(sa.Column(column, INSTANT, nullable=True))
        batch_op.add_column(
            sa.Column("arrival_misses", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_tickets_status"), NEW_STATUSES)
        # The phone's live tickets, looked up across Paris at each join.
        batch_op.create_index("ix_tickets_phone_status", ["phone", "status"], unique=False)


def downgrade() -> None:
    # A ticket whose holder never came is, to the old schema, one closed at closing time.
    op.execute("UPDATE tickets SET status = 'closed' WHERE status = 'remote'")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_phone_status")
        batch_op.drop_constraint(op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_tickets_status"), OLD_STATUSES)
        batch_op.drop_column("arrival_misses")
        for column in reversed(TICKET_INSTANTS):
            batch_op.drop_column(column)
        batch_op.drop_column("travel_minutes")

    with op.batch_alter_table("sites", schema=None) as batch_op:
        for column, _default, _check, name in reversed(SITE_RULES):
            batch_op.drop_constraint(op.f(f"ck_sites_{name}"), type_="check")
            batch_op.drop_column(column)
