"""Normalised contacts and the booking guard against one client booking out a day.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.booking.contacts import email_key

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_key", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("client_network", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_appointments_email_key", ["email_key"], unique=False)
        batch_op.create_index(
            "ix_appointments_client_network_starts_at",
            ["client_network", "starts_at"],
            unique=False,
        )
        batch_op.create_index("ix_appointments_created_at", ["created_at"], unique=False)

    # The bookings still to come count against the per-person limit from now on.
    appointments = sa.table(
        "appointments",
        sa.column("id", sa.Integer()),
        sa.column("email", sa.String()),
        sa.column("email_key", sa.String()),
        sa.column("status", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(appointments.c.id, appointments.c.email).where(
            appointments.c.status == "booked",
            appointments.c.email.is_not(None),
            appointments.c.email != "",
        )
    ).all()
    for row_id, email in rows:
        connection.execute(
            sa.update(appointments)
            .where(appointments.c.id == row_id)
            .values(email_key=email_key(email))
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_created_at")
        batch_op.drop_index("ix_appointments_client_network_starts_at")
        batch_op.drop_index("ix_appointments_email_key")
        batch_op.drop_column("client_network")
        batch_op.drop_column("email_key")
