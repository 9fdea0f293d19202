"""Expert departments have contacts and answer the requests sent to them through a private link.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("department_token_digest", sa.String(length=64), nullable=True)
        )
        batch_op.create_unique_constraint(
            op.f("uq_escalations_department_token_digest"), ["department_token_digest"]
        )

    # The steps taken so far were all taken by the mairie's agents.
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_department", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.alter_column("by_department", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.drop_column("by_department")

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_escalations_department_token_digest"), type_="unique")
        batch_op.drop_column("department_token_digest")

    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("email")
