"""Visits, expert departments (with the City's default list), escalations and their
history; each site's service-level target; when a ticket was first called.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Where facilitators send on what they could not solve at the station. Administrators can
# add to the list and change it; these are the City's usual partners.
DEPARTMENTS = [
    ("caf", "Caisse d'allocations familiales (CAF)"),
    ("cpam", "Assurance maladie (CPAM)"),
    ("logement", "Logement social (Ville de Paris)"),
    ("action-sociale", "Action sociale (CASVP)"),
    ("impots", "Impôts (Finances publiques)"),
    ("titres", "Titres d'identité et permis (ANTS)"),
    ("emploi", "Emploi (France Travail)"),
    ("retraite", "Retraite (Assurance retraite)"),
    ("sejour", "Titres de séjour (Préfecture de police)"),
]


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("answer_days", sa.Integer(), server_default="15", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "answer_days BETWEEN 1 AND 365", name=op.f("ck_departments_answer_days")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "services",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('online', 'phone', 'counter', 'walk_in')", name=op.f("ck_visits_channel")
        ),
        sa.CheckConstraint(
            "outcome IN ('solved', 'alone', 'escalated', 'unhelped', 'unrecorded')",
            name=op.f("ck_visits_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_visits_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_visits_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_visits_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_visits_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_visits_ticket_id")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_site_id_day", ["site_id", "day"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'in_progress', 'answered', 'closed')",
            name=op.f("ck_escalations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_escalations_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_escalations_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalations_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_escalations_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("reference", name=op.f("uq_escalations_reference")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_escalations_ticket_id")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_escalations_visit_id")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalations_site_id_created_at", ["site_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_escalations_site_id_status", ["site_id", "status"], unique=False)

    op.create_table(
        "escalation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_escalation_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_escalation_events_escalation_id_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_events")),
    )
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_events_escalation_id"), ["escalation_id"], unique=False
        )

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("service_level_minutes", sa.Integer(), server_default="15", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_sites_service_level_minutes"), "service_level_minutes BETWEEN 1 AND 240"
        )
        batch_op.add_column(
            sa.Column("service_level_goal", sa.Integer(), server_default="80", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_sites_service_level_goal"), "service_level_goal BETWEEN 1 AND 100"
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_called_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tickets SET first_called_at = called_at WHERE called_at IS NOT NULL")
    departments = sa.table(
        "departments",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("answer_days", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        departments,
        [
            {"code": code, "name": name, "answer_days": 15, "position": i, "active": True}
            for i, (code, name) in enumerate(DEPARTMENTS)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("first_called_at")

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sites_service_level_goal"), type_="check")
        batch_op.drop_column("service_level_goal")
        batch_op.drop_constraint(op.f("ck_sites_service_level_minutes"), type_="check")
        batch_op.drop_column("service_level_minutes")

    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_events_escalation_id"))

    op.drop_table("escalation_events")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_site_id_status")
        batch_op.drop_index("ix_escalations_site_id_created_at")

    op.drop_table("escalations")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_site_id_day")

    op.drop_table("visits")
    op.drop_table("departments")
