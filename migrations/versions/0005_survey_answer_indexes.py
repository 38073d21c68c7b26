"""survey answers: partial indexes on the columns most answers leave empty, no separate index on
survey_id (the unique indexes lead with it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:50:41.457328
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTIAL = ("person_id", "category_id")


def _where(column: str) -> dict[str, sa.TextClause]:
    condition = sa.text(f"{column} IS NOT NULL")
    return {"postgresql_where": condition, "sqlite_where": condition}


def upgrade() -> None:
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_answer_survey_id")
        batch_op.drop_constraint("uq_survey_answer_invitation", type_="unique")
        batch_op.create_index(
            "uq_survey_answer_invitation",
            ["survey_id", "invitation_id"],
            unique=True,
            **_where("invitation_id"),
        )
        for column in PARTIAL:
            batch_op.drop_index(f"ix_survey_answer_{column}")
            batch_op.create_index(f"ix_survey_answer_{column}", [column], **_where(column))


def downgrade() -> None:
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        for column in PARTIAL:
            batch_op.drop_index(f"ix_survey_answer_{column}")
            batch_op.create_index(f"ix_survey_answer_{column}", [column])
        batch_op.drop_index("uq_survey_answer_invitation")
        batch_op.create_unique_constraint(
            "uq_survey_answer_invitation", ["survey_id", "invitation_id"]
        )
        batch_op.create_index("ix_survey_answer_survey_id", ["survey_id"])
