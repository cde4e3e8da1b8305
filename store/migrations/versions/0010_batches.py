"""Batches (the Batches API): a batch, each of its requests with its answer once it has one, usage rows
marked with the batch they belong to, and per-key limits on batches in flight and their tokens."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("input_file_id", sa.Text, nullable=False),
        sa.Column("completion_window", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        *(sa.Column(f"{stage}_at", sa.BigInteger) for stage in (
            "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")),
        sa.Column("output_file_id", sa.Text),
        sa.Column("error_file_id", sa.Text),
        sa.Column("errors", sa.Text),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("enqueued_tokens", sa.BigInteger, nullable=False))
    op.create_index("batches_owner", "batches", ["owner", "created_at"])
    op.create_index("batches_status", "batches", ["status"])
    op.create_table(
        "batch_requests",
        sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("custom_id", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("result", sa.Text),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"))
    op.create_index("batch_requests_state", "batch_requests", ["batch_id", "state", "line"])
    op.add_column("usage", sa.Column("batch_id", sa.Text))
    op.add_column("api_keys", sa.Column("max_batches", sa.BigInteger))
    op.add_column("api_keys", sa.Column("max_batch_tokens", sa.BigInteger))
