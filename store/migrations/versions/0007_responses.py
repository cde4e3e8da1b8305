"""Stored responses (the Responses API): the response, its input items, and the whole conversation a
follow-up (previous_response_id) continues from."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("previous_id", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("input_items", sa.Text, nullable=False),
        sa.Column("conversation", sa.Text, nullable=False))
    op.create_index("responses_owner", "responses", ["owner", "created_at"])
