"""Bearer tokens of `zoohub serve` (sharing, issue 9), stored as their sha256.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from registry.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("name", name="uq_api_token_name"),
        sa.UniqueConstraint("token_sha256", name="uq_api_token_token_sha256"),
    )


def downgrade() -> None:
    op.drop_table("api_token")
