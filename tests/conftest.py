"""Test fixtures: every vault test runs on SQLite and on PostgreSQL.

A fabricated world (tenants, personas, records) is built once per backend and per test
process, then cloned for each test: the home directory (keys, SQLite file, blobs) is copied
and, on PostgreSQL, the test gets a copy of the world's template database from a per-process
pool; when the test ends its rows are put back as the template had them (tests/support/pg.py),
which costs a fraction of creating and dropping a database each time.

PostgreSQL and browser tests must run in CI: with PHIVAULT_NO_SKIP=1 a skip is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from phivault.api.app import create_app
from phivault.bootstrap import open_vault
from phivault.clock import FrozenClock
from phivault.config import Settings
from phivault.vault import Vault
from tests.support import pg
from tests.support.world import World, build_world

NO_SKIP = os.environ.get("PHIVAULT_NO_SKIP") == "1"
# Production argon2id parameters cost ~100 ms a hash; the suite hashes thousands of times.
os.environ.setdefault("PHIVAULT_ARGON2_FAST", "1")
BACKENDS = ("sqlite", "postgres")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a skipped test is a failed test: nothing required may silently not run."""
    outcome = yield
    report = outcome.get_result()
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI (PHIVAULT_NO_SKIP=1), which counts as a failure: {reason}"


_pg_problem = pg.available()


def require_postgres() -> None:
    if _pg_problem:
        message = f"PostgreSQL is not reachable at {pg.ADMIN_URL}: {_pg_problem}"
        print(f"\n!!! SKIPPING POSTGRESQL TESTS: {message} !!!\n")
        pytest.skip(message)


@dataclass
class Template:
    backend: str
    home: Path
    database: str | None
    world: World
    pool: pg.DatabasePool | None = None


_templates: dict[str, Template] = {}


def _settings(home: Path, database: str | None) -> Settings:
    return Settings(
        home=home,
        database_url=pg.url_for(database) if database else None,
        master_key=None,
    )


def _template(backend: str, root: Path) -> Template:
    if backend in _templates:
        return _templates[backend]
    home = root / f"template-{backend}"
    database = pg.create_database() if backend == "postgres" else None
    vault, world = build_world(_settings(home, database), FrozenClock(), home)
    vault.db.dispose()
    pool = pg.DatabasePool(database) if database else None
    _templates[backend] = Template(backend, home, database, world, pool)
    return _templates[backend]


@pytest.fixture(scope="session")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("templates")
    yield root
    for template in _templates.values():
        if template.pool:
            template.pool.close()
        if template.database:
            pg.drop_database(template.database)
    _templates.clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@dataclass
class Env:
    """One test's installation: a vault on a fresh copy of the world, plus its clock."""

    backend: str
    vault: Vault
    world: World
    clock: FrozenClock
    settings: Settings
    database: str | None

    def reopen(self) -> Vault:
        return open_vault(self.settings, self.clock)


@pytest.fixture
def env(backend: str, template_root: Path, tmp_path: Path) -> Iterator[Env]:
    yield from _env(backend, template_root, tmp_path)


@pytest.fixture
def pg_env(template_root: Path, tmp_path: Path) -> Iterator[Env]:
    """For the PostgreSQL-only properties (row-level security, triggers, roles)."""
    require_postgres()
    yield from _env("postgres", template_root, tmp_path)


def _env(backend: str, template_root: Path, tmp_path: Path) -> Iterator[Env]:
    template = _template(backend, template_root)
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    # PostgreSQL: a copy of the world's database from this process's pool, put back as the
    # template had it when the test ends (or dropped, if the test changed its schema).
    database = template.pool.take() if template.pool else None
    settings = _settings(home, database)
    clock = FrozenClock()
    vault = open_vault(settings, clock)
    try:
        yield Env(backend, vault, template.world, clock, settings, database)
    finally:
        vault.db.dispose()
        if template.pool and database:
            template.pool.give_back(database)


@pytest.fixture
def vault(env: Env) -> Vault:
    return env.vault


@pytest.fixture
def world(env: Env) -> World:
    return env.world


_app: list[FastAPI] = []


def app_for(vault: Vault) -> FastAPI:
    """This process's one application, serving ``vault``.

    FastAPI builds an application's routing tables (every route's dependency tree) on its
    first request: about 0.2 s for phivault's, which each test would pay again with an
    application of its own. Tests that need two applications at once use create_app.
    """
    if not _app:
        _app.append(create_app(vault))
    _app[0].state.vault = vault
    return _app[0]


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(app_for(env.vault), raise_server_exceptions=False) as test_client:
        yield test_client
