"""Fine-tuning jobs, their events and checkpoints, and the models made here."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "fine_tuning_jobs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False))
    op.create_table(
        "fine_tuning_events",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("job_id", sa.Text, sa.ForeignKey("fine_tuning_jobs.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False))
    op.create_index("fine_tuning_events_job", "fine_tuning_events", ["job_id", "seq"])
    op.create_table(
        "fine_tuning_checkpoints",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("job_id", sa.Text, sa.ForeignKey("fine_tuning_jobs.id"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False))
    op.create_table(
        "models",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("base", sa.Text, nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False))
