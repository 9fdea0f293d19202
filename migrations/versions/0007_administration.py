"""The audit log; account lockout and token revocation; stations out of service; the
digest by which private-link tokens are found.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_audit_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_audit_events_site_id_sites"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_agent_id_at", ["agent_id", "at"], unique=False)
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_site_id_at", ["site_id", "at"], unique=False)

    op.create_table(
        "station_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_station_outages_range")),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_outages_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_outages")),
    )
    with op.batch_alter_table("station_outages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_station_outages_station_id_ends_at", ["station_id", "ends_at"], unique=False
        )

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("tokens_valid_after", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_digest", sa.String(length=64), nullable=True))
    _fill_digests("appointments")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.alter_column("token_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_appointments_token_digest"), ["token_digest"]
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_digest", sa.String(length=64), nullable=True))
    _fill_digests("tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("token_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_token_digest"), ["token_digest"])


def _fill_digests(table: str) -> None:
    """SHA-256 of each existing token, computed here so that both databases get the same."""
    rows = sa.table(
        table,
        sa.column("id", sa.Integer()),
        sa.column("token", sa.String()),
        sa.column("token_digest", sa.String()),
    )
    connection = op.get_bind()
    pending = connection.execute(sa.select(rows.c.id, rows.c.token)).all()
    for start in range(0, len(pending), 1000):
        connection.execute(
            rows.update()
            .where(rows.c.id == sa.bindparam("row_id"))
            .values(token_digest=sa.bindparam("digest")),
            [
                {"row_id": row_id, "digest": hashlib.sha256(token.encode()).hexdigest()}
                for row_id, token in pending[start : start + 1000]
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tickets_token_digest"), type_="unique")
        batch_op.drop_column("token_digest")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_appointments_token_digest"), type_="unique")
        batch_op.drop_column("token_digest")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")

    with op.batch_alter_table("station_outages", schema=None) as batch_op:
        batch_op.drop_index("ix_station_outages_station_id_ends_at")

    op.drop_table("station_outages")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_site_id_at")
        batch_op.drop_index("ix_audit_events_at")
        batch_op.drop_index("ix_audit_events_agent_id_at")

    op.drop_table("audit_events")
