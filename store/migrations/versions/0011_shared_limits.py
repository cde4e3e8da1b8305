"""Limits that hold across front doors: each request counted against a key's requests per minute, and each
hold on a key's daily tokens while its request runs (with the time it lapses, so a front door that dies
never holds tokens for good). And the time a fine-tuning job was queued, to the microsecond: jobs queued in
one second keep their order when several front doors share the queue (the row order SQLite kept is not a
thing PostgreSQL has), and which worker runs a job with its last heartbeat, so that workers on several
machines drain one queue and a job whose worker died goes back to it; likewise the runner that holds a
batch, and until when. And the marker files front doors write in the blobs folder at start, so each can
check that it reads the folder the others write."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sqlite_autoincrement=True)
    op.create_index("rate_hits_key_time", "rate_hits", ["key_id", "at"])
    op.create_table(
        "quota_holds",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("lapses_at", sa.Double, nullable=False))
    op.create_index("quota_holds_key", "quota_holds", ["key_id", "lapses_at"])
    op.add_column("fine_tuning_jobs", sa.Column("queued_at", sa.Double))
    op.add_column("fine_tuning_jobs", sa.Column("worker", sa.Text))
    op.add_column("fine_tuning_jobs", sa.Column("heartbeat_at", sa.Double))
    op.add_column("batches", sa.Column("runner", sa.Text))
    op.add_column("batches", sa.Column("lease_until", sa.Double))
    op.create_table(
        "blob_markers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("written_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False))
