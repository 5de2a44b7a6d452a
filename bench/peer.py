"""eva's workflow steps per second next to a peer engine's, SpiffWorkflow, in the same run.

The peer: a BPMN process of five user tasks in a row (the same length as the benchmark's path
from draft to signed off), run by SpiffWorkflow and persisted after each step the way a web
service with no state of its own must: in one transaction per step it reads the process's
serialized state from a table, deserializes it, completes the ready user task (its data: who
did it and when), runs the engine steps, serializes the whole workflow again and writes it
back. A second figure keeps the workflow in memory and only writes it after each step (the
least a peer can persist). Both use the same SQLAlchemy engine and database as eva.

eva: ``bench.transitions`` on the same database (its setup, the same seeded interleaving of
the proposals' five steps, each a full unit of work with checks, effects, outbox and audit
chain). The two are timed in alternating blocks of 100 steps, so that both see the same
machine at the same time. The target of issue 10 is eva at least twice the peer's steps per
second.

Needs the ``bench`` extra (``pip install -e '.[bench]'``: SpiffWorkflow).

Run: ``.venv/bin/python -m bench.peer [--backend sqlite|postgresql|both] [--proposals N]
[--json]`` (PostgreSQL as in bench.transitions: EVA_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert, select, update

from bench import transitions as bench
from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services import definitions
from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva

STEPS = 5
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

PEER = Table(
    "bench_peer_workflows",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("state", Text, nullable=False),
)


def process_xml(steps: int = STEPS) -> bytes:
    """A BPMN process: start, ``steps`` user tasks in a row, end."""
    tasks = "".join(f'<bpmn:userTask id="step{i}" name="Step {i}"/>' for i in range(1, steps + 1))
    refs = ["start", *(f"step{i}" for i in range(1, steps + 1)), "end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(pairwise(refs))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{BPMN_NS}" '
        'id="definitions" targetNamespace="http://bpmn.io/schema/bpmn">'
        '<bpmn:process id="review" isExecutable="true"><bpmn:startEvent id="start"/>'
        f'{tasks}<bpmn:endEvent id="end"/>{flows}</bpmn:process></bpmn:definitions>'
    ).encode()


class Peer:
    """SpiffWorkflow processes stored in one table, one row each."""

    def __init__(self, engine: Engine) -> None:
        try:
            from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: PLC0415 - an optional extra
            from SpiffWorkflow.bpmn.parser import BpmnParser  # noqa: PLC0415
            from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: PLC0415
            from SpiffWorkflow.util.task import TaskState  # noqa: PLC0415
        except ImportError as exc:
            raise SystemExit("bench.peer needs SpiffWorkflow: pip install -e '.[bench]'") from exc
        parser = BpmnParser()
        parser.add_bpmn_str(process_xml(), "review.bpmn")
        self.spec = parser.get_spec("review")
        self.workflow_class = BpmnWorkflow
        self.serializer = BpmnWorkflowSerializer()
        self.ready = TaskState.READY
        self.engine = engine
        PEER.drop(engine, checkfirst=True)
        PEER.create(engine)
        self.kept: dict[int, Any] = {}

    def start(self, count: int) -> list[int]:
        """``count`` new processes, stored (their first user task ready)."""
        ids = []
        with self.engine.begin() as conn:
            for _ in range(count):
                workflow = self.workflow_class(self.spec)
                workflow.do_engine_steps()
                state = self.serializer.serialize_json(workflow)
                (new,) = conn.execute(insert(PEER).values(state=state).returning(PEER.c.id)).one()
                ids.append(new)
                self.kept[new] = workflow
        return ids

    def _complete(self, workflow: Any, who: str) -> None:
        task = workflow.get_tasks(state=self.ready, manual=True)[0]
        task.data["by"] = who
        task.data["at"] = datetime.now(UTC).isoformat()
        task.run()
        workflow.do_engine_steps()

    def step(self, process_id: int, who: str) -> None:
        """One step as a stateless service does it: read, deserialize, run, serialize, write."""
        with self.engine.begin() as conn:
            state = conn.execute(
                select(PEER.c.state).where(PEER.c.id == process_id).with_for_update()
            ).scalar_one()
            workflow = self.serializer.deserialize_json(state)
            self._complete(workflow, who)
            conn.execute(
                update(PEER)
                .where(PEER.c.id == process_id)
                .values(state=self.serializer.serialize_json(workflow))
            )

    def steps(self, process_ids: Sequence[int], *, in_memory: bool) -> None:
        for process_id in process_ids:
            if in_memory:
                self.step_in_memory(process_id, "peer")
            else:
                self.step(process_id, "peer")

    def step_in_memory(self, process_id: int, who: str) -> None:
        """One step of a workflow kept in memory, only written after it."""
        workflow = self.kept[process_id]
        self._complete(workflow, who)
        with self.engine.begin() as conn:
            conn.execute(
                update(PEER)
                .where(PEER.c.id == process_id)
                .values(state=self.serializer.serialize_json(workflow))
            )


@dataclass
class PeerResult:
    backend: str
    server: str
    steps: int
    eva_steps_per_s: float
    eva_cpu_ms: float
    peer_steps_per_s: float  # read, step, write: one transaction per step
    peer_cpu_ms: float
    peer_kept_steps_per_s: float  # kept in memory, written after each step
    peer_kept_cpu_ms: float
    speedup: float  # eva's steps per second / the peer's (read, step, write)
    speedup_kept: float
    spiffworkflow: str


@dataclass
class _Clock:
    seconds: float = 0.0
    cpu: float = 0.0
    count: int = 0

    def timed(self, fn: Callable[[], None], count: int) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        self.seconds += time.perf_counter() - started
        self.cpu += time.process_time() - cpu
        self.count += count

    @property
    def per_s(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / self.count


def peer_schedule(ids: Sequence[int], seed: int = bench.SEED) -> list[int]:
    """Each process ``STEPS`` times, interleaved like eva's proposals."""
    return [pid for pid, _, _ in bench.schedule(ids, seed)]


