"""Evals (OpenAI's Evals API): an eval's definition, its runs and each run's graded items. A run keeps the
items it was given, so it goes on after a restart without its file; each graded item is a row written once
(its primary key is the run and the item's index), and a run is held by one runner at a time under a lease,
as a batch is."""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "evals",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False))
    op.create_index("evals_owner_time", "evals", ["owner", "created_at"])
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("eval_id", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("runner", sa.Text),
        sa.Column("lease_until", sa.Double))
    op.create_index("eval_runs_eval_time", "eval_runs", ["eval_id", "created_at"])
    op.create_index("eval_runs_status", "eval_runs", ["status"])
    op.create_table(
        "eval_run_items",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("body", sa.Text, nullable=False))
    op.create_index("eval_run_items_id", "eval_run_items", ["id"], unique=True)
