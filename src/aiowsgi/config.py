"""Every option aiowsgi has, defined once.

Each field of `Config` carries, in its metadata, everything the rest of the program needs to know about it:
the help text, the command-line flags, how to parse it from a string and how to check it. The CLI
(`aiowsgi.cli`), the `AIOWSGI_<NAME>` environment variables (`config_from_env`), the keyword arguments of
`aiowsgi.serve()` / `aiowsgi.Server()` and docs/options.md (`aiowsgi._optionsdoc`) are all derived from
these fields, so adding an option here adds it everywhere, and nowhere else needs editing.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .trusted import TrustedProxies

ENV_PREFIX = "AIOWSGI_"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one option is presented and checked; stored in the field's metadata under "option"."""

    help: str
    section: str
    flags: tuple[str, ...] = ()
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    metavar: str | None = None
    repeatable: bool = False
    secret: bool = False  # never put on a command line (supervisors pass it to children in the environment)


def _option(default: Any, **spec: Any) -> Any:
    return field(default=default, metadata={"option": OptionSpec(**spec)})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected one of 1/0, true/false, yes/no, on/off, got {text!r}")


def _parse_binds(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _octal_or_empty(value: Any) -> str | None:
    if value == "":
        return None
    try:
        mask = int(value, 8)
    except ValueError:
        return "is not an octal umask such as 007 or 0117"
    return None if 0 <= mask <= 0o777 else "is not an octal umask from 000 to 777"


def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(item for item in re.split(r"[,\s]+", text) if item)


def _valid_proxies(value: Any) -> str | None:
    try:
        TrustedProxies(value)
    except ValueError as exc:
        return f"is not a list of addresses, CIDR ranges, 'unix' or '*': {exc}"
    return None


def _at_least(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}"

    return check


def _port(value: Any) -> str | None:
    return None if 0 <= value <= 65535 else "must be between 0 and 65535"


_TCP_ADDRESS = re.compile(r"^(\[[^\]]*\]|[^:\[\]]*):(\d+)$")
_ANY_HOST = {"", "0.0.0.0", "::", "[::]"}


def _tcp_address_or_empty(value: Any) -> str | None:
    if value == "":
        return None
    found = _TCP_ADDRESS.match(value)
    if not found:
        return "is not HOST:PORT or [IPV6]:PORT"
    return None if int(found[2]) <= 65535 else "has a port above 65535"


def _same_tcp_port(first: str, second: str) -> bool:
    """Whether two HOST:PORT binds would take the same port (port 0 never does: it picks a free one)."""
    a, b = _TCP_ADDRESS.match(first), _TCP_ADDRESS.match(second)
    if a is None or b is None or a[2] != b[2] or int(a[2]) == 0:
        return False
    return a[1] == b[1] or a[1] in _ANY_HOST or b[1] in _ANY_HOST


def _reuse_port_available(value: Any) -> str | None:
    if value and not hasattr(socket, "SO_REUSEPORT"):
        return "is not available on this platform (it has no SO_REUSEPORT)"
    return None


def _preload_available(value: Any) -> str | None:
    if value and not sys.platform.startswith("linux"):
        return "needs Linux (PR_SET_CHILD_SUBREAPER keeps the forked workers the supervisor's children)"
    return None


_SERVER = "Listening"
_APP = "Application"
_HTTP = "HTTP and limits"
_TIME = "Timeouts"
_LOG = "Logging"
_PROCESSES = "Processes"
_OBSERVE = "Observability"
_TLS = "TLS"


@dataclass(frozen=True, slots=True)
class Config:
    """The complete, validated configuration of one server.

    Build it with keyword arguments (`Config(port=0, threads=4)`); every value is checked on construction and
    a bad one raises `ConfigError` naming the option. See docs/options.md for every field.
    """

    # Listening
    host: str = _option("127.0.0.1", section=_SERVER, help="Address to listen on when no --bind is given.")
    port: int = _option(
        8000, section=_SERVER, parse=int, check=_port, help="TCP port for --host; 0 picks a free port."
    )
    bind: tuple[str, ...] = _option(
        (),
        section=_SERVER,
        flags=("--bind", "-b"),
        parse=_parse_binds,
        repeatable=True,
        metavar="ADDRESS",
        help="Listen on ADDRESS instead of --host/--port; repeat for several. Forms: HOST:PORT, "
        "[IPV6]:PORT, unix:PATH, fd://N. In the environment variable, separate addresses with spaces.",
    )
    umask: str = _option(
        "",
        section=_SERVER,
        check=_octal_or_empty,
        metavar="OCTAL",
        help="Umask for the unix socket files of --bind unix:PATH, e.g. 007 to let only the owner and its "
        "group (a proxy's, say) connect. Empty: the process's own umask.",
    )
    backlog: int = _option(
        2048,
        section=_SERVER,
        parse=int,
        check=_at_least(1),
        help="Listen backlog: connections the kernel queues before we accept them (Gunicorn's default).",
    )
    limit_concurrency: int = _option(
        10_000,
        section=_SERVER,
        parse=int,
        check=_at_least(0),
        help="Most open connections; one more is answered 503 at once and closed, so that its client (or "
        "the proxy in front) learns of the overload in one round trip instead of waiting in the kernel's "
        "queue. An idle connection costs a few KiB, so the default costs tens of MiB at most. 0: no limit. "
        "The command line raises the process's open-file limit to fit, where the hard limit allows.",
    )
    proxy_protocol: bool = _option(
        False,
        section=_SERVER,
        parse=_parse_bool,
        help="Expect a PROXY protocol header (v1 or v2, as HAProxy's send-proxy/send-proxy-v2 and AWS NLB "
        "send it) at the start of each connection from a --forwarded-allow-ips peer, and take the client's "
        "address from it (REMOTE_ADDR, REMOTE_PORT; SERVER_NAME, SERVER_PORT from the address the client "
        "connected to). A trusted peer that sends none, or a malformed one, is disconnected, and so is "
        "any other peer that sends one; other peers' plain requests are served as usual.",
    )

    # Application
    threads: int = _option(
        8,
        section=_APP,
        parse=int,
        check=_at_least(1),
        help="Worker threads that run the application. They never wait on a client, only on the "
        "application itself, so size this for the application's own blocking (database, upstream "
        "calls), not for the number of clients.",
    )
    batch_scheduling: bool = _option(
        True,
        section=_APP,
        parse=_parse_bool,
        help="Run the worker threads under Linux's SCHED_BATCH policy, so that a thread woken with a "
        "request does not preempt the event loop (or another thread) that still holds the GIL, only to "
        "wait for it: on one core that makes hello 25 to 40% faster and halves its p99 (docs/tuning.md). "
        "Threads and processes the application starts from a request inherit it. No privileges needed; "
        "elsewhere than Linux, or where the kernel refuses, nothing changes.",
    )
    max_queued_requests: int = _option(
        1024,
        section=_APP,
        parse=int,
        check=_at_least(0),
        help="Complete requests that may wait for a free worker thread; past this, a request is answered "
        "503 with Retry-After by the loop, without a thread, and the overload is logged (at most every "
        "10 seconds). 1024 absorbs a burst of a thousand clients at once (peers queue without limit); "
        "lower it, or set --queue-timeout, where a request that waits long is not worth running.",
    )
    queue_timeout: float = _option(
        0.0,
        section=_APP,
        metavar="SECONDS",
        parse=float,
        check=_at_least(0),
        help="A request that waited longer than this for a worker thread is answered 503 instead of being "
        "run late, when its client has likely given up. 0: off.",
    )
    factory: bool = _option(
        False,
        section=_APP,
        parse=_parse_bool,
        help="Treat MODULE:ATTR as a factory: call it with no arguments to get the WSGI application.",
    )
    app_dir: str = _option(
        ".", section=_APP, help="Directory put first on sys.path before the application is imported."
    )
    root_path: str = _option(
        "",
        section=_APP,
        help="SCRIPT_NAME for every request, for an application mounted below a URL prefix; a request "
        "path that starts with it has it removed from PATH_INFO.",
    )
    forwarded_allow_ips: tuple[str, ...] = _option(
        ("127.0.0.1", "unix"),
        section=_APP,
        parse=_parse_list,
        check=_valid_proxies,
        repeatable=True,
        metavar="ADDRESSES",
        help="Proxies whose Forwarded and X-Forwarded-For/-Proto/-Host/-Port/-Prefix headers set "
        "REMOTE_ADDR, wsgi.url_scheme, HTTP_HOST, SERVER_PORT and SCRIPT_NAME: addresses and CIDR ranges, "
        "'unix' for unix-socket peers, '*' for any (only behind a proxy that sets every one of them). "
        "Comma-separated or repeated; from any other peer the headers are left as they are and never "
        "believed. Gunicorn's and Uvicorn's default (the local proxy).",
    )

    # HTTP and limits
    http: str = _option(
        "auto",
        section=_HTTP,
        choices=("auto", "httptools", "h11"),
        help="HTTP/1.1 parser: httptools (fast, C) or h11 (pure Python); auto picks httptools when it "
        "is installed.",
    )
    protocol: str = _option(
        "http",
        section=_HTTP,
        choices=("http", "uwsgi"),
        help="What the listeners speak: http, or uwsgi for nginx's uwsgi_pass (one request per connection; "
        "the environ comes from the front end's variables, which are trusted, so only the front end may "
        "reach the port). The same limits and timeouts apply to both.",
    )
    loop: str = _option(
        "auto",
        section=_HTTP,
        choices=("auto", "uvloop", "asyncio"),
        help="Event loop for the command line and run(); auto picks uvloop when it is installed. "
        "Embedded servers use whatever loop is running.",
    )
    server_header: bool = _option(
        True,
        section=_HTTP,
        parse=_parse_bool,
        help="Add 'Server: aiowsgi' to responses that have no Server header of their own.",
    )
    limit_request_line: int = _option(
        8190,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(16),
        help="Longest request line in bytes; longer gets 414. 8190 is what Apache and nginx accept by "
        "default.",
    )
    limit_request_fields: int = _option(
        100,
        section=_HTTP,
        parse=int,
        check=_at_least(1),
        help="Most header fields in one request; more gets 431 (Gunicorn's and Apache's default).",
    )
    limit_request_field_size: int = _option(
        8190,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(16),
        help="Longest single header field (name and value) in bytes; longer gets 431.",
    )
    limit_request_body: int = _option(
        1 * GiB,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(0),
        help="Largest request body in bytes; larger gets 413, from the declared Content-Length before "
        "any of the body is read. Waitress's default.",
    )
    body_spill_threshold: int = _option(
        1 * MiB,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(0),
        help="Request bodies up to this many bytes are kept in memory; larger ones spill to a temporary "
        "file while they arrive.",
    )
    response_spill_threshold: int = _option(
        1 * MiB,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(64 * KiB),
        help="Response bytes held in memory per connection for a client that reads slower than the "
        "application writes; more spill to a temporary file.",
    )
    response_buffer_size: int = _option(
        64 * MiB,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(64 * KiB),
        help="Response bytes held per connection (memory, then file) for a slow reader, so that the "
        "worker thread can finish without it; past this, the application's write() waits (up to "
        "--send-timeout) for the client to catch up. Large enough that a 50 MiB response never waits.",
    )

    max_pipelined_requests: int = _option(
        16,
        section=_HTTP,
        parse=int,
        check=_at_least(1),
        help="Complete requests read ahead on one connection while an earlier one runs; past this, "
        "aiowsgi stops reading from that connection until they are answered.",
    )
    limit_chunked_framing: int = _option(
        64 * KiB,
        section=_HTTP,
        metavar="BYTES",
        parse=int,
        check=_at_least(1024),
        help="Bytes of chunked framing (chunk sizes, chunk extensions, trailers) one request body may "
        "carry beyond as many as its data; more gets 400. It stops a client that streams chunk extensions "
        "for ever, and leaves any client whose chunks are not tiny alone.",
    )
    health_path: str = _option(
        "",
        section=_HTTP,
        metavar="PATH",
        check=lambda value: None if value == "" or value.startswith("/") else "must start with /",
        help="Answer GET and HEAD requests for exactly this path (e.g. /healthz) on the event loop, "
        "without the application or a thread: 200 while serving, 503 during --drain-delay, so that "
        "a load balancer or a Kubernetes readiness probe sees the server going before it goes. Not in "
        "the access log. Empty: off (default); every path goes to the application.",
    )

    # Timeouts
    header_timeout: float = _option(
        10 * SECONDS,
        section=_TIME,
        parse=float,
        check=_at_least(0.001),
        help="Seconds a client has, from the first byte of a request, to send the whole request head; "
        "a slower client is answered 408 and closed.",
    )
    body_timeout: float = _option(
        30 * SECONDS,
        section=_TIME,
        parse=float,
        check=_at_least(0.001),
        help="Seconds a request body may stall between two reads; a slower client is answered 408 "
        "and closed.",
    )
    body_min_rate: int = _option(
        500,
        section=_TIME,
        metavar="BYTES",
        parse=int,
        check=_at_least(0),
        help="Bytes per second an upload must average once --body-timeout has passed since its head; a "
        "slower one is answered 408 and closed, so a trickle of one byte per timeout cannot hold a "
        "connection for ever. Apache's mod_reqtimeout default. 0: off.",
    )
    keep_alive_timeout: float = _option(
        5 * SECONDS,
        section=_TIME,
        flags=("--keep-alive-timeout", "--timeout-keep-alive", "--keep-alive"),
        parse=float,
        check=_at_least(0.001),
        help="Seconds an idle keep-alive connection stays open waiting for its next request.",
    )
    send_timeout: float = _option(
        30 * SECONDS,
        section=_TIME,
        parse=float,
        check=_at_least(0.001),
        help="Seconds a client may go without reading any of its response before it is disconnected.",
    )
    graceful_timeout: float = _option(
        30 * SECONDS,
        section=_TIME,
        parse=float,
        check=_at_least(0),
        help="On shutdown, seconds to let requests in flight finish before their connections are cut.",
    )
    drain_delay: float = _option(
        0.0,
        section=_TIME,
        metavar="SECONDS",
        parse=float,
        check=_at_least(0),
        help="On SIGTERM, keep serving for this many seconds, answering --health-path with 503, before "
        "the graceful shutdown starts: time for a load balancer or Kubernetes to take the server out of "
        "rotation, so that no client is sent to a server that has stopped accepting. A second SIGTERM "
        "ends the delay early; SIGINT does not wait. 0: shut down at once (default).",
    )

    # TLS
    ssl_certfile: str = _option(
        "",
        section=_TLS,
        metavar="FILE",
        help="Serve HTTPS with this certificate chain (PEM); wsgi.url_scheme is then https. TLS 1.2 is the "
        "minimum; the ciphers are Python's defaults unless --ssl-ciphers says otherwise.",
    )
    ssl_keyfile: str = _option(
        "", section=_TLS, metavar="FILE", help="The private key of --ssl-certfile, if not in that file."
    )
    ssl_keyfile_password: str = _option(
        "",
        section=_TLS,
        secret=True,
        metavar="PASSWORD",
        help="The password of an encrypted --ssl-keyfile. Prefer the environment variable to the flag, "
        "which other users can read in the process list.",
    )
    ssl_ca_certs: str = _option(
        "",
        section=_TLS,
        metavar="FILE",
        help="Certificate authorities (PEM) that client certificates are checked against.",
    )
    ssl_cert_reqs: str = _option(
        "none",
        section=_TLS,
        choices=("none", "optional", "required"),
        help="Whether clients must present a certificate signed by --ssl-ca-certs.",
    )
    ssl_ciphers: str = _option(
        "",
        section=_TLS,
        metavar="CIPHERS",
        help="OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are fixed).",
    )

    # Processes
    workers: int = _option(
        1,
        section=_PROCESSES,
        parse=int,
        check=_at_least(1),
        help="Server processes, each with its own event loop and threads, sharing the listening sockets. "
        "With 1 there is no supervisor process. See docs/deployment.md for choosing it.",
    )
    preload: bool = _option(
        False,
        section=_PROCESSES,
        parse=_parse_bool,
        check=_preload_available,
        help="With --workers 2 or more: import the application once, in a process the supervisor starts, "
        "call gc.freeze(), and fork the workers from it, so that they share its memory copy-on-write "
        "instead of each importing the application anew (see docs/benchmarks.md for how much that "
        "saves). HUP starts a fresh one, so new code still loads. Gunicorn's name. Linux only.",
    )
    reuse_port: bool = _option(
        False,
        section=_PROCESSES,
        parse=_parse_bool,
        check=_reuse_port_available,
        help="Set SO_REUSEPORT on the TCP sockets aiowsgi binds, so that another server (a second "
        "deployment started next to this one, say) may bind the same address and the kernel spreads "
        "new connections between them. Gunicorn's meaning; the workers of one server already share "
        "its sockets without it. Off by default: a port taken by mistake should be an error. Linux, "
        "BSD and macOS only.",
    )
    max_requests: int = _option(
        0,
        section=_PROCESSES,
        parse=int,
        check=_at_least(0),
        help="With --workers 2 or more, a worker that has taken this many requests is replaced: a new "
        "worker starts, and once it is ready the old one stops gracefully, so no request fails. A "
        "safety net for an application that leaks memory. 0: off (default, as in Gunicorn), since "
        "a healthy application gains nothing from it.",
    )
    max_requests_jitter: int = _option(
        0,
        section=_PROCESSES,
        parse=int,
        check=_at_least(0),
        help="Add a random 0..N to --max-requests for each worker, so that workers started together "
        "are not all replaced at the same moment. 0: no jitter (default).",
    )
    timeout: float = _option(
        30 * SECONDS,
        section=_PROCESSES,
        parse=float,
        check=_at_least(0.1),
        help="With --workers 2 or more, a worker whose event loop has not reported to the supervisor "
        "for this many seconds (blocked, or stuck starting) is killed and replaced. Only the loop "
        "reports, and it never runs the application, so a slow request does not trigger it: a slow "
        "request is --request-warn-timeout's business. Gunicorn's name and default.",
    )
    request_warn_timeout: float = _option(
        0.0,
        section=_PROCESSES,
        metavar="SECONDS",
        parse=float,
        check=_at_least(0),
        help="Log one warning, with the method, path, duration and the Python stack of the thread "
        "running it, for each request still running after this many seconds: where a stuck "
        "request is stuck. Nothing is cancelled. 0: off (default), and then nothing is recorded per "
        "request.",
    )
    pid: str = _option(
        "",
        section=_PROCESSES,
        metavar="FILE",
        help="Write the process ID of the server (the supervisor, with --workers) to FILE, for process "
        "managers, and remove it on exit. Empty: no file (default).",
    )
    reload: bool = _option(
        False,
        section=_PROCESSES,
        parse=_parse_bool,
        help="Development: restart the server when a watched file changes, keeping the port open. "
        "See docs/development.md.",
    )
    reload_dirs: tuple[str, ...] = _option(
        (),
        section=_PROCESSES,
        flags=("--reload-dir",),
        parse=_parse_binds,
        repeatable=True,
        metavar="DIR",
        help="Directory to watch with --reload; repeat for several. Default: the current directory and "
        "--app-dir.",
    )
    reload_include: tuple[str, ...] = _option(
        ("*.py",),
        section=_PROCESSES,
        parse=_parse_binds,
        repeatable=True,
        metavar="GLOB",
        help="File name pattern whose changes restart the server with --reload; repeat for several.",
    )
    reload_exclude: tuple[str, ...] = _option(
        (".*", "*~", "*.swp", "*.tmp", "__pycache__", ".git", ".venv", "venv", "*.pyc"),
        section=_PROCESSES,
        parse=_parse_binds,
        repeatable=True,
        metavar="GLOB",
        help="File or directory name pattern whose changes are ignored by --reload; repeat for several.",
    )

    # Observability
    metrics_bind: str = _option(
        "",
        section=_OBSERVE,
        check=_tcp_address_or_empty,
        metavar="HOST:PORT",
        help="Serve Prometheus metrics (requests, durations, threads, connections by state, overload, "
        "timeouts, bytes; see docs/observability.md) at http://HOST:PORT/ on a listener of their own, never "
        "the application's port, from the event loop and a thread of its own, so a scrape never waits for "
        "a busy application. With --workers the supervisor serves the sum over its workers. Needs "
        "prometheus_client (pip install aiowsgi[metrics]). Empty: off (default), at no cost per request.",
    )

    # Logging
    log_level: str = _option(
        "info",
        section=_LOG,
        choices=("critical", "error", "warning", "info", "debug"),
        help="Level of the aiowsgi.error logger (command line only; embedding leaves logging to you).",
    )
    access_log: bool = _option(
        True,
        section=_LOG,
        parse=_parse_bool,
        help="Log one line per request to the aiowsgi.access logger: client, request line, status, "
        "bytes sent, duration (or what --access-log-format says). The command line writes these lines to "
        "stderr in batches, each at most 0.1 s after its request, unless --log-config sends them elsewhere.",
    )
    access_log_format: str = _option(
        "default",
        section=_LOG,
        metavar="FORMAT",
        help="What each access line says. 'default': aiowsgi's line, '[TIME] CLIENT - \"METHOD TARGET "
        "PROTOCOL\" STATUS BYTES DURATIONms'. 'json': one JSON object per line (time, client, method, path, "
        "query, protocol, status, bytes, duration in seconds, user_agent, referer, request_id from "
        "X-Request-ID). Anything else is a Gunicorn access_log_format such as '%(h)s %(l)s %(u)s %(t)s "
        '"%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"\', with Gunicorn\'s atoms, %({header}i)s, %({header}o)s '
        "and %({variable}e)s. Values from the request and response are escaped: no control character "
        "reaches the log. See docs/observability.md.",
    )
    log_config: str = _option(
        "",
        section=_LOG,
        metavar="FILE",
        help="Configure logging from FILE instead of aiowsgi's stderr handlers (command line only): "
        "logging.config.dictConfig from a .json or .toml file, logging.config.fileConfig from an .ini, "
        ".conf or .cfg file. The loggers are aiowsgi.error and aiowsgi.access; --log-level and, with "
        "the access log on, INFO for aiowsgi.access are set first, for the file to override. Existing "
        "loggers stay enabled unless the file sets disable_existing_loggers.",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _checked(f, getattr(self, f.name)))
        if self.reload and self.workers > 1:
            raise ConfigError(
                "--reload runs one server process, so it does not take --workers; reload while developing, "
                "and use --workers (with HUP for new code) in production"
            )
        if self.metrics_bind:
            host = f"[{self.host}]" if ":" in self.host else self.host
            app_binds = self.bind or (f"{host}:{self.port}",)
            if any(_same_tcp_port(self.metrics_bind, bind) for bind in app_binds):
                raise ConfigError(
                    f"option metrics_bind: {self.metrics_bind!r} is the application's own address; metrics "
                    "need a port of their own (the application's port is often public, metrics should not be)"
                )

    def replace(self, **changes: Any) -> Config:
        """A copy with `changes` applied and checked."""
        return dataclasses.replace(self, **changes)


def _checked(f: dataclasses.Field[Any], value: Any) -> Any:
    """`value` in the field's own type, or ConfigError naming the option and what is wrong with it."""
    expected = type(f.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif expected is tuple and isinstance(value, str):
        value = (value,)
    elif expected is tuple and isinstance(value, list):
        value = tuple(value)
    # bool is an int subclass, but a True where a port belongs is a mistake, not a 1.
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise ConfigError(f"option {f.name}: expected {expected.__name__}, got {value!r}")
    if isinstance(value, tuple) and not all(isinstance(item, str) for item in value):
        raise ConfigError(f"option {f.name}: every item must be a string, got {value!r}")
    spec = spec_of(f)
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"option {f.name}: {value!r} is not one of {', '.join(spec.choices)}")
    problem = spec.check(value) if spec.check else None
    if problem:
        raise ConfigError(f"option {f.name}: {value!r} {problem}")
    return value


def spec_of(f: dataclasses.Field[Any]) -> OptionSpec:
    spec: OptionSpec = f.metadata["option"]
    return spec


def option_fields() -> tuple[dataclasses.Field[Any], ...]:
    """The fields of Config, in declaration order (which is also the order of --help and the docs)."""
    return dataclasses.fields(Config)


def flags_of(f: dataclasses.Field[Any]) -> tuple[str, ...]:
    spec = spec_of(f)
    return spec.flags or ("--" + f.name.replace("_", "-"),)


def env_name(f: dataclasses.Field[Any]) -> str:
    return ENV_PREFIX + f.name.upper()


def parse_option(f: dataclasses.Field[Any], text: str) -> Any:
    """Turn the text form of an option (CLI or environment) into its value, or raise ConfigError."""
    spec = spec_of(f)
    try:
        value = spec.parse(text)
    except ValueError as exc:
        raise ConfigError(f"option {f.name}: cannot read {text!r}: {exc}") from None
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"option {f.name}: {value!r} is not one of {', '.join(spec.choices)}")
    return value


