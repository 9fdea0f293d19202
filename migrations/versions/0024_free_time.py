"""The summary of free time per station and day, for the first free slot across sites:
derived data, filled by the server's first roll (or `guichet db check-free-time
--repair`); until then every day is looked at the slow way.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "free_time",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("open_minutes", sa.Integer(), nullable=False),
        sa.Column("booked_minutes", sa.Integer(), nullable=False),
        sa.Column("longest_minutes", sa.Integer(), nullable=False),
        sa.Column("free_until_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_free_time_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_free_time_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "day", name=op.f("pk_free_time")),
    )
    op.create_index("ix_free_time_site_id_day", "free_time", ["site_id", "day"], unique=False)
    op.create_table(
        "free_time_windows",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_free_time_windows_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_free_time_windows")),
    )


def downgrade() -> None:
    op.drop_table("free_time_windows")
    op.drop_index("ix_free_time_site_id_day", table_name="free_time")
    op.drop_table("free_time")
