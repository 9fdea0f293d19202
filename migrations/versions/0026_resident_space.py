"""A resident's space: the contact details they saved to fill in their bookings, and how
their new bookings remind them; the ID token of each session's sign-in, for the provider's
logout.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("reminders_by_email", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("reminders_by_sms", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("resident_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident_sessions", schema=None) as batch_op:
        batch_op.drop_column("id_token")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("reminders_by_sms")
        batch_op.drop_column("reminders_by_email")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_name")
