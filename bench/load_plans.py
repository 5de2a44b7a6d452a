"""The hot queries of the loaded pages, with their plans (issue 10, part 8).

``python -m bench.load_plans --database URL [--top 3] [--pages NAME,...] [--no-explain]``

Runs each page of ``bench.load`` once in this process (the Flask application on the same
engine, a test client logged in as the desk's user: client 0's, the preparer holding the heavy
list), after a first request that warms the caches, and records every SQL statement the second
one sends with its parameters and its time. Prints per page the statements, their total time
and the request's, then for the slowest ``--top`` SELECTs the plan PostgreSQL chose, measured:
``EXPLAIN (ANALYZE, BUFFERS)`` run with the same parameters in a transaction that is rolled
back. The database must have been loaded by ``bench.load`` once (its work in progress and the
desks' users); nothing here writes to it but the pages' own audit records and a step taken and
taken back (``transition``)."""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from bench import load_setup
from eva_engine.config import Settings, default_workflows_dir
from eva_engine.db.unit_of_work import Database
from eva_engine.services.runtime import Eva
from web import create_app

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Statement:
    sql: str
    parameters: Any
    ms: float


@dataclass
class Recorder:
    on: bool = False
    statements: list[Statement] = field(default_factory=list)
    _started: dict[int, float] = field(default_factory=dict)

    def install(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, cursor: Any, *_: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        began = self._started.pop(id(cursor), None)
        if self.on and began is not None:
            self.statements.append(Statement(sql, parameters, 1000 * (time.perf_counter() - began)))

    @contextmanager
    def recording(self) -> Iterator[list[Statement]]:
        self.statements = []
        self.on = True
        try:
            yield self.statements
        finally:
            self.on = False


def login(client: FlaskClient, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    match = CSRF.search(page)
    assert match is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
    )
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not log in ({answer.status_code})")


def explain(engine: Engine, statement: Statement) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.parameters
        ).all()
        conn.rollback()
    return "\n".join(str(r[0]) for r in rows)


def shorten(sql: str, width: int = 400) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


class Desk:
    """The pages of client 0's desk (bench.load), in this process's test clients."""

    def __init__(self, app: Flask, plan: load_setup.Plan) -> None:
        self.plan, self.desk = plan, plan.desks[0]
        self.prep, self.sec, self.aud = (app.test_client() for _ in range(3))
        for client, username in (
            (self.prep, self.desk.preparer),
            (self.sec, self.desk.secretary),
            (self.aud, self.desk.auditor),
        ):
            login(client, username, plan.password)

    def pages(self) -> dict[str, Callable[[], Any]]:
        prep, sec, aud, desk = self.prep, self.sec, self.aud, self.desk
        api = {"Authorization": f"Bearer {desk.token}"}
        read = desk.reads[0]
        meeting = desk.meetings[0] if desk.meetings else 0
        return {
            "My work, heavy preparer": lambda: prep.get("/"),
            "My work, secretary": lambda: sec.get("/"),
            "proposal list": lambda: prep.get("/proposals/"),
            "proposal page": lambda: prep.get(f"/proposals/{read}"),
            "history": lambda: prep.get(f"/proposals/{read}/history"),
            "API proposal list": lambda: prep.get(
                f"/api/v1/proposals?organisation={self.plan.organisation}", headers=api
            ),
            "agenda": lambda: sec.get(f"/meetings/{meeting}"),
            "audit year": lambda: aud.get(f"/audit/?year={self.plan.year}"),
        }

    def step(self, client: FlaskClient, trigger: str) -> int:
        """The desk's step through the web form (its proposal page first, for the token)."""
        page = client.get(f"/proposals/{self.desk.stepper}").get_data(as_text=True)
        match = CSRF.search(page)
        assert match is not None
        answer = client.post(
            f"/proposals/{self.desk.stepper}/transitions/{trigger}",
            data={"csrf_token": match.group(1), "reason": "Kyselysuunnitelma.", "version": ""},
        )
        return answer.status_code


def show_page(
    name: str, request: Callable[[], Any], recorder: Recorder, engine: Engine, top: int, plans: bool
) -> None:
    request()  # warm: templates, definitions, the pool
    started = time.perf_counter()
    with recorder.recording() as statements:
        answer = request()
    spent = 1000 * (time.perf_counter() - started)
    sql_ms = sum(s.ms for s in statements)
    print(
        f"\n## {name}: HTTP {answer.status_code}, {len(statements)} statements,"
        f" SQL {sql_ms:.1f} ms of {spent:.1f} ms"
    )
    reads = [s for s in statements if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    for s in sorted(reads, key=lambda s: -s.ms)[:top]:
        print(f"\n-- {s.ms:.2f} ms: {shorten(s.sql)}")
        if plans:
            print(explain(engine, s))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_plans", description=__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--pages", default="", help="only these pages (comma-separated)")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args(argv)
    database = Database.connect(args.database)
    if database.engine.dialect.name != "postgresql" and not args.no_explain:
        raise SystemExit("the plans are PostgreSQL's: give a postgresql:// URL (or --no-explain)")
    eva = Eva(database, default_workflows_dir())
    plan = load_setup.plan(eva, 1, 10, 2026)
    settings = Settings.from_env(
        {
            "EVA_DATABASE_URL": args.database,
            "EVA_ENV": "development",
            "EVA_SECRET_KEY": secrets.token_urlsafe(48),
        }
    )
    recorder = Recorder()
    recorder.install(database.engine)
    desk = Desk(create_app(settings, engine=eva), plan)
    wanted = {p.strip() for p in args.pages.split(",") if p.strip()}
    print(f"{plan.proposals} proposals, {plan.events} audit events")
    for name, request in desk.pages().items():
        if not wanted or name in wanted:
            show_page(name, request, recorder, database.engine, args.top, not args.no_explain)
    if not wanted or "transition" in wanted:
        with recorder.recording() as statements:
            started = time.perf_counter()
            status = desk.step(desk.prep, load_setup.SUBMIT)
            spent = 1000 * (time.perf_counter() - started)
        print(
            f"\n## transition (HTTP {status}; with the proposal page it is fired from):"
            f" {len(statements)} statements, SQL {sum(s.ms for s in statements):.1f} ms"
            f" of {spent:.1f} ms"
        )
        for s in sorted(statements, key=lambda s: -s.ms)[: args.top]:
            print(f"-- {s.ms:.2f} ms: {shorten(s.sql, 200)}")
        desk.step(desk.sec, load_setup.RETURN)  # and back, where it was
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
