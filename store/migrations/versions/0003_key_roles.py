"""Roles: an admin key sees every key's usage and manages models."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("role", sa.Text, nullable=False, server_default="user"))
