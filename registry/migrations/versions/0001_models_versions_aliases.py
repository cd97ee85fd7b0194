"""Models, immutable versions, their files and blobs, aliases with their append-only history.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from registry.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blob"),
    )
    op.create_table(
        "model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("license", sa.String(128), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model"),
        sa.UniqueConstraint("namespace", "name", name="uq_model_namespace"),
    )
    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("card_md", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('ready')", name="ck_model_version_status"),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name="fk_model_version_model_id_model"),
        sa.PrimaryKeyConstraint("id", name="pk_model_version"),
        sa.UniqueConstraint("manifest_sha256", name="uq_model_version_manifest_sha256"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_version_model_id"),
    )
    op.create_index("ix_model_version_model_id", "model_version", ["model_id"])
    op.create_table(
        "version_file",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_version.id"], name="fk_version_file_version_id_model_version"),
        sa.ForeignKeyConstraint(["blob_sha256"], ["blob.sha256"], name="fk_version_file_blob_sha256_blob"),
        sa.PrimaryKeyConstraint("version_id", "path", name="pk_version_file"),
    )
    op.create_index("ix_version_file_blob_sha256", "version_file", ["blob_sha256"])
    op.create_table(
        "alias",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name="fk_alias_model_id_model"),
        sa.ForeignKeyConstraint(["version_id"], ["model_version.id"], name="fk_alias_version_id_model_version"),
        sa.PrimaryKeyConstraint("model_id", "name", name="pk_alias"),
    )
    op.create_table(
        "alias_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=True),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name="fk_alias_event_model_id_model"),
        sa.ForeignKeyConstraint(["from_version_id"], ["model_version.id"],
                                name="fk_alias_event_from_version_id_model_version"),
        sa.ForeignKeyConstraint(["to_version_id"], ["model_version.id"],
                                name="fk_alias_event_to_version_id_model_version"),
        sa.PrimaryKeyConstraint("id", name="pk_alias_event"),
    )
    op.create_index("ix_alias_event_model_id", "alias_event", ["model_id"])


def downgrade() -> None:
    for table in ("alias_event", "alias", "version_file", "model_version", "model", "blob"):
        op.drop_table(table)
