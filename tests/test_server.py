"""The production server: ``eva serve`` runs gunicorn with several worker processes on one
PostgreSQL database. A session made by one worker is honoured by the other, concurrent reads and
idempotent writes spread over both answer correctly and leave a chain that verifies, every
worker stays under 200 MB, the master holds no database connection, and SIGTERM lets the
request in flight finish. Real processes on loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from eva_engine.config import Settings
from eva_engine.errors import ConfigurationError
from eva_engine.models import Assignment, AuditEvent, Proposal
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import AssignmentState
from tests.api_support import make_token
from tests.builders import OPERATOR, new_proposal
from tests.conftest import committed_postgres_world
from tests.notify_support import free_port
from tests.test_web import csrf
from web.server import EvaServer, ServerOptions, require_shared_state

ROOT = Path(__file__).resolve().parent.parent
EVA = [sys.executable, "-c", "from web.cli import main; main()"]
PASSWORD = "testi-salasana-123"  # noqa: S105 - a test password
CLIENTS, REQUESTS = 8, 25
PEAK_RSS_LIMIT_MB = 200
# gunicorn's access log line: ... "GET /path HTTP/1.1" 200 ... <pid> (see ACCESS_LOG_FORMAT)
ACCESS = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) .* <(?P<pid>\d+)>$'
)


def eva_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVA_", "GUNICORN_"))}
    # EVA_ENV=test and no EVA_SECRET_KEY: outside the server each application would make a
    # key of its own, so this also shows that the workers share one.
    return env | {"EVA_DATABASE_URL": url, "EVA_ENV": "test", **extra}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def served_by(self) -> dict[str, int]:
        """The worker that answered each request, by its path (query string included)."""
        found: dict[str, int] = {}
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if match := ACCESS.search(line):
                found[match["path"]] = int(match["pid"])
        return found

    def logged(self, *fragments: str, timeout: float = 30) -> str:
        """The log once it holds every fragment: a worker writes a request's access line only
        after it has sent the answer."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log.read_text(encoding="utf-8")
            if all(f in text for f in fragments) or time.monotonic() > deadline:
                return text
            time.sleep(0.1)

    def stop(self, timeout: float = 90) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def start(url: str, tmp: Path, *args: str) -> Server:
    port = free_port()
    log = tmp / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*EVA, "serve", "--port", str(port), *args],
            env=eva_env(url),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 180  # the machine may be busy: importing takes a while
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                if c.get("/healthz").status_code == 200 and len(server.workers()) == 2:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    server.stop()
    raise AssertionError(f"the server did not start:\n{log.read_text(encoding='utf-8')}")


@dataclass
class World:
    eva: Eva
    url: str
    token: str
    mine: list[int]  # one proposal per client, walked through the API
    forms: list[int]  # one per client, walked through the web form


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    for eva, url in committed_postgres_world(tmp_path):
        accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
        yield World(
            eva,
            url,
            make_token(eva, "prep"),
            [new_proposal(eva) for _ in range(CLIENTS)],
            [new_proposal(eva) for _ in range(CLIENTS)],
        )


@pytest.fixture
def server(world: World, tmp_path: Path) -> Iterator[Server]:
    running = start(world.url, tmp_path, "--workers", "2", "--threads", "2")
    yield running
    running.stop()


def browser(base_url: str) -> httpx.Client:
    """A client that opens a new connection for every request, so requests spread over the
    workers instead of sticking to one through keep-alive."""
    return httpx.Client(
        base_url=base_url,
        timeout=60,
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"Accept-Language": "en"},
    )


