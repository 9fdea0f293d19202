"""Earlier slots: who waits for one, the slots held for them, the marks offers leave on
their people (the caps), the days where a slot freed up, and how long each mairie holds
an offered slot.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.waitlist.models import HOUR_CAP_TRIGGER

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("offer_hold_minutes", sa.Integer(), server_default="15", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_sites_offer_hold_minutes"), "offer_hold_minutes BETWEEN 5 AND 120"
        )

    op.create_table(
        "wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.Date(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("ended_at", INSTANT, nullable=True),
        sa.Column("ended_why", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "ended_why IN ('stopped', 'taken', 'gone')", name=op.f("ck_wishes_ended_why")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_wishes_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_wishes_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_wishes_appointment_id")),
    )
    op.create_index("ix_wishes_site_id_ended_at", "wishes", ["site_id", "ended_at"])

    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", INSTANT, nullable=False),
        sa.Column("ends_at", INSTANT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("made_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answered_at", INSTANT, nullable=True),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_offers_range")),
        sa.CheckConstraint(
            "made_at < expires_at AND expires_at <= starts_at", name=op.f("ck_offers_hold")
        ),
        sa.CheckConstraint(
            "status IN ('held', 'accepted', 'declined', 'expired', 'withdrawn')",
            name=op.f("ck_offers_status"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_offers_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_offers_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_offers_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["wish_id"], ["wishes.id"], name=op.f("fk_offers_wish_id_wishes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_site_id_status", "offers", ["site_id", "status"])
    op.create_index("ix_offers_appointment_id", "offers", ["appointment_id"])
    op.create_index("ix_offers_wish_id_starts_at", "offers", ["wish_id", "starts_at"])
    op.create_index(
        "ix_offers_held_wish",
        "offers",
        ["wish_id"],
        unique=True,
        sqlite_where=sa.text("status = 'held'"),
        postgresql_where=sa.text("status = 'held'"),
    )
    op.create_table(
        "offer_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_rank", sa.Integer(), nullable=False),
        sa.Column("made_at", INSTANT, nullable=False),
        sa.Column("quiet_until", INSTANT, nullable=False),
        sa.CheckConstraint("made_at < quiet_until", name=op.f("ck_offer_marks_quiet")),
        sa.CheckConstraint("day_rank BETWEEN 1 AND 3", name=op.f("ck_offer_marks_day_rank")),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_marks_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_marks")),
        sa.UniqueConstraint(
            "person", "day", "day_rank", name=op.f("uq_offer_marks_person_day_day_rank")
        ),
    )
    op.create_index("ix_offer_marks_person_made_at", "offer_marks", ["person", "made_at"])
    op.create_index("ix_offer_marks_offer_id", "offer_marks", ["offer_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Never two offers to one person within an hour; never one slot held twice.
        op.execute(
            "ALTER TABLE offer_marks ADD CONSTRAINT hour_cap EXCLUDE USING gist "
            "(person WITH =, tstzrange(made_at, quiet_until, '[)') WITH &&)"
        )
        op.execute(
            "ALTER TABLE offers ADD CONSTRAINT held_once EXCLUDE USING gist "
            "(station_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'held')"
        )
    else:
        op.execute(HOUR_CAP_TRIGGER)

    op.create_table(
        "freed_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("freed_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_freed_days_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freed_days")),
        sa.UniqueConstraint("site_id", "day", name=op.f("uq_freed_days_site_id_day")),
    )


def downgrade() -> None:
    op.drop_table("freed_days")
    op.drop_table("offer_marks")  # its trigger and constraints go with it
    op.drop_table("offers")
    op.drop_table("wishes")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sites_offer_hold_minutes"), type_="check")
        batch_op.drop_column("offer_hold_minutes")
