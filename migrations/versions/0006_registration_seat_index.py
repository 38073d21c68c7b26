"""event registrations: the seat count's index covers the group and the seats, so the count
under the event's lock reads the index alone (it replaces the index on event and status, a
prefix of it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 08:05:00.000000
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_registration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_registration_seats", ["event_id", "status", "group_id", "seats"]
        )
        batch_op.drop_index("ix_event_registration_event_status")


def downgrade() -> None:
    with op.batch_alter_table("event_registration", schema=None) as batch_op:
        batch_op.create_index("ix_event_registration_event_status", ["event_id", "status"])
        batch_op.drop_index("ix_event_registration_seats")
