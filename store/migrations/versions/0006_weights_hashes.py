"""An adapter is tied to the exact weights it was trained on (their hash), so a new model registered under
an old name never serves an old adapter."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("registered_models", sa.Column("weights_sha256", sa.Text))
    op.add_column("models", sa.Column("base_sha256", sa.Text))
