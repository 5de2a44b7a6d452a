"""Test fixtures. A database test runs on SQLite; one marked ``postgres`` (PostgreSQL behaves
differently there: concurrency, locking, SQL, migrations, backups) runs on PostgreSQL as well.
``EVA_TEST_BACKENDS=all`` runs every database test on both, ``=postgresql`` on PostgreSQL only,
``=sqlite`` on SQLite only (docs/testing.md).

Each backend gets a fresh database for the test session (for each pytest-xdist worker),
migrated with Alembic and with the workflows published. Each test then runs inside one outer
transaction that is rolled back at the end; the units of work inside it commit to savepoints
(SQLAlchemy's "joining a session into an external transaction"). PostgreSQL comes from
EVA_TEST_POSTGRES_URL (default: the local server); without one those tests skip, unless
EVA_REQUIRE_POSTGRES=1 makes them fail. Tests in tests/unit/ take no database at all."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services import definitions
from eva_engine.services.runtime import Caller, Eva

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
BACKENDS_VARIABLE = "EVA_TEST_BACKENDS"
# The fixtures that reach a database; a unit test (tests/unit/) may use none of them.
DATABASE_FIXTURES = frozenset({"backend", "fresh_databases", "migrated_engine", "eva", "world"})
UNIT_DIR = Path(__file__).resolve().parent / "unit"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def chosen_backends() -> str:
    """EVA_TEST_BACKENDS: unset (SQLite; PostgreSQL too where marked), all, sqlite, postgresql."""
    wanted = os.environ.get(BACKENDS_VARIABLE, "").strip().lower()
    if wanted not in ("", "all", *BACKENDS):
        raise pytest.UsageError(
            f"{BACKENDS_VARIABLE}={wanted!r}: use all, sqlite or postgresql, or leave it unset"
        )
    return wanted


def backends_for(marked_postgres: bool) -> list[str]:
    """The backends a database test runs on."""
    wanted = chosen_backends()
    if wanted in BACKENDS:
        return [wanted]
    if wanted == "all" or marked_postgres:
        return list(BACKENDS)
    return ["sqlite"]


def pytest_configure() -> None:
    chosen_backends()  # a misspelt EVA_TEST_BACKENDS stops the run before anything runs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that reaches a database gets its backends (one session database each)."""
    if "backend" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker("postgres") is not None
        metafunc.parametrize("backend", backends_for(marked), indirect=True, scope="session")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests share one worker (one served app, one Chromium) under pytest-xdist's
    ``--dist loadgroup``. A unit test that asks for a database is a mistake: refused here."""
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if grouped and item.path.is_relative_to(BROWSER_DIR):
            item.add_marker(pytest.mark.xdist_group("browser"))
        if not item.path.is_relative_to(UNIT_DIR):
            continue
        used = DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used:
            raise pytest.UsageError(
                f"{item.nodeid}: a unit test takes no database, yet it uses "
                f"{', '.join(sorted(used))} (move it out of tests/unit/)"
            )


def postgres_admin_url() -> str:
    return os.environ.get("EVA_TEST_POSTGRES_URL", DEFAULT_PG)


def postgres_required() -> bool:
    return os.environ.get("EVA_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    engine = make_engine(postgres_admin_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: no server here
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        engine.dispose()
    return None


def skip_without_postgres() -> None:
    problem = _pg_reachable()
    if problem is None:
        return
    message = f"PostgreSQL not reachable at {postgres_admin_url()}: {problem}"
    if postgres_required():
        pytest.fail(message + " (EVA_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


class FreshDatabase:
    """Creates (and later drops) an empty database of one backend."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.created: list[str] = []

    def new_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / f'eva-{uuid.uuid4().hex[:8]}.sqlite3'}"
        name = f"eva_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(
            make_url(postgres_admin_url()).set(drivername="postgresql+psycopg"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return (
            make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)
        )

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(
            make_url(postgres_admin_url()).set(drivername="postgresql+psycopg"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """The web UI reads compiled catalogs; compile them from the .po sources."""
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415

    root = Path(__file__).resolve().parent.parent / "eva_engine" / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        # Written aside and renamed into place: pytest-xdist workers compile at the same time,
        # and none of them may read a half-written catalog.
        with tempfile.NamedTemporaryFile("wb", dir=po.parent, suffix=".tmp", delete=False) as out:
            write_mo(out, catalog)
        Path(out.name).chmod(0o644)
        os.replace(out.name, po.with_suffix(".mo"))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id with its cheapest parameters: the suite hashes hundreds of passwords.
    Production keeps the library's recommended parameters."""
    from argon2 import PasswordHasher, profiles  # noqa: PLC0415

    from eva_engine.services.people import accounts  # noqa: PLC0415

    saved = accounts._HASHER, accounts._DUMMY_HASH
    accounts._HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
    accounts._DUMMY_HASH = accounts._HASHER.hash("dummy")
    yield
    accounts._HASHER, accounts._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this test's database: parametrized by ``pytest_generate_tests``."""
    name: str = request.param
    if name == "postgresql":
        skip_without_postgres()
    return name


@pytest.fixture(scope="session")
def fresh_databases(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FreshDatabase]:
    factory = FreshDatabase(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield factory
    factory.drop_all()


def publish_workflows(eva: Eva) -> None:
    definitions.publish(eva, Caller(None, "tests"))


@pytest.fixture(scope="session")
def migrated_engine(fresh_databases: FreshDatabase) -> Iterator[Engine]:
    """One migrated database per backend, with the shipped workflows published."""
    engine = make_engine(fresh_databases.new_url())
    upgrade(engine)
    publish_workflows(Eva(Database(engine), default_workflows_dir()))
    yield engine
    engine.dispose()


@pytest.fixture
def eva(migrated_engine: Engine, tmp_path: Path) -> Iterator[Eva]:
    """The engine on a connection whose outer transaction is rolled back after the test (and
    an attachments' store of the test's own)."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        yield Eva(Database(connection), default_workflows_dir(), tmp_path / "attachments")
        outer.rollback()


@dataclass(frozen=True)
class World:
    """A small municipality: three bodies, one user per role, and a foreign organisation."""

    org: str = "testila"
    other_org: str = "muualla"


@pytest.fixture
def world(eva: Eva) -> World:
    from tests.builders import build_world  # noqa: PLC0415 - keeps fixtures light

    build_world(eva)
    return World()


def committed_postgres_world(tmp_path: Path) -> Iterator[tuple[Eva, str]]:
    """A committed PostgreSQL database of its own with the small municipality in it (races
    need real transactions, not the rolled-back outer one): the engine and its URL."""
    from tests.builders import build_world  # noqa: PLC0415 - keeps fixtures light

    skip_without_postgres()
    databases = FreshDatabase("postgresql", tmp_path)
    url = databases.new_url()
    eva = Eva(Database.connect(url), default_workflows_dir())
    upgrade(eva.database.engine)
    publish_workflows(eva)
    build_world(eva)
    yield eva, url
    eva.database.dispose()
    databases.drop_all()
