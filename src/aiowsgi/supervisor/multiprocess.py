"""--workers N: a supervisor process that keeps N server processes running on the sockets it holds.

Theory of operation
-------------------
The supervisor binds the listening sockets once and keeps them open for its whole life; every worker is a
fresh `python -m aiowsgi` (children.start_server_process) serving those same sockets, with its own event
loop and thread pool. The kernel queues new connections on the shared socket and whichever worker accepts
first serves them, so a worker that stops accepting (stopping, or dead) leaves its share to the others and
the port never closes. The supervisor never imports the application: each worker loads it anew, which is
what lets HUP deploy new code, and what keeps a crash in the application out of the supervisor. With
--preload, the workers are forked instead from a preloading process that imported the application once
(supervisor/preload.py); they are still the supervisor's children, and everything below holds for them.

Each worker gets one end of a socketpair (server.SupervisorLink) and writes newline-ended words on it:
`ready` once it is serving, `beat` every second or so from a timer on its event loop, `retire` when it has
taken --max-requests requests, and with --metrics-bind `metrics <JSON>` after each beat. The supervisor
writes only `drain`, on SIGTERM with --drain-delay, and sends the workers SIGTERM once the delay is over
(the delay is the supervisor's alone, so that a worker stopped for a reload never withdraws readiness).
When the supervisor dies, the workers see end of file and stop gracefully. A worker's state is one of:

    STARTING --ready--> READY --(stop: SIGTERM)--> STOPPING --exit--> gone
        \\_______________________________________________/
                 exit or kill: replaced by manage()

and, separately, `superseded`: the worker is still serving, but is to be replaced (HUP marks every worker,
`retire` marks one). Superseded workers do not count toward the target; once the workers that do count
are all READY and as many as the target, the superseded ones are stopped. That one rule gives both the
zero-downtime reload (new workers start and accept first, then the old ones drain) and the --max-requests
recycling (a replacement takes over before the old worker leaves), without a failed request.

The supervisor loop is boring on purpose (gunicorn's Arbiter is the model; the code is our own):
  - a signal handler only records the signal; `signal.set_wakeup_fd` wakes the loop;
  - the loop waits in `selectors` on the wake-up socket and the workers' channels, with a timeout that is
    the nearest deadline (a heartbeat due, a graceful stop running out, a back-off ending), never polling;
  - then, in order: dispatch each recorded signal to `handle_<name>`, reap workers that exited, kill
    workers that are silent past --timeout or stopping past --graceful-timeout, and `manage()` the
    count: start the missing, stop the extra, stop the superseded once their replacements are ready.

Rules:
  1. Only the loop changes state; signal handlers and workers only send it facts.
  2. A worker that exits before it is ready is a start-up failure. If no worker has ever been ready, the
     application cannot start at all (an import error, say): stop and exit with the worker's status,
     after one clear message, rather than restart it in a storm. Once the server has served, the failures
     (new code deployed with HUP, or a dependency gone) are retried one worker at a time with exponential
     back-off, and the workers still running keep serving meanwhile.
  3. A worker that dies after it was ready (crash, OOM kill, SIGKILL) is replaced at once.
  4. A stopping worker is never waited for longer than --graceful-timeout plus a margin: then SIGKILL.

--metrics-bind: the supervisor binds the metrics port and serves the sum of its workers' snapshots from a
thread of its own (server.metrics_in_thread: a small event loop with one metrics listener), so this loop
stays as it is. It only files each worker's latest snapshot, reads a worker's last one when reaping it
(aiowsgi.metrics.WorkerSnapshots keeps the counters of departed workers), and counts replacements.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import math
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from ..config import Config
from ..metrics import WorkerSnapshots, require_prometheus_client
from ..server import SUPERVISOR_FD_ENV, metrics_in_thread, pid_file
from ..sockets import bind_all, bind_socket, describe, unix_socket_paths
from ..tls import server_ssl_context
from .children import start_linked_process
from .preload import ForkedProcess, Zygote, become_subreaper

error_log = logging.getLogger("aiowsgi.error")

# A worker told to stop gets --graceful-timeout, and this much more to close down, before SIGKILL.
STOP_MARGIN = 5.0
# Start-up failures after the server has served: wait BACKOFF * 2**(n-1) seconds, at most MAX_BACKOFF.
BACKOFF = 0.5
MAX_BACKOFF = 30.0
# The loop wakes at least this often even with nothing due, as a backstop for a lost wake-up.
MAX_WAIT = 1.0

HANDLED_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD,
)  # fmt: skip


def run_workers(app_spec: str, config: Config) -> int:
    """Bind, run `config.workers` server processes until SIGTERM/SIGINT, and return the exit status."""
    server_ssl_context(config)  # a bad certificate is one error here, not every worker failing to start
    if config.metrics_bind:
        require_prometheus_client()
    sockets = bind_all(config)
    metrics_socket = None
    try:
        with contextlib.ExitStack() as stack:
            snapshots = None
            if config.metrics_bind:
                metrics_socket = bind_socket(config.metrics_bind, config.backlog)
                snapshots = WorkerSnapshots()
                stack.enter_context(metrics_in_thread(snapshots.total, metrics_socket, config))
            stack.enter_context(pid_file(config.pid))
            return Supervisor(app_spec, config, sockets, snapshots).run()
    finally:
        if metrics_socket is not None:
            metrics_socket.close()
        for path in unix_socket_paths(config):
            try:
                os.unlink(path)
            except OSError:
                pass
        for sock in sockets:
            sock.close()


def describe_exit(status: int) -> str:
    """A process's exit status in words (a negative status is the signal that killed it)."""
    return f"was killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"


