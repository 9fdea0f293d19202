"""A day as it goes: late arrivals, tickets closed at closing time, tickets forced while closed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled')"
NEW_STATUSES = (
    "status IN ('waiting', 'called', 'serving', 'done', 'no_show', 'cancelled', 'closed')"
)
SITE_RULES = [
    ("late_grace_minutes", "10", "late_grace_minutes BETWEEN 0 AND 60"),
    ("late_check_in_limit_minutes", "30", "late_check_in_limit_minutes BETWEEN 0 AND 240"),
]


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "late_arrival_rule", sa.String(length=16), server_default="walk_in", nullable=False
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_sites_late_arrival_rule"), "late_arrival_rule IN ('walk_in', 'grace')"
        )
        for column, default, check in SITE_RULES:
            batch_op.add_column(
                sa.Column(column, sa.Integer(), server_default=default, nullable=False)
            )
            batch_op.create_check_constraint(op.f(f"ck_sites_{column}"), check)
        batch_op.add_column(
            sa.Column(
                "facilitators_issue_tickets",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_tickets_status"), NEW_STATUSES)

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_column("reason")

    # A closed ticket was one still waiting at closing time: the old schema calls it cancelled.
    op.execute("UPDATE tickets SET status = 'cancelled' WHERE status = 'closed'")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tickets_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_tickets_status"), OLD_STATUSES)
        batch_op.drop_column("late")

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("facilitators_issue_tickets")
        for column, _default, _check in reversed(SITE_RULES):
            batch_op.drop_constraint(op.f(f"ck_sites_{column}"), type_="check")
            batch_op.drop_column(column)
        batch_op.drop_constraint(op.f("ck_sites_late_arrival_rule"), type_="check")
        batch_op.drop_column("late_arrival_rule")
