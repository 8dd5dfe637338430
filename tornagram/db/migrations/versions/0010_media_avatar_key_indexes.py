"""media: index the avatar key columns, which /media/ looks keys up in

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_avatar_key"), ["avatar_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_users_avatar_small_key"), ["avatar_small_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_avatar_small_key"))
        batch_op.drop_index(batch_op.f("ix_users_avatar_key"))
