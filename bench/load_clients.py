"""The clients of ``bench.load``: locust users (``FastHttpUser``), each at a desk of the plan.

Run by ``bench.load`` in a process of its own (locust patches the standard library for gevent
when it is imported, which the engine's set-up in the parent must not see):

``python -m bench.load_clients --plan PLAN.json --host http://127.0.0.1:PORT --users N
--seconds S [--think T] --out RESULT.json``

Every client logs in as its desk's preparer, its body's secretary and the auditor (three
sessions, each through the login form), then waits until every client has logged in; from then
on, for ``--seconds``, each picks one of its tasks at random, with a think time drawn uniformly
from half to one and a half ``--think`` seconds between them: My work (its preparer, and for
client 0 the preparer holding the heavy list), the proposal list, a proposal page and its
history, the API's proposal list (its preparer's token), the secretary's My work (role queues)
and an agenda with each item's completeness, the auditor's year history, and a step: its
proposal to review (the preparer) and back (the secretary, with a reason), through the web form
(a POST; the redirect that follows it is not part of the step's time). Every request of the
measured window is written to ``--out`` with its time: nothing before all logins, nothing after
the window."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, events, task
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from locust.exception import StopUser

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_ALT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The page names, in the order the report prints them (bench.load reads them from here).
PAGES = (
    "My work",
    "My work, heavy preparer",
    "proposal list",
    "proposal page",
    "history",
    "API proposal list",
    "My work, secretary",
    "agenda",
    "audit year",
    "transition",
)
TRANSITION = "transition"


class Shared:
    """What the clients of one run share: the plan, who has logged in, the measured window."""

    plan: ClassVar[dict[str, Any]] = {}
    think: ClassVar[float] = 1.0
    clients: ClassVar[int] = 0
    logged_in: ClassVar[int] = 0
    go: ClassVar[Event] = Event()
    window: ClassVar[list[float]] = [0.0, 0.0]  # wall time of the window's start and end
    records: ClassVar[list[tuple[str, float, float, bool]]] = []  # page, started, ms, ok
    failures: ClassVar[dict[str, list[str]]] = {}
    numbers: ClassVar[Iterator[int]] = itertools.count()


def csrf(html: str) -> str:
    match = CSRF.search(html) or CSRF_ALT.search(html)
    if match is None:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1)


def record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    **_: Any,
) -> None:
    del request_type, response_length
    start, end = Shared.window
    now = time.time()
    if not Shared.go.is_set() or name not in PAGES or (end and now > end):
        return
    started = now - response_time / 1000.0 - start
    Shared.records.append((name, started, response_time, exception is None))
    if exception is not None:
        Shared.failures.setdefault(name, []).append(str(exception)[:300])


class Desk(FastHttpUser):
    wait_time = between(0.5, 1.5)  # replaced by --think
    network_timeout = 600.0  # logins queue behind the workers' one password hash at a time
    connection_timeout = 10.0

    def on_start(self) -> None:
        number = next(Shared.numbers)
        desks = Shared.plan["desks"]
        self.desk = desks[number % len(desks)]
        self.org = Shared.plan["organisation"]
        self.year = Shared.plan["year"]
        self.rng = random.Random(number)
        self.prep = self.client
        self.sec = self._session()
        self.aud = self._session()
        try:
            for session, username in (
                (self.prep, self.desk["preparer"]),
                (self.sec, self.desk["secretary"]),
                (self.aud, self.desk["auditor"]),
            ):
                self._login(session, username)
        except RuntimeError as exc:  # counted, so the others do not wait for this one
            Shared.failures.setdefault("login", []).append(str(exc))
            self._ready()
            raise StopUser from exc
        self.api = {"Authorization": f"Bearer {self.desk['token']}"}
        self.step = 0  # 0: the preparer submits for review; 1: the secretary returns it
        page = self.prep.get(f"/proposals/{self.desk['stepper']}", name="setup")
        if "submit_for_review" not in (page.text or ""):
            self.step = 1  # a run before this one left it in review
        self.tokens = {
            id(self.prep): csrf(page.text or ""),
            id(self.sec): csrf(self.sec.get("/", name="setup").text or ""),
        }
        self._ready()
        Shared.go.wait()

    def _ready(self) -> None:
        Shared.logged_in += 1
        if Shared.logged_in == Shared.clients:
            Shared.window[0] = time.time()
            Shared.go.set()

    def _session(self) -> FastHttpSession:
        return FastHttpSession(
            base_url=self.host,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
        )

    def _login(self, session: FastHttpSession, username: str) -> None:
        form = session.get("/login", name="login").text or ""
        answer = session.post(
            "/login",
            name="login",
            data={
                "username": username,
                "password": Shared.plan["password"],
                "csrf_token": csrf(form),
                "next": "",
            },
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{username} could not log in: {answer.status_code}")

    def _get(self, session: FastHttpSession, address: str, name: str, **kw: Any) -> None:
        with session.get(address, name=name, catch_response=True, **kw) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code} {address}")

    @task
    def my_work(self) -> None:
        name = "My work, heavy preparer" if self.desk["heavy"] else "My work"
        self._get(self.prep, "/", name)

    @task
    def proposal_list(self) -> None:
        self._get(self.prep, "/proposals/", "proposal list")

    @task
    def proposal_page(self) -> None:
        self._get(self.prep, f"/proposals/{self.rng.choice(self.desk['reads'])}", "proposal page")

    @task
    def history(self) -> None:
        pid = self.rng.choice(self.desk["reads"])
        self._get(self.prep, f"/proposals/{pid}/history", "history")

    @task
    def api_list(self) -> None:
        address = f"/api/v1/proposals?organisation={self.org}"
        self._get(self.prep, address, "API proposal list", headers=self.api)

    @task
    def secretary_work(self) -> None:
        self._get(self.sec, "/", "My work, secretary")

    @task
    def agenda(self) -> None:
        if self.desk["meetings"]:
            self._get(self.sec, f"/meetings/{self.rng.choice(self.desk['meetings'])}", "agenda")

    @task
    def audit_year(self) -> None:
        self._get(self.aud, f"/audit/?year={self.year}", "audit year")

    @task
    def transition(self) -> None:
        if self.step == 0:
            session, trigger = self.prep, "submit_for_review"
        else:
            session, trigger = self.sec, "return_for_revision"
        address = f"/proposals/{self.desk['stepper']}/transitions/{trigger}"
        data = {"csrf_token": self.tokens[id(session)], "reason": "Kuormitustesti.", "version": ""}
        with session.post(
            address, name=TRANSITION, data=data, allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code == 302:
                self.step = 1 - self.step
            else:
                answer.failure(f"{answer.status_code} {trigger}")


def run(plan: dict[str, Any], host: str, users: int, seconds: float, think: float) -> None:
    Shared.plan.update(plan)
    Shared.clients, Shared.think = users, think
    Desk.host = host
    Desk.wait_time = between(think * 0.5, think * 1.5) if think > 0 else between(0, 0)
    env = Environment(user_classes=[Desk], events=events)
    env.events.request.add_listener(record)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=max(1, users))
    if not Shared.go.wait(timeout=600):
        runner.quit()
        raise SystemExit(f"only {Shared.logged_in} of {users} clients logged in within 600 s")
    gevent.sleep(seconds)
    Shared.window[1] = time.time()
    runner.quit()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_clients", description=__doc__)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if not args.host.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("the load goes to this machine's loopback only")
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    run(plan, args.host, args.users, args.seconds, args.think)
    start, end = Shared.window
    result = {
        "users": args.users,
        "think": args.think,
        "window": [start, end],
        "records": Shared.records,
        "failures": {k: v[:5] for k, v in Shared.failures.items()},
        "failure_counts": {k: len(v) for k, v in Shared.failures.items()},
        "clients_logged_in": Shared.clients - len(Shared.failures.get("login", [])),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
