"""What moderation flagged, and where (the guardrails' input and output, the moderations endpoint)."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "moderation_flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sqlite_autoincrement=True)
    op.create_index("moderation_flags_time", "moderation_flags", ["created_at"])