class WorkerState(enum.Enum):
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"


class ServerProcess(Protocol):
    """A worker process: a Popen, or with --preload a ForkedProcess."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(eq=False)
class Worker:
    proc: ServerProcess
    channel: socket.socket  # the supervisor's end of the worker's SupervisorLink
    started: float
    last_heard: float
    state: WorkerState = WorkerState.STARTING
    superseded: bool = False  # to be stopped once enough replacements are ready (HUP, --max-requests)
    superseded_for: str = ""  # why: "reload" or "max_requests" (a worker_restarts reason)
    was_ready: bool = False
    kill_at: float = math.inf  # STOPPING: SIGKILL at this time
    timed_out: bool = False  # killed for --timeout
    unread: bytes = b""  # a partial message

    @property
    def pid(self) -> int:
        return self.proc.pid


class Supervisor:
    """Keeps `config.workers` server processes running on `sockets`; see the module docstring."""

    def __init__(
        self,
        app_spec: str,
        config: Config,
        sockets: list[socket.socket],
        metrics: WorkerSnapshots | None = None,
    ) -> None:
        self.app_spec = app_spec
        self.config = config
        self.sockets = sockets
        # Each worker is a plain server on the inherited sockets; the pid file is ours alone.
        self.worker_config = config.replace(pid="")
        self.target = config.workers
        self.workers: dict[int, Worker] = {}
        self.signals: list[int] = []
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.drain_ends = 0.0  # during --drain-delay after SIGTERM: when the graceful stop starts
        self.forced = False
        self.ever_ready = False
        self.failures = 0  # workers in a row that exited before they were ready
        self.spawn_after = 0.0
        self.exit_status = 0
        self.wake_read, self.wake_write = socket.socketpair()
        # --preload: the process the workers are forked from, and every one started, until reaped.
        self.zygote: Zygote | None = None
        self.zygote_processes: list[ServerProcess] = []
        self.metrics = metrics  # --metrics-bind: the workers' snapshots, served from another thread

    # The loop --------------------------------------------------------------------------------------

    def run(self) -> int:
        self.wake_read.setblocking(False)
        self.wake_write.setblocking(False)
        self.selector.register(self.wake_read, selectors.EVENT_READ, None)
        previous = {signum: signal.signal(signum, self._record_signal) for signum in HANDLED_SIGNALS}
        previous_wakeup = signal.set_wakeup_fd(self.wake_write.fileno(), warn_on_full_buffer=False)
        if self.config.preload:
            become_subreaper()
        try:
            error_log.info(
                "aiowsgi supervisor (pid %d): starting %d workers on %s; TERM/INT stop, HUP reloads, "
                "TTIN/TTOU add or remove a worker",
                os.getpid(), self.target, ", ".join(describe(sock) for sock in self.sockets),
            )  # fmt: skip
            self.manage()
            while self.workers or not self.stopping:
                if self.stopping:
                    self.retire_zygote()
                self.wait()
                self.dispatch_signals()
                self.end_drain()
                self.reap()
                self.murder()
                self.manage()
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.retire_zygote()
            for worker in self.workers.values():  # only after an unexpected error: do not leave orphans
                worker.proc.kill()
                worker.proc.wait()
            for process in self.zygote_processes:  # each exits once closed: at the end of the file it reads
                process.wait()
            self.selector.close()
            self.wake_read.close()
            self.wake_write.close()
        error_log.info("supervisor stopped")
        return 1 if self.forced else self.exit_status

    def _record_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)

    def wait(self) -> None:
        """Sleep until a signal, a worker's message, or the nearest deadline; read what arrived."""
        now = time.monotonic()
        timeout = max(0.0, min(self.next_deadline(now) - now, MAX_WAIT))
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                try:
                    while self.wake_read.recv(256):
                        pass
                except BlockingIOError:
                    pass  # drained: the signals themselves are in self.signals
            else:
                self.read(key.data)

    def next_deadline(self, now: float) -> float:
        deadline = now + MAX_WAIT
        for worker in self.workers.values():
            if worker.state is WorkerState.STOPPING:
                deadline = min(deadline, worker.kill_at)
            else:
                deadline = min(deadline, worker.last_heard + self.config.timeout)
        if self.spawn_after > now:
            deadline = min(deadline, self.spawn_after)
        if self.drain_ends:
            deadline = min(deadline, self.drain_ends)
        return deadline

    def read(self, worker: Worker) -> bool:
        """Read what the worker has sent and act on each whole message; False once there was nothing."""
        try:
            data = worker.channel.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:  # the worker has exited or is exiting; reap() will see it
            self.selector.unregister(worker.channel)
            return False
        worker.last_heard = time.monotonic()
        *messages, worker.unread = (worker.unread + data).split(b"\n")
        for message in messages:
            if message == b"ready":
                self.on_ready(worker)
            elif message == b"retire":
                self.on_retire(worker)
            elif message.startswith(b"metrics ") and self.metrics is not None:
                try:
                    self.metrics.update(worker.pid, json.loads(message[8:]))
                except ValueError:
                    error_log.warning("worker %d sent metrics that are not JSON; ignored", worker.pid)
        return True

    def on_ready(self, worker: Worker) -> None:
        worker.was_ready = True
        self.ever_ready = True
        self.failures = 0
        if worker.state is WorkerState.STARTING:
            worker.state = WorkerState.READY
            error_log.debug("worker %d ready", worker.pid)
        if self.drain_ends:
            self.tell_drain(worker)  # a replacement started during the drain joins it

    def on_retire(self, worker: Worker) -> None:
        if worker.state is not WorkerState.STOPPING and not worker.superseded:
            worker.superseded = True
            worker.superseded_for = "max_requests"
            error_log.info("worker %d has served --max-requests: starting its replacement", worker.pid)

    # Signals: recorded by the handler, acted on here -----------------------------------------------

    def dispatch_signals(self) -> None:
        while self.signals:
            signum = self.signals.pop(0)
            name = signal.Signals(signum).name[3:].lower()
            getattr(self, f"handle_{name}")()

    def handle_chld(self) -> None:
        pass  # reap() runs after every wake-up

    def handle_term(self) -> None:
        if self.stopping:
            return
        if self.drain_ends:
            self.drain_ends = 0.0
            self.stop_all("received a second SIGTERM during --drain-delay")
        elif self.config.drain_delay:
            self.drain_ends = time.monotonic() + self.config.drain_delay
            error_log.info(
                "received SIGTERM: draining for %gs (--drain-delay; --health-path answers 503), then "
                "stopping the workers gracefully", self.config.drain_delay,
            )  # fmt: skip
            for worker in self.workers.values():
                if worker.state is WorkerState.READY:
                    self.tell_drain(worker)
        else:
            self.stop_all("received SIGTERM")

    def end_drain(self) -> None:
        if self.drain_ends and time.monotonic() >= self.drain_ends:
            self.drain_ends = 0.0
            self.stop_all("--drain-delay is over")

    def tell_drain(self, worker: Worker) -> None:
        try:
            worker.channel.send(b"drain\n")
        except OSError:
            pass  # it is exiting; reap() will see it

    def handle_int(self) -> None:
        if not self.stopping:
            self.drain_ends = 0.0
            self.stop_all("received SIGINT")
            return
        error_log.warning("second interrupt: stopping every worker now")
        self.forced = True
        deadline = time.monotonic() + 1.0
        for worker in self.workers.values():
            # A second SIGINT makes a server cut its connections and exit at once; SIGKILL backs it up.
            worker.kill_at = min(worker.kill_at, deadline)
            self._signal(worker, signal.SIGINT)

    def handle_hup(self) -> None:
        if self.stopping:
            return
        old = [w for w in self.workers.values() if w.state is not WorkerState.STOPPING]
        for worker in old:
            worker.superseded = True
            worker.superseded_for = "reload"
        self.retire_zygote()
        error_log.info(
            "received SIGHUP: starting %d new workers; the %d old ones stop once the new ones are ready",
            self.target, len(old),
        )  # fmt: skip

    def handle_ttin(self) -> None:
        if not self.stopping:
            self.target += 1
            error_log.info("received SIGTTIN: %d workers", self.target)

    def handle_ttou(self) -> None:
        if self.stopping:
            return
        if self.target == 1:
            error_log.info("received SIGTTOU: already down to one worker")
            return
        self.target -= 1
        error_log.info("received SIGTTOU: %d workers", self.target)

    # Workers ----------------------------------------------------------------------------------------

    def spawn(self) -> None:
        proc: ServerProcess | None
        if self.config.preload:
            mine, theirs = socket.socketpair()
            try:
                proc = self.fork_preloaded(theirs.fileno())
            except BaseException:
                mine.close()
                raise
            finally:
                theirs.close()
            if proc is None:
                mine.close()
                return
        else:
            proc, mine = start_linked_process(
                self.app_spec, self.worker_config, self.sockets, SUPERVISOR_FD_ENV
            )
        mine.setblocking(False)
        now = time.monotonic()
        worker = Worker(proc, mine, started=now, last_heard=now)
        self.workers[proc.pid] = worker
        self.selector.register(mine, selectors.EVENT_READ, worker)
        error_log.debug("started worker %d", proc.pid)

    def fork_preloaded(self, link_fd: int) -> ForkedProcess | None:
        """--preload: a worker forked from the zygote, which is started (and imports the application) first
        if there is none; None if it cannot import the application (a start-up failure, handled here)."""
        zygote = self.zygote
        if zygote is None:
            zygote = Zygote(self.app_spec, self.worker_config, self.sockets)
            self.zygote_processes.append(zygote.process)
            try:
                status = zygote.wait_until_ready(self.config.timeout)
            except TimeoutError:
                zygote.close()
                zygote.process.kill()
                status = zygote.process.wait()
            if status is not None:
                self.on_start_failure(f"the preloading process {zygote.pid}", describe_exit(status), status)
                return None
            error_log.info("preloading process %d has imported the application", zygote.pid)
            self.zygote = zygote
        try:
            return zygote.fork_worker(link_fd)
        except OSError as exc:  # TimeoutError included: a stuck or broken zygote is replaced, not waited on
            error_log.error(
                "the preloading process %d could not fork a worker (%s); replacing it", zygote.pid, exc
            )
            self.retire_zygote()
            zygote.process.kill()
            self.on_start_failure("a worker", "could not be forked", 1)
            return None

    def retire_zygote(self) -> None:
        """No more workers from the current zygote (HUP: the next ones import the code as it is now)."""
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def stop(self, worker: Worker, why: str) -> None:
        """Ask a worker to finish its requests in flight and exit (SIGTERM), within the graceful timeout."""
        if worker.state is WorkerState.STOPPING:
            return
        worker.state = WorkerState.STOPPING
        worker.kill_at = time.monotonic() + self.config.graceful_timeout + STOP_MARGIN
        error_log.info("stopping worker %d (%s)", worker.pid, why)
        self._signal(worker, signal.SIGTERM)

    def stop_all(self, why: str) -> None:
        self.stopping = True
        error_log.info(
            "%s: stopping %d workers gracefully (--graceful-timeout %gs)",
            why, len(self.workers), self.config.graceful_timeout,
        )  # fmt: skip
        for worker in self.workers.values():
            if worker.state is not WorkerState.STOPPING:
                worker.state = WorkerState.STOPPING
                worker.kill_at = time.monotonic() + self.config.graceful_timeout + STOP_MARGIN
                self._signal(worker, signal.SIGTERM)

    def _signal(self, worker: Worker, signum: int) -> None:
        try:
            os.kill(worker.pid, signum)
        except ProcessLookupError:
            pass  # it has exited already; reap() will see it

    def reap(self) -> None:
        zygote = self.zygote
        if zygote is not None and (status := zygote.process.poll()) is not None:
            error_log.error(
                "the preloading process %d %s; starting a new one", zygote.pid, describe_exit(status)
            )
            self.zygote = None
        self.zygote_processes = [p for p in self.zygote_processes if p.poll() is None]
        for worker in list(self.workers.values()):
            status = worker.proc.poll()
            if status is None:
                continue
            del self.workers[worker.pid]
            if worker.channel.fileno() in self.selector.get_map():
                # What it sent before exiting (its last metrics snapshot) is still in the socket.
                while self.read(worker):
                    pass
                if worker.channel.fileno() in self.selector.get_map():
                    self.selector.unregister(worker.channel)
            worker.channel.close()
            if self.metrics is not None:
                self.metrics.remove(worker.pid)
            self.on_exit(worker, status)

    def on_exit(self, worker: Worker, status: int) -> None:
        how = describe_exit(status)
        if worker.state is WorkerState.STOPPING and not worker.timed_out:
            error_log.info("worker %d stopped", worker.pid)
            return
        if not self.stopping and self.ever_ready:
            reason = "timeout" if worker.timed_out else "crashed" if worker.was_ready else "start_failure"
            self.count_restart(reason)
        if not worker.was_ready:
            self.on_start_failure(f"worker {worker.pid}", how, status)
        elif not self.stopping:
            error_log.error("worker %d %s; starting a replacement", worker.pid, how)

    def count_restart(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.count_restart(reason)

    def on_start_failure(self, what: str, how: str, status: int) -> None:
        self.failures += 1
        if self.stopping:
            return
        if not self.ever_ready:
            error_log.error(
                "%s %s before it could serve, so the application cannot start (see the error "
                "above); stopping, rather than restarting workers that would fail the same way",
                what, how,
            )  # fmt: skip
            self.exit_status = status if status > 0 else 1
            self.stop_all("no worker can start")
            return
        delay = min(MAX_BACKOFF, BACKOFF * 2 ** (self.failures - 1))
        self.spawn_after = time.monotonic() + delay
        error_log.error(
            "%s %s before it could serve (%d in a row; see the error above); trying again in "
            "%.1fs, while the running workers keep serving",
            what, how, self.failures, delay,
        )  # fmt: skip

    def murder(self) -> None:
        """SIGKILL the workers silent past --timeout, and the stopping ones past their graceful time."""
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.state is WorkerState.STOPPING:
                if now >= worker.kill_at:
                    error_log.error(
                        "worker %d did not stop within --graceful-timeout (%gs); killing it",
                        worker.pid, self.config.graceful_timeout,
                    )  # fmt: skip
                    worker.kill_at = math.inf
                    worker.proc.kill()
                continue
            silent = now - worker.last_heard
            if silent <= self.config.timeout:
                continue
            if worker.state is WorkerState.STARTING:
                error_log.error(
                    "worker %d did not start within --timeout (%gs); killing it",
                    worker.pid,
                    self.config.timeout,
                )
            else:
                error_log.error(
                    "worker %d: its event loop has been blocked for %.1fs (--timeout %gs); killing it and "
                    "starting a replacement",
                    worker.pid, silent, self.config.timeout,
                )  # fmt: skip
            worker.state = WorkerState.STOPPING
            worker.timed_out = True
            worker.proc.kill()

    def manage(self) -> None:
        """Start the missing workers, stop the extra ones, and the superseded ones once replaced."""
        if self.stopping:
            return
        live = [w for w in self.workers.values() if w.state is not WorkerState.STOPPING]
        counted = [w for w in live if not w.superseded]
        excess = len(counted) - self.target
        if excess > 0:
            # The ones still starting first, then the oldest.
            extra = sorted(counted, key=lambda w: (w.state is WorkerState.READY, w.started))[:excess]
            for worker in extra:
                self.stop(worker, "one worker fewer")
            counted = [w for w in counted if w not in extra]
        missing = self.target - len(counted)
        if missing > 0 and time.monotonic() >= self.spawn_after:
            if self.failures:
                # Recovering from start-up failures: one worker at a time, and only one trying at once.
                if not any(w.state is WorkerState.STARTING for w in counted):
                    self.spawn()
            else:
                for _ in range(missing):
                    self.spawn()
            return
        if missing <= 0 and all(w.state is WorkerState.READY for w in counted):
            for worker in live:
                if worker.superseded:
                    self.count_restart(worker.superseded_for)
                    self.stop(worker, "replaced by a new worker")
