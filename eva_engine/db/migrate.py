"""Running the Alembic migrations from code (``eva db upgrade``, the tests).

The configuration is built here, not read from ``alembic.ini``: an installed wheel has no
``alembic.ini``, and its migrations live inside the package (``config.migrations_dir``). The
top-level ``alembic.ini`` of the checkout serves only the ``alembic`` command (``alembic
revision --autogenerate``); it points at the same ``migrations/`` folder."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from eva_engine.config import migrations_dir


def alembic_config() -> Config:
    config = Config()
    # set_main_option interpolates like an .ini file: a % in the path must be doubled.
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - rarely used

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