def run_backend(backend: str, count: int, say: Callable[[str], None]) -> PeerResult:
    from importlib.metadata import version  # noqa: PLC0415

    with bench.fresh_database(backend) as url:
        eva = Eva(Database.connect(url), default_workflows_dir())
        try:
            engine = eva.database.engine
            say(f"{backend}: setting up {count} proposals and {count} SpiffWorkflow processes...")
            upgrade(engine)
            definitions.publish(eva, bench.OPERATOR)
            warmup, *pids = bench.prepare(eva, count + 1)
            bench.run_interleaved(eva, [warmup], None)
            peer = Peer(engine)
            warm = peer.start(2)
            for _ in range(STEPS):
                peer.step(warm[0], "warm")
                peer.step_in_memory(warm[1], "warm")
            ids = peer.start(count)
            kept = peer.start(count)
            steps = bench.schedule(pids)
            order = peer_schedule(ids)
            order_kept = peer_schedule(kept)
            eva_clock, peer_clock, kept_clock = _Clock(), _Clock(), _Clock()
            timings = bench.Timings()
            say(f"{backend}: {len(steps)} steps each, in alternating blocks...")
            for start in range(0, len(steps), bench.BLOCK):
                chunk = steps[start : start + bench.BLOCK]
                part = order[start : start + bench.BLOCK]
                part_kept = order_kept[start : start + bench.BLOCK]
                eva_clock.timed(partial(bench.fire_block, eva, chunk, timings), len(chunk))
                peer_clock.timed(partial(peer.steps, part, in_memory=False), len(part))
                kept_clock.timed(partial(peer.steps, part_kept, in_memory=True), len(part_kept))
            verified = trail.verify(eva)
            if not verified.ok:
                raise SystemExit(f"{backend}: the audit chain does NOT verify: {verified.problem}")
            return PeerResult(
                backend=backend,
                server=bench.server_version(engine),
                steps=len(steps),
                eva_steps_per_s=eva_clock.per_s,
                eva_cpu_ms=eva_clock.cpu_ms,
                peer_steps_per_s=peer_clock.per_s,
                peer_cpu_ms=peer_clock.cpu_ms,
                peer_kept_steps_per_s=kept_clock.per_s,
                peer_kept_cpu_ms=kept_clock.cpu_ms,
                speedup=eva_clock.per_s / peer_clock.per_s,
                speedup_kept=eva_clock.per_s / kept_clock.per_s,
                spiffworkflow=version("SpiffWorkflow"),
            )
        finally:
            eva.database.dispose()


def table(results: Sequence[PeerResult]) -> str:
    lines = [
        "backend     steps  eva steps/s  eva cpu ms  peer steps/s  peer cpu ms  "
        "peer kept steps/s  kept cpu ms  eva/peer  eva/kept"
    ]
    lines += [
        f"{r.backend:<10} {r.steps:>6} {r.eva_steps_per_s:>12.1f} {r.eva_cpu_ms:>11.2f} "
        f"{r.peer_steps_per_s:>13.1f} {r.peer_cpu_ms:>12.2f} {r.peer_kept_steps_per_s:>18.1f} "
        f"{r.peer_kept_cpu_ms:>12.2f} {r.speedup:>9.2f} {r.speedup_kept:>9.2f}"
        for r in results
    ]
    lines += [f"{r.backend}: {r.server}; SpiffWorkflow {r.spiffworkflow}" for r in results]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=(*bench.BACKENDS, "both"), default="both")
    parser.add_argument("--proposals", type=int, default=200, help="proposals and processes")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead")
    args = parser.parse_args(argv)
    if not 1 <= args.proposals <= 100_000:
        parser.error("--proposals must be between 1 and 100000")
    backends = bench.BACKENDS if args.backend == "both" else (args.backend,)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [run_backend(backend, args.proposals, say) for backend in backends]
    if args.json:
        print(json.dumps({"benchmark": "bench.peer", "runs": [asdict(r) for r in results]}))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