def config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The options set through `AIOWSGI_<NAME>` variables, parsed but not yet checked together."""
    source = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for f in option_fields():
        text = source.get(env_name(f))
        if text is not None:
            try:
                found[f.name] = parse_option(f, text)
            except ConfigError as exc:
                raise ConfigError(f"{env_name(f)}: {exc}") from None
    return found


def config_to_argv(config: Config) -> list[str]:
    """Command-line options that give back `config` (the ones that differ from the defaults).

    Supervisors use it to start server processes with the options they were given themselves.
    """
    argv: list[str] = []
    for f in option_fields():
        value = getattr(config, f.name)
        if value == f.default or spec_of(f).secret:
            continue
        flag = flags_of(f)[0]
        # "--flag=value": as a separate argument, a value that starts with "-" (an access log format, say)
        # would be read as a flag.
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, tuple):
            argv += [f"{flag}={item}" for item in value]
        else:
            argv.append(f"{flag}={value}")
    return argv


def config_secret_env(config: Config) -> dict[str, str]:
    """The secret options that are set, as AIOWSGI_<NAME> variables: how they reach child processes."""
    return {
        env_name(f): str(getattr(config, f.name))
        for f in option_fields()
        if spec_of(f).secret and getattr(config, f.name) != f.default
    }


def option_keys() -> dict[str, str]:
    """Every spelling a config file may use for an option, mapped to the option's name.

    The name itself (`keep_alive_timeout`) and each long flag without its dashes (`keep-alive-timeout`,
    `timeout-keep-alive`, `keep-alive`), each with "-" and "_" alike: Uvicorn's and Gunicorn's users find
    their own spelling where a flag alias gives it, and no spelling can name two options (a unit test holds
    that).
    """
    keys: dict[str, str] = {}
    for f in option_fields():
        for spelling in (f.name, *(flag[2:] for flag in flags_of(f) if flag.startswith("--"))):
            keys[spelling.replace("-", "_")] = f.name
            keys[spelling.replace("_", "-")] = f.name
    return keys


def closest_option(key: str) -> str | None:
    """The option a misspelt `key` most likely meant (difflib over every spelling), or None."""
    keys = option_keys()
    found = difflib.get_close_matches(key.replace("-", "_"), list(keys), n=1)
    return keys[found[0]] if found else None


def unknown_option_message(key: str, where: str = "") -> str:
    """ "unknown option 'KEY'[ in WHERE][; did you mean 'OPTION'?]": one message for every source."""
    message = f"unknown option {key!r}" + (f" in {where}" if where else "")
    suggestion = closest_option(key)
    return message + (f"; did you mean {suggestion!r}?" if suggestion else "")


def check_option(f: dataclasses.Field[Any], value: Any) -> Any:
    """`value` in the field's own type (an int for a float, a list for a tuple), or ConfigError naming it.

    The same check Config runs on construction, for a source that wants to name itself in the error (a
    config file).
    """
    return _checked(f, value)


def unknown_env_variables(environ: Mapping[str, str], also_known: Sequence[str] = ()) -> list[str]:
    """A warning for each AIOWSGI_* variable that names no option (nor one of `also_known`).

    A warning, not an error: the environment is inherited by everything a deployment runs, including
    aiowsgi versions that know other options, whereas a config file or a keyword argument is written for
    this one.
    """
    known = {env_name(f) for f in option_fields()} | set(also_known)
    warnings = []
    for variable in sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known):
        warning = f"{variable} is not an aiowsgi option and is ignored"
        suggestion = closest_option(variable[len(ENV_PREFIX) :].lower())
        if suggestion:
            warning += f"; did you mean {ENV_PREFIX + suggestion.upper()}?"
        warnings.append(warning)
    return warnings


def config_from_kwargs(options: Mapping[str, Any], base: Config | None = None) -> Config:
    """Build a Config from keyword arguments, naming any unknown option, and the closest one, instead of a
    bare TypeError.
    """
    known = {f.name for f in option_fields()}
    unknown: Sequence[str] = sorted(set(options) - known)
    if unknown:
        problems = "; ".join(unknown_option_message(key) for key in unknown)
        raise ConfigError(f"{problems} (see docs/options.md for the list)")
    return dataclasses.replace(base, **options) if base else Config(**options)
