"""Activity records of finished visits, with La Coop de la médiation numérique's fields.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.db import UTCDateTime
from app.visits.activity_rules import ActivityReport, settle

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 1000


def upgrade() -> None:
    activities = op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("themes", JSON_LIST, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("equipment", JSON_LIST, nullable=False),
        sa.Column("autonomy", sa.String(length=32), nullable=False),
        sa.Column("referral", sa.String(length=40), nullable=True),
        sa.Column("aidants_connect", sa.Boolean(), nullable=False),
        sa.Column("age_band", sa.String(length=32), nullable=False),
        sa.Column("social_status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("minutes BETWEEN 1 AND 480", name=op.f("ck_activities_minutes")),
        sa.CheckConstraint(
            "autonomy IN ('entierement_accompagne', 'partiellement_autonome', 'autonome')",
            name=op.f("ck_activities_autonomy"),
        ),
        sa.CheckConstraint(
            "referral IN ('administration', 'mediation_numerique', "
            "'operateur_ou_organisme_en_charge', 'aide_sociale', 'insertion_professionnelle', "
            "'aide_aux_demarches_administratives', 'autre')",
            name=op.f("ck_activities_referral"),
        ),
        sa.CheckConstraint(
            "age_band IN ('moins_de_douze', 'douze_dix_huit', 'dix_huit_vingt_quatre', "
            "'vingt_cinq_trente_neuf', 'quarante_cinquante_neuf', 'soixante_soixante_neuf', "
            "'soixante_dix_plus', 'non_communique')",
            name=op.f("ck_activities_age_band"),
        ),
        sa.CheckConstraint(
            "social_status IN ('scolarise', 'sans_emploi', 'en_emploi', 'retraite', "
            "'non_communique')",
            name=op.f("ck_activities_social_status"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_activities_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_activities_visit_id")),
    )
    _records_of_earlier_visits(activities)


def _records_of_earlier_visits(activities: sa.Table) -> None:
    """The visits finished before this revision get the records a facilitator who changed
    nothing gets: their démarches' themes and equipment, their measured length, partly
    autonomous, referred to the body in charge when sent on, age and status not told."""
    visits = sa.table(
        "visits",
        sa.column("id", sa.Integer()),
        sa.column("ticket_id", sa.Integer()),
        sa.column("services", JSON_LIST),
        sa.column("outcome", sa.String()),
        sa.column("started_at", UTCDateTime()),
        sa.column("finished_at", UTCDateTime()),
    )
    tickets = sa.table("tickets", sa.column("id", sa.Integer()), sa.column("service_id"))
    services = sa.table(
        "services",
        sa.column("id", sa.Integer()),
        sa.column("code", sa.String()),
        sa.column("duration_minutes", sa.Integer()),
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(
                visits.c.id,
                visits.c.services,
                visits.c.outcome,
                visits.c.started_at,
                visits.c.finished_at,
                services.c.code,
                services.c.duration_minutes,
            )
            .join(tickets, tickets.c.id == visits.c.ticket_id)
            .join(services, services.c.id == tickets.c.service_id)
            .order_by(visits.c.id)
        )
        .all()
    )
    batch = []
    for visit_id, codes, outcome, started_at, finished_at, ticket_service, usual in rows:
        facts = settle(
            ActivityReport(),
            services=list(codes or [ticket_service]),
            escalated=outcome == "escalated",
            started_at=started_at,
            finished_at=finished_at,
            usual_minutes=usual,
        )
        batch.append(
            {
                "visit_id": visit_id,
                "themes": list(facts.themes),
                "minutes": facts.minutes,
                "equipment": list(facts.equipment),
                "autonomy": facts.autonomy,
                "referral": facts.referral,
                "aidants_connect": False,
                "age_band": facts.age_band,
                "social_status": facts.social_status,
            }
        )
        if len(batch) == BATCH:
            op.bulk_insert(activities, batch)
            batch = []
    if batch:
        op.bulk_insert(activities, batch)


def downgrade() -> None:
    op.drop_table("activities")
