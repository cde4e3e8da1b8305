"""Per-key bounds on one request: output tokens and generation seconds (None: the server's)."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("max_tokens", sa.BigInteger))
    op.add_column("api_keys", sa.Column("max_seconds", sa.BigInteger))
