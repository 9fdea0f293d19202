"""Who took a ticket from a phone (the client's network), for the per-address cap on
remote joins.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_network", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_tickets_client_network_day", ["client_network", "day"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_client_network_day")
        batch_op.drop_column("client_network")
