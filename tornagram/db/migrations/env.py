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


def _run(connection) -> None:
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