def log_in(c: httpx.Client, tag: str) -> None:
    token = csrf(c.get(f"/login?probe={tag}").text)
    response = c.post(
        "/login", data={"username": "prep", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'name="password"' not in response.text


def first_allowed(api: httpx.Client, pid: int) -> tuple[str, int]:
    """The first step the token's user may take on the proposal now, and its row version (the
    workflow definition decides which; none is named here)."""
    view = api.get(f"/api/v1/proposals/{pid}").json()
    allowed = [a["trigger"] for a in view["actions"] if a["allowed"]]
    assert allowed, view["actions"]
    return allowed[0], view["row_version"]


def test_a_session_made_by_one_worker_is_honoured_by_the_other(server: Server) -> None:
    with browser(server.base_url) as c:
        log_in(c, "login")
        answers = {}
        for n in range(60):
            answers[f"/?probe={n}"] = c.get(f"/?probe={n}")
            served = server.served_by()
            if len({served.get(p) for p in answers} - {None}) == 2 and n >= 9:
                break
        secret = "eva_" + "k" * 40
        assert c.get(f"/proposals/?access_token={secret}").status_code == 400
    log = server.logged("access_token=[redacted]", *(f"GET {p} " for p in answers))
    served = server.served_by()
    assert "access_token=[redacted]" in log
    assert secret not in log  # the access log never holds a token
    assert all(signed_in(r) for r in answers.values())
    workers = {served[p] for p in answers}
    assert workers == set(server.workers())  # both workers answered, both knew the session
    assert served["/login?probe=login"] in workers


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # idempotency key: proposal id
    fired: Counter[int] = field(default_factory=Counter)  # proposal id: transitions taken
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, what: str, response: httpx.Response, expected: int) -> httpx.Response:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code != expected:
                self.wrong.append(f"{what}: {response.status_code} {response.text[:200]}")
        return response


def client_run(
    world: World, base_url: str, i: int, start_line: threading.Barrier, t: Tally
) -> None:
    bearer = {"Authorization": f"Bearer {world.token}"}
    with browser(base_url) as web, browser(base_url) as api:
        api.headers.update(bearer)
        log_in(web, f"c{i}")
        start_line.wait()
        mine, form = world.mine[i], world.forms[i]
        for j in range(REQUESTS):
            kind = j % 6
            if j == 0:  # a transition through the API, then its replay with the same key
                trigger, _ = first_allowed(api, mine)
                step = {"Idempotency-Key": f"step-{uuid.uuid4()}"}
                path = f"/api/v1/proposals/{mine}/transitions/{trigger}"
                first = t.check("transition", api.post(path, json={}, headers=step), 200)
                again = t.check("replayed transition", api.post(path, json={}, headers=step), 200)
                if first.json() != again.json():
                    t.wrong.append(f"a replay answered differently: {first.text} {again.text}")
                t.fired[mine] += 1
            elif j == 1:  # a transition through the web form: CSRF and session of any worker
                trigger, version = first_allowed(api, form)
                token = csrf(t.check("page", web.get(f"/proposals/{form}"), 200).text)
                data = {"csrf_token": token, "reason": "", "version": str(version)}
                t.check(
                    "form", web.post(f"/proposals/{form}/transitions/{trigger}", data=data), 302
                )
                t.fired[form] += 1
            elif kind == 0:  # a new proposal through the API, sent twice with one key
                key = f"new-{uuid.uuid4()}"
                body = {
                    "organisation": "testila",
                    "case_number": f"{5000 + 100 * i + j}/05.00.00/2026",
                    "title_fi": f"Kuormitus {i}.{j}",
                    "body": "HYVLTK",
                    "presenter": "pres",
                }
                ids = {
                    t.check(
                        "create",
                        api.post("/api/v1/proposals", json=body, headers={"Idempotency-Key": key}),
                        201,
                    ).json()["id"]
                    for _ in range(2)
                }
                if len(ids) != 1:
                    t.wrong.append(f"one key made {len(ids)} proposals")
                t.created[key] = ids.pop()
            else:
                path = [
                    "/",  # My work
                    "/proposals/",
                    f"/proposals/{mine}",
                    f"/proposals/{mine}/history",
                    f"/api/v1/proposals/{mine}",
                ][kind - 1]
                response = t.check(path, (api if path.startswith("/api") else web).get(path), 200)
                if not path.startswith("/api") and not signed_in(response):
                    t.wrong.append(f"{path}: the session was not known")


def worker_sockets_to(port: int, pid: int) -> int:
    """How many TCP connections the process has open to ``port`` (the database's)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if int(cols[2].rsplit(":", 1)[1], 16) == port and cols[9] in inodes:
                count += 1
    return count


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    (kb,) = re.findall(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
    return int(kb) / 1024


def test_two_workers_answer_concurrent_load_correctly(world: World, server: Server) -> None:
    tally = Tally()
    line = threading.Barrier(CLIENTS)
    began = time.monotonic()
    threads = [
        threading.Thread(target=client_run, args=(world, server.base_url, i, line, tally))
        for i in range(CLIENTS)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(600)
    elapsed = time.monotonic() - began
    workers = server.workers()
    peaks = {pid: peak_rss_mb(pid) for pid in workers}
    database_port = 5432
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    database_port = make_url(world.url).port or database_port
    master_connections = worker_sockets_to(database_port, server.process.pid)
    served = Counter(
        pid
        for line in server.log.read_text(encoding="utf-8").splitlines()
        if (m := ACCESS.search(line))
        for pid in [int(m["pid"])]
    )
    print(  # the figures for docs/performance.md
        f"\n{sum(tally.statuses.values())} requests in {elapsed:.1f} s by {CLIENTS} clients: "
        f"{dict(tally.statuses)}; per worker {dict(served)}; "
        f"peak RSS {', '.join(f'{mb:.1f} MB' for mb in peaks.values())}"
    )

    assert not any(th.is_alive() for th in threads)
    assert tally.wrong == []
    assert not [s for s in tally.statuses if s >= 500]
    creates = len([j for j in range(2, REQUESTS) if j % 6 == 0])
    assert sum(tally.statuses.values()) == CLIENTS * (REQUESTS + 2 + creates)  # + replays, page
    assert set(served) == set(workers)  # the load was spread over both
    assert all(mb < PEAK_RSS_LIMIT_MB for mb in peaks.values()), peaks
    assert master_connections == 0  # the master keeps no database connection to share

    with world.eva.reading() as uow:
        session = uow.session
        open_tasks = session.execute(
            select(Assignment.proposal_id, Assignment.kind, func.count())
            .where(Assignment.state == AssignmentState.OPEN)
            .group_by(Assignment.proposal_id, Assignment.kind)
        ).all()
        steps = Counter(
            session.scalars(
                select(AuditEvent.proposal_id).where(AuditEvent.action == "proposal.transition")
            )
        )
        total = session.scalar(select(func.count()).select_from(Proposal))
    assert all(count == 1 for _, _, count in open_tasks)  # no task opened twice
    assert steps == tally.fired  # each step taken once, however often it was sent
    assert total == 2 * CLIENTS + len(tally.created)  # one proposal per key
    assert len(set(tally.created.values())) == len(tally.created)
    verify = subprocess.run(
        [*EVA, "audit", "verify"],
        check=False,
        env=eva_env(world.url),
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stderr.decode()


def test_sigterm_lets_the_request_in_flight_finish(server: Server) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        conn.sendall(b"GET /healthz?probe=in-flight HTTP/1.1\r\nHost: eva\r\n")  # not finished
        time.sleep(1.0)  # a worker has taken the connection and waits for the rest
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        conn.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"status":"ok"' in answer
    assert server.stop() == 0
    assert "Shutting down: Master" in server.log.read_text(encoding="utf-8")


def test_a_production_server_with_a_weak_key_stops_before_any_worker(tmp_path: Path) -> None:
    env = eva_env("sqlite:///" + str(tmp_path / "eva.sqlite3"))
    env |= {"EVA_ENV": "production", "EVA_SECRET_KEY": "changeme-changeme-changeme-changeme"}
    done = subprocess.run(
        [*EVA, "serve", "--port", str(free_port()), "--workers", "2"],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode != 0
    err = done.stderr.decode()
    assert "EVA_SECRET_KEY is refused in production" in err
    assert "Booting worker" not in err + done.stdout.decode()


def test_the_development_server_is_refused_in_production(tmp_path: Path) -> None:
    env = eva_env("sqlite:///" + str(tmp_path / "eva.sqlite3"))
    env |= {
        "EVA_ENV": "production",
        "EVA_SECRET_KEY": "Yq3v_0dTn8Kx-2LbR7wPz5HcJ9sFm4GaE1uVi6NoQkWtXeBy",
    }
    done = subprocess.run(
        [*EVA, "serve", "--dev", "--port", str(free_port())],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "the development server is not for production" in done.stderr.decode()


# the settings -----------------------------------------------------------------------------------
def test_the_commands_options_win_over_the_environment() -> None:
    env = {"EVA_WEB_WORKERS": "3", "EVA_WEB_THREADS": "4", "EVA_WEB_MAX_REQUESTS": "500"}
    options = ServerOptions.from_env(env, port=8080, workers=6, threads=None)
    assert (options.port, options.workers, options.threads) == (8080, 6, 4)
    assert (options.max_requests, options.max_requests_jitter) == (500, 50)
    assert ServerOptions.from_env({"EVA_WEB_ACCESS_LOG": "off"}).access_log is None


@pytest.mark.parametrize("value", ["0", "two", "-1", "\uff13"])
def test_an_unusable_worker_count_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(
        ConfigurationError, match=r"EVA_WEB_WORKERS must be (a whole number|at least 1)"
    ):
        ServerOptions.from_env({"EVA_WEB_WORKERS": value})


def test_gunicorn_believes_no_forwarded_header_and_takes_extra_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EVA_TRUST_PROXY (ProxyFix) is the only rule for X-Forwarded-*: gunicorn would otherwise
    believe X-Forwarded-Proto from any client on loopback or a UNIX socket."""
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--limit-request-line 2048 --backlog 64")
    server = EvaServer(ServerOptions(workers=3), Settings(database_url="sqlite://"))
    assert server.cfg.forwarded_allow_ips == []
    assert server.cfg.secure_scheme_headers == {}
    assert server.cfg.preload_app is False
    assert (server.cfg.workers, server.cfg.limit_request_line, server.cfg.backlog) == (3, 2048, 64)
    assert server.cfg.bind == ["127.0.0.1:5000"]


def test_throttle_counters_kept_in_each_worker_are_refused() -> None:
    settings = Settings.from_env(
        {"EVA_DATABASE_URL": "sqlite://", "EVA_RATELIMIT_STORAGE_URI": "memory://"}
    )
    with pytest.raises(ConfigurationError, match="inside each of the 2 workers"):
        require_shared_state(ServerOptions(workers=2), settings)
    require_shared_state(ServerOptions(workers=1), settings)  # one process: its own is all
    require_shared_state(ServerOptions(workers=2), Settings.from_env({}))  # the database
