"""Alembic environment: runs migrations on a connection we hand it, or on the configured URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context

from tornagram.db.engine import create_engine
from tornagram.db.models import metadata
from tornagram.db.unmanaged import include_name

config = context.config


def _url() -> str:
    # Run from the alembic CLI (a developer writing a migration), the environment names the
    # database; run from code, the caller already set it.
    if config.config_file_name and os.environ.get("TORNAGRAM_DATABASE_URL"):
        return os.environ["TORNAGRAM_DATABASE_URL"]
    return config.get_main_option("sqlalchemy.url")


def _utf8mb4(connection) -> None:
    """MySQL and MariaDB: tables take the database's default character set, and migrations name
    none, so the database's default is utf8mb4 (four bytes: emoji, every CJK character) with
    the binary collation: strings compare by code point, as on SQLite and PostgreSQL, so unique
    usernames, tags and tokens match exactly ("Café" is not "cafe")."""
    row = connection.exec_driver_sql(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
        " WHERE SCHEMA_NAME = DATABASE()"
    ).one()
    if tuple(row) != ("utf8mb4", "utf8mb4_bin"):
        name = connection.exec_driver_sql("SELECT DATABASE()").scalar_one()
        quoted = connection.dialect.identifier_preparer.quote_identifier(name)
        connection.exec_driver_sql(
            f"ALTER DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )


def _run(connection) -> None:
    if connection.dialect.name == "mysql":
        _utf8mb4(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Full-text search objects are made by hand (db/unmanaged.py); never offer to drop them.
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(_url()))
