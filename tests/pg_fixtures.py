"""pytest plugin: fixtures for tests that need the local PostgreSQL test server.

The server is started by ``scripts/pg_test_server.sh start`` (``make test`` does
it) and its SQLAlchemy URL is passed in ``SECPORTAL_TEST_PG_URL``, e.g.::

    postgresql+psycopg://postgres@127.0.0.1:54329/secportal_test

Fixtures
--------
``pg_url`` (session)
    The URL of the ``secportal_test`` database. When ``SECPORTAL_TEST_PG_URL``
    is unset the test is *skipped* locally, but *fails* when ``CI`` is true or
    ``SECPORTAL_REQUIRE_PG=1``, so CI can never silently skip PostgreSQL tests.
    A URL that is set but unreachable always fails.
``pg_engine_factory`` (function)
    A callable returning a new SQLAlchemy engine bound to a fresh, uniquely
    named, empty database; every database it made is dropped after the test.
``pg_engine`` (function)
    ``pg_engine_factory()``: one fresh database per test.

Register with ``pytest_plugins = ["..."]`` in the top-level conftest or with
``-p`` (see the module name that works for your pytest configuration).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

ENV_URL = "SECPORTAL_TEST_PG_URL"
ENV_REQUIRE = "SECPORTAL_REQUIRE_PG"
SKIP_REASON = (
    "PostgreSQL test server not running: run `make test` or "
    "scripts/pg_test_server.sh start"
)
# Prefix of every per-test database; lets a human (or a cleanup query) spot
# leftovers from an interrupted run: SELECT datname FROM pg_database WHERE
# datname LIKE 'secportal_t_%'.
DB_PREFIX = "secportal_t_"
_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,63}$")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def postgres_required() -> bool:
    """True when a missing PostgreSQL server must fail rather than skip."""
    return _truthy(os.environ.get("CI")) or _truthy(os.environ.get(ENV_REQUIRE))


def _normalise_url(raw: str) -> URL:
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"{ENV_URL} must be a postgresql URL, got {url.drivername!r}")
    # A bare postgresql:// URL would make SQLAlchemy look for psycopg2; the
    # project ships psycopg (v3).
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def new_database_name() -> str:
    return f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        # WITH (FORCE) (PostgreSQL >= 13) also kills anything that connected
        # between the terminate above and the drop.
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def temporary_database(admin: Engine, **engine_kwargs: object) -> Iterator[Engine]:
    """Create a fresh, empty database; yield an engine on it; drop it after.

    ``admin`` must be an AUTOCOMMIT engine (CREATE/DROP DATABASE cannot run
    inside a transaction) connected to the server, e.g. to ``secportal_test``.
    """
    name = new_database_name()
    assert _SAFE_NAME.match(name), name  # interpolated into DDL below
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(admin.url.set(database=name), **engine_kwargs)
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_database(admin, name)


@pytest.fixture(scope="session")
def pg_url() -> URL:
    raw = os.environ.get(ENV_URL, "").strip()
    if not raw:
        if postgres_required():
            pytest.fail(
                f"{ENV_URL} is not set but PostgreSQL tests are required "
                f"(CI={os.environ.get('CI')!r}, {ENV_REQUIRE}="
                f"{os.environ.get(ENV_REQUIRE)!r}). {SKIP_REASON}",
                pytrace=False,
            )
        pytest.skip(SKIP_REASON)
    try:
        return _normalise_url(raw)
    except Exception as exc:  # noqa: BLE001 - report any parse problem clearly
        pytest.fail(f"invalid {ENV_URL}={raw!r}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def _pg_admin_engine(pg_url: URL) -> Iterator[Engine]:
    """AUTOCOMMIT engine on the secportal_test database, for CREATE/DROP DATABASE."""
    engine = sa.create_engine(
        pg_url,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        # The URL was given, so the caller expects a server: fail, never skip.
        pytest.fail(
            f"cannot connect to the PostgreSQL test server at "
            f"{pg_url.render_as_string(hide_password=True)}: {exc}. "
            "Is it running? scripts/pg_test_server.sh status",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine_factory(_pg_admin_engine: Engine) -> Iterator[Callable[..., Engine]]:
    """Callable making engines on fresh databases, all dropped after the test.

    Keyword arguments are passed to ``sqlalchemy.create_engine``.
    """
    with contextlib.ExitStack() as stack:

        def make(**engine_kwargs: object) -> Engine:
            return stack.enter_context(temporary_database(_pg_admin_engine, **engine_kwargs))

        yield make


@pytest.fixture
def pg_engine(pg_engine_factory: Callable[..., Engine]) -> Engine:
    """SQLAlchemy engine on a fresh, uniquely named database (dropped after)."""
    return pg_engine_factory()
