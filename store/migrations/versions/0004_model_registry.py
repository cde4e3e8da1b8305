"""The model registry: models registered from a folder or GGUF file, and aliases (one namespace)."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("path", sa.Text),
        sa.Column("target", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("engine", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("(path IS NULL) != (target IS NULL)", name="registered_models_path_or_target"))
