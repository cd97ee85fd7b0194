"""Papers, benchmarks, claims, evaluation runs and reproduction verdicts (reproduce, issue 7).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from registry.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("arxiv_id", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_paper"),
        sa.UniqueConstraint("arxiv_id", name="uq_paper_arxiv_id"),
    )
    op.create_table(
        "benchmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_benchmark"),
        sa.UniqueConstraint("task", "dataset", "split", "metric", name="uq_benchmark_task"),
    )
    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=True),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("runnable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["paper.id"], name="fk_claim_paper_id_paper"),
        sa.ForeignKeyConstraint(["benchmark_id"], ["benchmark.id"], name="fk_claim_benchmark_id_benchmark"),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name="fk_claim_model_id_model"),
        sa.PrimaryKeyConstraint("id", name="pk_claim"),
        sa.UniqueConstraint("model_id", "benchmark_id", "source", name="uq_claim_model_id"),
    )
    op.create_index("ix_claim_benchmark_id", "claim", ["benchmark_id"])
    op.create_index("ix_claim_model_id", "claim", ["model_id"])
    op.create_table(
        "eval_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("eval_code_ref", sa.Text(), nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=False),
        sa.Column("preprocess_json", sa.Text(), nullable=False),
        sa.Column("env_json", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('succeeded', 'failed')", name="ck_eval_run_status"),
        sa.ForeignKeyConstraint(["version_id"], ["model_version.id"], name="fk_eval_run_version_id_model_version"),
        sa.ForeignKeyConstraint(["benchmark_id"], ["benchmark.id"], name="fk_eval_run_benchmark_id_benchmark"),
        sa.PrimaryKeyConstraint("id", name="pk_eval_run"),
    )
    op.create_index("ix_eval_run_version_id", "eval_run", ["version_id"])
    op.create_index("ix_eval_run_benchmark_id", "eval_run", ["benchmark_id"])
    op.create_table(
        "reproduction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("eval_run_id", sa.Integer(), nullable=False),
        sa.Column("abs_tol", sa.Float(), nullable=False),
        sa.Column("rel_tol", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("verdict IN ('reproduced', 'not_reproduced', 'inconclusive')",
                           name="ck_reproduction_verdict"),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name="fk_reproduction_claim_id_claim"),
        sa.ForeignKeyConstraint(["eval_run_id"], ["eval_run.id"], name="fk_reproduction_eval_run_id_eval_run"),
        sa.PrimaryKeyConstraint("id", name="pk_reproduction"),
    )
    op.create_index("ix_reproduction_claim_id", "reproduction", ["claim_id"])
    op.create_index("ix_reproduction_eval_run_id", "reproduction", ["eval_run_id"])


def downgrade() -> None:
    for table in ("reproduction", "eval_run", "claim", "benchmark", "paper"):
        op.drop_table(table)
