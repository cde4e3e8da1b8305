"""Per-key guardrail sensitivity: how readily moderation flags this key's text (None: the server's)."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("guard_sensitivity", sa.Text))
