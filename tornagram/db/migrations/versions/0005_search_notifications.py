"""search and notifications: the unread index, prefix indexes, full-text search of captions

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-21 16:53:51.749875

Everything after the unread index is engine-specific DDL the models cannot describe; the names
are listed in tornagram/db/unmanaged.py so that comparisons and autogenerate leave them alone.

SQLite: an external-content FTS5 table over posts.caption (rowid = posts.id), kept in step by
triggers. A later migration that rebuilds ``posts`` in batch mode drops these triggers with the
old table: it must run ``SQLITE_TRIGGERS`` from here again afterwards.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

# unicode61 splits on spaces and punctuation and folds case; like PostgreSQL's 'simple' it keeps
# diacritics, so both engines find the same posts. A run of Chinese or Japanese text without
# spaces is one token (see docs/architecture.md, "Search").
SQLITE_TABLE = """
CREATE VIRTUAL TABLE posts_fts USING fts5(
    caption, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 0'
)
"""

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER posts_fts_after_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts (rowid, caption) VALUES (new.id, new.caption);
    END
    """,
    """
    CREATE TRIGGER posts_fts_after_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, caption) VALUES ('delete', old.id, old.caption);
    END
    """,
    """
    CREATE TRIGGER posts_fts_after_update AFTER UPDATE OF caption ON posts BEGIN
        INSERT INTO posts_fts (posts_fts, rowid, caption) VALUES ('delete', old.id, old.caption);
        INSERT INTO posts_fts (rowid, caption) VALUES (new.id, new.caption);
    END
    """,
)

# NOCASE folds ASCII letters only, exactly like SQLite's lower(); a plain column index (not an
# expression) is also one that reflection understands.
SQLITE_INDEXES = (
    "CREATE INDEX ix_users_display_name_prefix ON users (display_name COLLATE NOCASE)",
)

# text_pattern_ops / varchar_pattern_ops compare code points, whatever the collation, so the
# search's ~>=~ / ~<~ prefix ranges use them.
POSTGRESQL_INDEXES = (
    "CREATE INDEX ix_users_display_name_prefix ON users (lower(display_name) text_pattern_ops)",
    "CREATE INDEX ix_users_username_prefix ON users (username varchar_pattern_ops)",
    "CREATE INDEX ix_post_tags_tag_prefix ON post_tags (tag varchar_pattern_ops)",
    "CREATE INDEX ix_posts_caption_fts ON posts USING gin (to_tsvector('simple'::regconfig, caption))",
)


# MySQL and MariaDB. Display names compare under utf8mb4_unicode_ci (the rest of the schema is
# utf8mb4_bin, see migrations/env.py), so a plain index serves a case-insensitive
# ``LIKE 'p%'``; usernames (unique, lower-case) and tags are already indexed, and LIKE with a
# constant prefix is an index range in code-point order under _bin.
MYSQL_INDEXES = (
    "ALTER TABLE users MODIFY display_name VARCHAR(64) CHARACTER SET utf8mb4 "
    "COLLATE utf8mb4_unicode_ci NOT NULL",
    "CREATE INDEX ix_users_display_name_prefix ON users (display_name)",
    "CREATE INDEX ix_post_tags_tag_prefix ON post_tags (tag)",
)
# MySQL 8 ships InnoDB's ngram parser, which indexes every two characters, so Chinese and
# Japanese words are found inside a run of text. MariaDB has no ngram parser; there the search
# matches captions by regular expression instead (tornagram/search/mysql.py, docs/architecture.md).
MYSQL_NGRAM_INDEX = "ALTER TABLE posts ADD FULLTEXT INDEX ix_posts_caption_fts (caption) WITH PARSER ngram"


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_unread",
            ["recipient_id"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )

    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_TABLE)
        for statement in SQLITE_TRIGGERS + SQLITE_INDEXES:
            op.execute(statement)
        # Index the captions that already exist.
        op.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
    elif op.get_bind().dialect.name == "mysql":
        for statement in MYSQL_INDEXES:
            op.execute(statement)
        if not op.get_bind().dialect.is_mariadb:
            op.execute(MYSQL_NGRAM_INDEX)
    else:
        for statement in POSTGRESQL_INDEXES:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "mysql":
        if not op.get_bind().dialect.is_mariadb:
            op.execute("DROP INDEX ix_posts_caption_fts ON posts")
        op.execute("DROP INDEX ix_post_tags_tag_prefix ON post_tags")
        op.execute("DROP INDEX ix_users_display_name_prefix ON users")
        op.execute(
            "ALTER TABLE users MODIFY display_name VARCHAR(64) CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_bin NOT NULL"
        )
    elif op.get_bind().dialect.name == "sqlite":
        for name in ("after_update", "after_delete", "after_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS posts_fts_{name}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
        op.execute("DROP INDEX IF EXISTS ix_users_display_name_prefix")
    else:
        for name in (
            "ix_posts_caption_fts",
            "ix_post_tags_tag_prefix",
            "ix_users_username_prefix",
            "ix_users_display_name_prefix",
        ):
            op.execute(f"DROP INDEX IF EXISTS {name}")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_unread",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
