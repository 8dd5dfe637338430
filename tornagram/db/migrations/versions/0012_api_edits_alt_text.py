"""posts: when a caption was last edited; photos: alt text up to 1,500 characters; app-API
uploads: whether their large renditions are made yet

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import tornagram.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_media_uploads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="ready", nullable=False)
        )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("edited_at", tornagram.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.alter_column(
            "alt_text",
            existing_type=sa.String(length=1000),
            type_=sa.String(length=1500),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.alter_column(
            "alt_text",
            existing_type=sa.String(length=1500),
            type_=sa.String(length=1000),
            existing_nullable=False,
        )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("edited_at")
    with op.batch_alter_table("api_media_uploads", schema=None) as batch_op:
        batch_op.drop_column("state")
