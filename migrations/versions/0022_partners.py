"""Partners who refer people: accounts, hashed keys bound to mairies.

A partner (a CCAS, a France Services, an association) books for the people it refers, at
its mairies, with a key kept as a digest only; its page has sessions of its own. An
appointment it booked says so (`channel` "partner") and names it (`partner_id`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
BEFORE = ("online", "phone", "counter")
AFTER = (*BEFORE, "partner")
VISITS_BEFORE = ("online", "phone", "counter", "walk_in")
VISITS_AFTER = (*VISITS_BEFORE, "partner")


def _channels(names: Sequence[str]) -> str:
    return "channel IN ({})".format(", ".join(f"'{name}'" for name in names))


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("key_lookup", sa.String(length=16), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("key_lookup", name=op.f("uq_partners_key_lookup")),
    )
    op.create_table(
        "partner_sites",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_sites_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_partner_sites_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "site_id", name=op.f("pk_partner_sites")),
    )
    op.create_index(op.f("ix_partner_sites_site_id"), "partner_sites", ["site_id"])
    op.create_table(
        "partner_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("started_at", INSTANT, nullable=False),
        sa.Column("last_seen_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_sessions_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_partner_sessions_digest")),
    )
    op.create_index(op.f("ix_partner_sessions_partner_id"), "partner_sessions", ["partner_id"])
    op.create_index(op.f("ix_partner_sessions_last_seen_at"), "partner_sessions", ["last_seen_at"])

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_appointments_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_appointments_channel"), _channels(AFTER))
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointments_partner_id_partners",
            "partners",
            ["partner_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_appointments_partner_id_starts_at", ["partner_id", "starts_at"], unique=False
        )
    # A visit keeps the channel of its appointment.
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_visits_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_visits_channel"), _channels(VISITS_AFTER))
    # An expert department may be a partner's account: its requests show on their page.
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_departments_partner_id_partners",
            "partners",
            ["partner_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_departments_partner_id", ["partner_id"], unique=False)


def downgrade() -> None:
    # What partners booked stays booked, as bookings by phone (the closest kept channel).
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index("ix_departments_partner_id")
        batch_op.drop_constraint("fk_departments_partner_id_partners", type_="foreignkey")
        batch_op.drop_column("partner_id")
    appointments = sa.table("appointments", sa.column("channel", sa.String()))
    op.execute(
        sa.update(appointments).where(appointments.c.channel == "partner").values(channel="phone")
    )
    visits = sa.table("visits", sa.column("channel", sa.String()))
    op.execute(sa.update(visits).where(visits.c.channel == "partner").values(channel="phone"))
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_visits_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_visits_channel"), _channels(VISITS_BEFORE))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_partner_id_starts_at")
        batch_op.drop_constraint("fk_appointments_partner_id_partners", type_="foreignkey")
        batch_op.drop_column("partner_id")
        batch_op.drop_constraint(op.f("ck_appointments_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_appointments_channel"), _channels(BEFORE))
    op.drop_index(op.f("ix_partner_sessions_last_seen_at"), table_name="partner_sessions")
    op.drop_index(op.f("ix_partner_sessions_partner_id"), table_name="partner_sessions")
    op.drop_table("partner_sessions")
    op.drop_index(op.f("ix_partner_sites_site_id"), table_name="partner_sites")
    op.drop_table("partner_sites")
    op.drop_table("partners")
