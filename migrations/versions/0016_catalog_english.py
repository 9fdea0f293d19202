"""The démarches and needs gain their English texts (name, description, documents to
bring), empty for what is there already: an English reader is shown the French ones until
the City writes them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-17
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_en", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("description_en", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("documents_en", JSON, server_default="[]", nullable=False))
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_en", sa.String(length=120), server_default="", nullable=False)
        )

    # What is there has no English yet; new rows get their empty texts from the models.
    for table, columns in (("services", ("name_en", "description_en")), ("needs", ("name_en",))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("name_en")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("documents_en")
        batch_op.drop_column("description_en")
        batch_op.drop_column("name_en")
