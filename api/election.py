"""Which process runs the background workers of a member database.

Any number of `certnet serve` processes, on one host or several, may share one member database; the background
workers (issuance pipeline, index follower, notifier, webhook deliverer) run in exactly one of them, the leader.
The leader is whoever holds the database's election lock (`certnet.issuer.outbox.WriterLock` for the purpose
"workers"): on PostgreSQL a session advisory lock keyed by the schema, on a connection of its own, released by the
server when that session ends (a leader killed even by SIGKILL; a vanished host within about 11 s, through TCP
keepalives); on SQLite an exclusive `flock` on `<database>.workers.lock` next to the database file, released by
the kernel when the holder dies.

Every other process is a standby: it tries the lock every `poll` seconds and starts the workers when it gets
it, so a dead leader's work resumes within a second or two. A leader that finds its lock gone (its database
session ended) stops its workers and becomes a standby again. The election is not the only guard: the issuance
pipeline keeps its own writer lock per outbox and guards every state change, and webhook deliveries are claimed
one by one in the database, so a leader that has not yet noticed it was replaced neither anchors nor delivers
twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from certnet.issuer.outbox import WriterLock

log = logging.getLogger("certnet.election")

#: seconds a standby waits between its tries of the lock, and a leader between checks that it still holds it
POLL_SECONDS = 1.0
#: seconds a leader that lost the lock gives each of its workers to end
STOP_WORKERS_SECONDS = 30.0

#: starts the workers of one term as leader; they run until the event is set; returns their threads
StartWorkers = Callable[[threading.Event], list[threading.Thread]]


class WorkerLock(WriterLock):
    """The election lock of a member database (one per PostgreSQL schema, one per SQLite file)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, purpose="workers")

    def describe(self) -> str:
        where = f"the lock file {self.path}" if self.path else "a PostgreSQL advisory lock"
        return f"another process ({self.holder()}) runs this database's background workers ({where})"


class Election:
    """Runs `start_workers` while this process leads; `run` is the election's own thread."""

    def __init__(
        self,
        engine: Engine,
        start_workers: StartWorkers,
        poll: float = POLL_SECONDS,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.lock = WorkerLock(engine)
        self.start_workers = start_workers
        self.poll = poll
        self.on_change = on_change
        self.leading = False
        self.terms = 0  # how many times this process became the leader
        self._term: threading.Event | None = None
        self._threads: list[threading.Thread] = []

    def run(self, stop: threading.Event) -> None:
        """Campaign until `stop` is set: lead while the lock is held, stand by otherwise."""
        announced = False
        try:
            while not stop.is_set():
                try:
                    if self.leading:
                        if not self.lock.held():
                            log.error("workers: this process lost the election lock; stopping its workers")
                            self._step_down()
                    elif self.lock.try_acquire():
                        self._lead()
                    elif not announced:
                        log.info("workers on standby: %s", self.lock.describe())
                        announced = True
                except Exception:  # the database is away: try again on the next round
                    log.exception("workers: election round failed; retrying")
                stop.wait(self.poll)
        finally:
            if self.leading:
                self._step_down()
            self.lock.release()

    def _lead(self) -> None:
        self.terms += 1
        log.info("workers: this process now runs the background workers (term %d)", self.terms)
        self._term = threading.Event()
        self.leading = True
        self._threads = self.start_workers(self._term)
        self._changed()

    def _step_down(self) -> None:
        assert self._term is not None
        self._term.set()
        for t in self._threads:
            t.join(timeout=STOP_WORKERS_SECONDS)
            if t.is_alive():
                log.error("workers: %s did not stop within %.0fs", t.name, STOP_WORKERS_SECONDS)
        self._threads = []
        self.leading = False
        self.lock.release()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change(self.leading)
            except Exception:
                log.exception("workers: election listener failed")
