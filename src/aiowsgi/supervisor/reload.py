"""`--reload`: a supervisor that restarts the server child when a watched file changes.

Theory of operation. The supervisor binds the listening sockets once and keeps them open for its whole life;
the server runs in a child process (`children.start_server_process`) on those inherited sockets. To restart,
the supervisor stops the child (SIGTERM: it stops accepting at once, finishes what it is answering and closes
idle connections) and starts a new one. Between the two, the kernel keeps queueing connections in the listen
backlog of the socket the supervisor still holds, so a request sent during a restart waits a few hundred
milliseconds and is answered by the new child; it is never refused.

Everything happens on the supervisor's main thread, in `Reloader.run`, which takes one event at a time from a
queue: a signal (the handlers only put the signal number there), a batch of changed files (from the watcher
thread) or a child that exited (from the thread that waits for it). The watcher is watchfiles when it is
installed, else a polling scan; both use one `FileFilter`, and both wait for a burst of saves to settle before
they report it, so one burst is one restart.

A child that cannot import the application does not exit: told by `RELOAD_CHILD_ENV` that it runs under
--reload, the command line serves `load_error_app` instead, a plain-text 500 page with the traceback, so the
developer's browser shows the error instead of hanging. The next change restarts it as usual. The same
variable names the child's end of a pipe whose other end only the supervisor holds: when the supervisor dies,
even by SIGKILL, the child reads end-of-file and stops, so no orphan is left serving the port.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import importlib.util
import logging
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from .. import app_loader
from .._types import Environ, StartResponse, WSGIApp
from ..config import Config
from ..errors import AppLoadError, ConfigError
from ..sockets import bind_all, describe, unix_socket_paths
from ..tls import server_ssl_context
from .children import start_server_process

error_log = logging.getLogger("aiowsgi.error")

RELOAD_CHILD_ENV = "_AIOWSGI_RELOAD_CHILD"
"""In a server child started by the reloader: the descriptor of its lifeline (see load_app_in_child)."""

POLL_INTERVAL = 0.25
"""Seconds between two scans of the watched directories when watchfiles is not installed."""
SETTLE = 0.05
"""A burst of changes is over once nothing has changed for this long (watchfiles calls it `step`)."""
MAX_BURST = 1.6
"""A burst that goes on longer than this is reported anyway (watchfiles' `debounce`)."""
INTERRUPT_STEPS = ((signal.SIGINT, 0.5), (signal.SIGINT, 1.5))
"""Ctrl-C: the child's own SIGINT handling, then a second SIGINT (it cuts connections), then SIGKILL."""
KILL_WAIT = 5.0
"""Seconds past --graceful-timeout before a child that ignores SIGTERM is killed."""


def run_reloader(app_spec: str, config: Config) -> int:
    """Bind, then run the server in a child process restarted on every change, until SIGINT or SIGTERM.

    Returns the exit status. Raises ConfigError or OSError when an address cannot be bound or a --reload-dir
    is not a directory.
    """
    file_filter = FileFilter.from_config(config)
    server_ssl_context(config)  # a bad certificate is one error here, not a child failing at every change
    sockets = bind_all(config)
    try:
        reloader = Reloader(app_spec, config, sockets, file_filter)
        return reloader.run()
    finally:
        for sock in sockets:
            sock.close()
        for path in unix_socket_paths(config):
            with contextlib.suppress(OSError):
                os.unlink(path)


# Which files count ---------------------------------------------------------------------------------------


def _matches(name: str, relative: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(relative, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class FileFilter:
    """Which changes restart the server. One set of rules for watchfiles and for the polling fallback.

    A file counts when its name (or its path relative to the watched directory) matches an include pattern
    and no exclude pattern, and no directory between it and the watched directory is excluded (by name, or
    because it holds a pyvenv.cfg: a virtualenv). Patterns given on the command line are added to the
    defaults, and an include pattern given there beats the default excludes, so `--reload-include .env`
    watches .env although `.*` is excluded by default.
    """

    roots: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    given_include: tuple[str, ...] = ()
    given_exclude: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> FileFilter:
        default = Config()
        dirs = config.reload_dirs or (os.getcwd(), config.app_dir)
        roots: list[str] = []
        for directory in dirs:
            path = os.path.abspath(directory)
            if not os.path.isdir(path):
                raise ConfigError(f"--reload-dir {directory!r}: not a directory")
            roots.append(path)
        # A directory inside another one is watched already.
        nested = {
            r for r in roots for other in roots if r != other and r.startswith(other.rstrip(os.sep) + os.sep)
        }
        given_include = tuple(p for p in config.reload_include if p not in default.reload_include)
        given_exclude = tuple(p for p in config.reload_exclude if p not in default.reload_exclude)
        return cls(
            roots=tuple(dict.fromkeys(r for r in roots if r not in nested)),
            include=default.reload_include + given_include,
            exclude=default.reload_exclude + given_exclude,
            given_include=given_include,
            given_exclude=given_exclude,
        )

    def skips_dir(self, parent: str, name: str) -> bool:
        """True for a directory whose contents are never watched."""
        return _matches(name, name, self.exclude) or os.path.exists(os.path.join(parent, name, "pyvenv.cfg"))

    def accepts_file(self, relative: str) -> bool:
        """The file rule alone, for a path relative to its watched directory (its directories passed)."""
        relative = relative.replace(os.sep, "/")
        name = relative.rpartition("/")[2]
        if _matches(name, relative, self.given_exclude):
            return False
        if _matches(name, relative, self.given_include):
            return True
        return _matches(name, relative, self.include) and not _matches(name, relative, self.exclude)

    def accepts(self, path: str) -> bool:
        """Whether a change to `path` (absolute, under one of the roots) restarts the server."""
        root = self._root_of(path)
        if root is None:
            return self.accepts_file(os.path.basename(path))
        relative = os.path.relpath(path, root)
        parent = root
        for part in relative.split(os.sep)[:-1]:
            if self.skips_dir(parent, part):
                return False
            parent = os.path.join(parent, part)
        return self.accepts_file(relative)

    def _root_of(self, path: str) -> str | None:
        for root in self.roots:
            for form in (root, os.path.realpath(root)):
                if path.startswith(form.rstrip(os.sep) + os.sep):
                    return form
        return None

    def describe(self) -> str:
        return f"{', '.join(self.roots)} for {', '.join(self.include)} (ignoring {', '.join(self.exclude)})"


# Watchers: a thread each, reporting a settled burst of changed paths through `emit` ------------------------


class Watcher(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


Emit = Callable[[frozenset[str]], None]


class WatchfilesWatcher:
    """Change notification from the operating system, through watchfiles (the `standard` extra)."""

    name = "watchfiles"

    def __init__(self, file_filter: FileFilter, emit: Emit) -> None:
        self._filter = file_filter
        self._emit = emit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aiowsgi-reload-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def _run(self) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(
                *self._filter.roots,
                watch_filter=lambda _change, path: self._filter.accepts(path),
                debounce=int(MAX_BURST * 1000),
                step=int(SETTLE * 1000),
                stop_event=self._stop,
            ):
                self._emit(frozenset(path for _change, path in changes))
        except OSError as exc:  # the system's limit on watches (inotify max_user_watches), say
            error_log.warning(
                "watchfiles failed (%s): scanning for changes every %.2gs instead", exc, POLL_INTERVAL
            )
            fallback = PollingWatcher(self._filter, self._emit, stop=self._stop)
            fallback.poll(fallback.scan())


Snapshot = dict[str, tuple[int, int]]


class PollingWatcher:
    """A scan of the watched directories every POLL_INTERVAL seconds (modification time and size)."""

    name = "polling"

    def __init__(
        self,
        file_filter: FileFilter,
        emit: Emit,
        interval: float = POLL_INTERVAL,
        stop: threading.Event | None = None,
    ) -> None:
        self._filter = file_filter
        self._emit = emit
        self._interval = interval
        self._stop = stop or threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        before = self.scan()  # here, so that a change made once start() has returned is seen
        self._thread = threading.Thread(
            target=self.poll, args=(before,), name="aiowsgi-reload-poll", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def poll(self, before: Snapshot) -> None:
        """Report changes against `before` until stopped."""
        while not self._stop.wait(self._interval):
            after = self.scan()
            if after == before:
                continue
            # Wait for the burst to settle (an editor's save-rename-chmod, a git checkout): one report.
            burst_end = time.monotonic() + MAX_BURST
            while time.monotonic() < burst_end and not self._stop.wait(SETTLE):
                latest = self.scan()
                if latest == after:
                    break
                after = latest
            changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
            before = after
            self._emit(frozenset(changed))

    def scan(self) -> Snapshot:
        found: Snapshot = {}
        for root in self._filter.roots:
            for directory, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if not self._filter.skips_dir(directory, d)]
                for filename in filenames:
                    path = os.path.join(directory, filename)
                    if not self._filter.accepts_file(os.path.relpath(path, root)):
                        continue
                    try:
                        st = os.stat(path)
                    except OSError:  # removed between listing and stat: it is simply not there
                        continue
                    found[path] = (st.st_mtime_ns, st.st_size)
        return found


def make_watcher(file_filter: FileFilter, emit: Emit) -> Watcher:
    """watchfiles when it is installed; the polling fallback, with a warning that says how to do better."""
    try:
        import watchfiles  # noqa: F401 - only to learn whether it is installed
    except ImportError:
        error_log.warning(
            "watchfiles is not installed: --reload scans for changes every %.2gs instead; "
            "pip install 'aiowsgi[standard]' (or watchfiles) for instant change detection",
            POLL_INTERVAL,
        )
        return PollingWatcher(file_filter, emit)
    return WatchfilesWatcher(file_filter, emit)


# The supervisor --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signalled:
    signum: int


@dataclass(frozen=True, slots=True)
class FilesChanged:
    paths: frozenset[str]


@dataclass(frozen=True, slots=True)
class ChildExited:
    proc: subprocess.Popen[bytes]


Event = Signalled | FilesChanged | ChildExited
# Not SIGHUP: from a terminal that closed, it reaches the child as well, and both should end.
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Reloader:
    """Runs one server child on `sockets` and restarts it on changes; see the module docstring."""

    def __init__(
        self, app_spec: str, config: Config, sockets: Sequence[socket.socket], file_filter: FileFilter
    ) -> None:
        self.app_spec = app_spec
        self.config = config
        self.sockets = list(sockets)
        self.file_filter = file_filter
        # SimpleQueue.put is reentrant, so the signal handlers may call it (and only it).
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.child: subprocess.Popen[bytes] | None = None
        self.changed: set[str] = set()
        self.exiting = False
        # Every child holds the read end; the write end is only ever here. When this process ends, however
        # it ends (even SIGKILL), the child reads end-of-file and stops itself: no orphan keeps the port.
        self.lifeline = -1

    def run(self) -> int:
        self.lifeline, lifeline_write = os.pipe()
        previous = self._install_signal_handlers()
        watcher = make_watcher(self.file_filter, lambda paths: self.events.put(FilesChanged(paths)))
        try:
            error_log.info(
                "aiowsgi reloader on %s: restarting the server when files change in %s, with %s",
                ", ".join(describe(sock) for sock in self.sockets),
                self.file_filter.describe(),
                watcher.name,
            )
            watcher.start()
            self._start_child()
            while not self.exiting:
                self._dispatch(self.events.get())
        finally:
            watcher.stop()
            if self.child is not None:  # only on an unexpected error: never leave a child behind
                self.child.kill()
                self.child.wait()
            for signum, handler in previous.items():
                if handler is not None:
                    signal.signal(signum, handler)
            os.close(self.lifeline)
            os.close(lifeline_write)
        error_log.info("stopped")
        return 0

    def _install_signal_handlers(self) -> dict[int, signal._HANDLER]:
        def record(signum: int, _frame: FrameType | None) -> None:
            self.events.put(Signalled(signum))

        previous: dict[int, signal._HANDLER] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED_SIGNALS:
                previous[signum] = signal.signal(signum, record)
        return previous

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Signalled):
            getattr(self, "handle_" + signal.Signals(event.signum).name.lower())()
        elif isinstance(event, FilesChanged):
            self.changed |= event.paths
            self._restart(f"{_describe_paths(self.changed)} changed")
        else:
            self.handle_child_exited(event.proc)

    # Event handlers, on the main thread.

    def handle_sigint(self) -> None:
        error_log.info("received SIGINT: stopping")
        self.exiting = True
        self._stop_child(INTERRUPT_STEPS)

    def handle_sigterm(self) -> None:
        error_log.info("received SIGTERM: stopping the server gracefully")
        self.exiting = True
        self._stop_child(((signal.SIGTERM, self.config.graceful_timeout + KILL_WAIT),))

    def handle_child_exited(self, proc: subprocess.Popen[bytes]) -> None:
        if proc is not self.child:
            return  # one we stopped ourselves, already accounted for
        self.child = None
        error_log.warning(
            "the server process (pid %d) exited with status %s; it starts again when a watched file changes",
            proc.pid,
            proc.returncode,
        )

    # Starting and stopping the child.

    def _restart(self, reason: str) -> None:
        if self.child is None:
            error_log.info("%s: starting the server", reason)
        else:
            error_log.info("%s: restarting the server", reason)
            self._stop_child(((signal.SIGTERM, self.config.graceful_timeout + KILL_WAIT),))
        if self.exiting:
            return
        _forget_bytecode(self.changed)
        self.changed.clear()
        self._start_child()

    def _start_child(self) -> None:
        # AIOWSGI_RELOAD=0: the child must not become a reloader itself when the user set AIOWSGI_RELOAD=1.
        env = {RELOAD_CHILD_ENV: str(self.lifeline), "AIOWSGI_RELOAD": "0"}
        child = start_server_process(self.app_spec, self.config, self.sockets, env, [self.lifeline])
        self.child = child

        def wait() -> None:
            child.wait()
            self.events.put(ChildExited(child))

        threading.Thread(target=wait, name=f"aiowsgi-wait-{child.pid}", daemon=True).start()

    def _stop_child(self, steps: Sequence[tuple[signal.Signals, float]]) -> None:
        """Signal the child step by step, waiting each time for it to exit, then kill it."""
        child, self.child = self.child, None
        if child is None:
            return
        for signum, timeout in steps:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)
            if self._wait_for_exit(child, timeout):
                return
        error_log.warning("the server process (pid %d) did not stop: killing it", child.pid)
        child.kill()
        self._wait_for_exit(child, None)

    def _wait_for_exit(self, child: subprocess.Popen[bytes], timeout: float | None) -> bool:
        """Take events until `child` has exited (True) or `timeout` has passed (False).

        Changes seen meanwhile join the restart under way; a Ctrl-C kills the child at once; a SIGTERM
        lets it finish its graceful stop, and the supervisor exits after it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                return False
            if isinstance(event, ChildExited):
                if event.proc is child:
                    return True
            elif isinstance(event, FilesChanged):
                self.changed |= event.paths
            elif event.signum == signal.SIGINT:
                error_log.info("received SIGINT: stopping now")
                self.exiting = True
                child.kill()
            elif event.signum == signal.SIGTERM:
                self.exiting = True


def _describe_paths(paths: set[str]) -> str:
    names = sorted(os.path.relpath(p) if not os.path.relpath(p).startswith("..") else p for p in paths)
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _forget_bytecode(paths: Iterable[str]) -> None:
    """Remove the cached bytecode of changed modules.

    A .pyc is trusted when the source has the same size and the same modification time in whole seconds,
    so two saves within one second that keep the size (a 1 changed to a 2) would bring back the old code.
    """
    for path in paths:
        if path.endswith(".py"):
            with contextlib.suppress(OSError, ValueError):
                os.remove(importlib.util.cache_from_source(path))


# In the child: dev mode, where an application that cannot be imported gets an error page ------------------


def load_app_in_child(app_spec: str, config: Config) -> WSGIApp:
    """The command line's load_app in a server child of the reloader (RELOAD_CHILD_ENV is set).

    It stops the process when the supervisor is gone, and turns an import error into `load_error_app`.
    """
    lifeline = int(os.environ.pop(RELOAD_CHILD_ENV))  # popped: not for the application's own subprocesses
    threading.Thread(
        target=_stop_with_supervisor, args=(lifeline,), name="aiowsgi-lifeline", daemon=True
    ).start()
    try:
        return app_loader.load_app(app_spec, config.factory, config.app_dir)
    except AppLoadError as exc:
        return load_error_app(exc)


def _stop_with_supervisor(lifeline: int) -> None:
    with contextlib.suppress(OSError):
        os.read(lifeline, 1)  # blocks until the supervisor's end closes; it never writes
    error_log.warning("the --reload supervisor is gone: stopping")
    os.kill(os.getpid(), signal.SIGTERM)


def load_error_app(error: AppLoadError) -> WSGIApp:
    """A WSGI application answering every request with a plain-text 500 showing `error` and its traceback.

    Only for a server child of the reloader (RELOAD_CHILD_ENV): the error is logged once, here, and shown
    to the browser until the next change restarts the child. Never used outside --reload, since it would
    show source paths and code to anyone.
    """
    report = describe_load_error(error)
    error_log.error(
        "the application could not be loaded; requests get this error until a watched file changes\n%s",
        report,
    )
    body = (
        "aiowsgi --reload: the application could not be loaded.\n\n"
        f"{report}\n\n"
        "Save a fix: the server restarts by itself, then reload this page.\n"
    ).encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]

    def show_load_error(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("500 Internal Server Error", headers)
        return [body]

    return show_load_error


def describe_load_error(error: AppLoadError) -> str:
    """The load error's message, then the traceback of its cause without the import frames."""
    cause = error.__cause__ or error.__context__
    if cause is None:
        return str(error)
    report = traceback.TracebackException.from_exception(cause)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not _is_loader_frame(frame.filename)]
    )
    return f"{error}\n\n{''.join(report.format()).rstrip()}"


_LOADER_FILES = (app_loader.__file__, importlib.__file__)


def _is_loader_frame(filename: str) -> bool:
    return filename.startswith("<frozen importlib") or filename in _LOADER_FILES
