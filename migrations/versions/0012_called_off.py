"""Appointments called off by the mairie have a status of their own.

A closure, an outage or hours cut that no other station can absorb calls the appointment
off (`called_off`): like a cancelled one, it no longer holds its station, so the
PostgreSQL exclusion constraint leaves it out. The person may take another slot from its
private page; `rebooked_as_id` links to the appointment taken instead.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("booked", "checked_in", "served", "no_show", "cancelled")
AFTER = (*BEFORE, "called_off")


def _statuses(names: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{name}'" for name in names))


def _no_overlap(released: Sequence[str]) -> None:
    """The exclusion constraint, leaving out the appointments that hold no station."""
    op.execute("ALTER TABLE appointments DROP CONSTRAINT IF EXISTS no_overlap")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT no_overlap EXCLUDE USING gist "
        "(station_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE ({})".format(
            f"status <> '{released[0]}'"
            if len(released) == 1
            else "status NOT IN ({})".format(", ".join(f"'{name}'" for name in released))
        )
    )


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_appointments_status"), _statuses(AFTER))
        batch_op.add_column(sa.Column("rebooked_as_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointments_rebooked_as_id_appointments",
            "appointments",
            ["rebooked_as_id"],
            ["id"],
            ondelete="SET NULL",
        )
    if op.get_bind().dialect.name == "postgresql":
        _no_overlap(("cancelled", "called_off"))


def downgrade() -> None:
    appointments = sa.table("appointments", sa.column("status", sa.String()))
    op.execute(
        sa.update(appointments)
        .where(appointments.c.status == "called_off")
        .values(status="cancelled")
    )
    if op.get_bind().dialect.name == "postgresql":
        _no_overlap(("cancelled",))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_appointments_rebooked_as_id_appointments", type_="foreignkey")
        batch_op.drop_column("rebooked_as_id")
        batch_op.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_appointments_status"), _statuses(BEFORE))
