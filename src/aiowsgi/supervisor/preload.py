"""--preload: the application imported once, and the workers forked from the process that imported it.

Theory of operation
-------------------
Without --preload, every worker is a fresh interpreter that imports the application itself (children.py).
With it, the supervisor starts a *zygote* the same way (a fresh `python -m aiowsgi` on the same sockets,
so it inherits nothing of the supervisor's but them): it imports the application, calls `gc.freeze()` (so
that the collector never writes to the imported objects, which would copy their pages), and then forks a
worker each time the supervisor asks. Each worker shares the zygote's memory copy-on-write: the modules,
the application, whatever it built at import time.

The supervisor itself never imports the application, so that HUP can load new code: it starts a fresh
zygote (which imports the code as it is now), forks the new workers from that one, and closes the old
zygote once no worker will be forked from it. A zygote whose import fails exits before it says it is
ready, which the supervisor treats as a worker that could not start.

Workers are forked twice (zygote -> short-lived middle process -> worker) and the middle one exits at once,
so each worker is orphaned and adopted by the supervisor, which has made itself a *child subreaper*
(Linux's PR_SET_CHILD_SUBREAPER). So the supervisor is every worker's parent, as without --preload: it
waits for their exit statuses itself, and a zygote that dies takes no worker with it.

The zygote and the supervisor talk over a socketpair: the zygote writes `ready` once it has imported the
application; the supervisor sends `fork` with the worker's end of its SupervisorLink attached (SCM_RIGHTS),
and the zygote answers `pid N`. End of file on the socketpair tells the zygote to exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Sequence
from typing import NoReturn

from .._types import WSGIApp
from ..app_loader import load_app
from ..config import Config
from ..server import SUPERVISOR_FD_ENV
from .children import start_linked_process

error_log = logging.getLogger("aiowsgi.error")

# Set by the supervisor for the zygote it starts: the zygote's end of their socketpair.
ZYGOTE_FD_ENV = "AIOWSGI_ZYGOTE_FD"
_PR_SET_CHILD_SUBREAPER = 36
_GROUP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU)


def become_subreaper() -> None:
    """Make orphaned descendants (the workers a zygote forks) children of this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


class ForkedProcess:
    """A forked child (the zygote) or an adopted one (a worker), with the part of Popen's interface the
    supervisor uses: `pid`, `poll()`, `kill()`, `wait()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"process {self.pid} did not exit within {timeout}s")
            time.sleep(0.01)  # only at exit, or for the zygote, which exits as soon as it is closed
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def _reap(self, options: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:
            self.returncode = -signal.SIGKILL  # reaped elsewhere, or never ours: gone, status unknown
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)


class Zygote:
    """A process that has imported the application and forks workers from it (see the module docstring)."""

    def __init__(self, app_spec: str, config: Config, sockets: Sequence[socket.socket]) -> None:
        self.process, self._control = start_linked_process(app_spec, config, sockets, ZYGOTE_FD_ENV)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until_ready(self, timeout: float) -> int | None:
        """Wait for the import to finish: None once ready, or the zygote's exit status if it failed."""
        line = self._read_line(timeout)
        if line == b"ready":
            return None
        self.close()
        return self.process.wait(timeout)

    def fork_worker(self, link_fd: int, timeout: float = 10.0) -> ForkedProcess:
        """Fork a worker whose SupervisorLink is `link_fd` (duplicated into it); return it once it runs."""
        socket.send_fds(self._control, [b"fork\n"], [link_fd])
        line = self._read_line(timeout)
        if not line.startswith(b"pid "):
            raise OSError(f"the preloading process did not fork a worker (it said {line!r})")
        return ForkedProcess(int(line[4:]))

    def close(self) -> None:
        """Tell the zygote to exit (end of file); the supervisor reaps it like any child."""
        self._control.close()

    def _read_line(self, timeout: float) -> bytes:
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._control, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError(f"the preloading process said nothing for {timeout:g}s")
                data = self._control.recv(1)  # one byte at a time: never read past the line
                if not data:
                    return line  # it exited
                line += data
        return line[:-1]


def serve_as_zygote(app_spec: str, config: Config, control_fd: int) -> int:
    """The zygote's life (a `python -m aiowsgi` started by Zygote): import, freeze, fork workers on request.

    `config` is a server child's (children.child_config): each worker forked from here serves with it.
    """
    control = socket.socket(fileno=control_fd)
    # A signal to the whole process group (Ctrl-C in a terminal, systemd's stop) is the supervisor's to act
    # on; the zygote goes when the supervisor closes their socketpair, or when the supervisor itself dies.
    for signum in _GROUP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    app = load_app(app_spec, config.factory, config.app_dir)
    gc.freeze()
    control.sendall(b"ready\n")
    while True:
        message, fds, _, _ = socket.recv_fds(control, 64, 1)
        if not message or not fds:
            return 0
        link_fd = fds[0]
        # The worker's PID goes to the supervisor only once the middle process is gone, and with it the
        # worker adopted by the supervisor: before that, the supervisor could not wait for it.
        pid_read, pid_write = os.pipe()
        middle = os.fork()
        if middle == 0:
            os.close(pid_read)
            worker = os.fork()
            if worker == 0:
                os.close(pid_write)
                control.close()
                _serve_forked(app, config, link_fd)
            os.write(pid_write, str(worker).encode())
            os._exit(0)
        os.close(pid_write)
        os.close(link_fd)
        os.waitpid(middle, 0)
        with open(pid_read, "rb") as pid_pipe:
            control.sendall(b"pid " + pid_pipe.read() + b"\n")


def _serve_forked(app: WSGIApp, config: Config, link_fd: int) -> NoReturn:
    """A forked worker: what a `python -m aiowsgi` server child does, with the application already loaded."""
    from ..logs import configure_logging
    from ..server import run

    status = 1
    try:
        for signum in _GROUP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)  # run() sets up its own, as in any server child
        os.environ[SUPERVISOR_FD_ENV] = str(link_fd)
        configure_logging(config)  # the access-log writer's flushing thread did not survive the fork
        status = run(app, config)
    finally:
        with contextlib.suppress(Exception):
            logging.shutdown()
        os._exit(status)
