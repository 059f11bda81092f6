"""aiowsgi's Python-level path of one keep-alive hello request, in one thread, for callgrind.

Run by `python benchmarks/profile_request.py steps` (see there). One *cycle* is what the server does for
one request, minus the threads, the syscalls and the loop's own machinery:

1. `HttpProtocol.data_received(b"GET / HTTP/1.1...")` on a real protocol object (ServerState, config and
   limits built as server.py builds them, `--no-access-log`), whose pool's `submit` keeps the job and
   whose loop's `call_soon_threadsafe` keeps the callback (a real, not running, uvloop loop otherwise:
   `time`, `call_at`);
2. the job (`protocol._serve`: environ, the WSGI call, start_response, the head; the channel posts
   `output_finish`), run here instead of in a worker thread;
3. the posted callback (`output_finish`, which writes to a transport that keeps nothing).

`run(step, n)` runs n cycles (after 200 untimed ones, which fill the memos) with the step's function
called through `operator.call`, a C function nothing else in the path calls: callgrind's inclusive cost
of `_operator_call` divided by n is the step's instructions per request (plus the trampoline, which the
step `noop` measures: operator.call of an empty function).
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any

import uvloop

from aiowsgi import bridge, protocol
from aiowsgi.config import Config
from aiowsgi.http import _httptools, connection, writer
from aiowsgi.server import request_limits
from aiowsgi.wsgi import environ, response
from benchmarks import apps

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"  # what the client of profile_request.py sends

# step name -> (object, attribute) wrapped with operator.call; "cycle", "job", "callback", "noop" are
# called through it by the driver itself. Ordered from the outside in.
STEPS: dict[str, tuple[Any, str] | None] = {
    "noop": None,
    "cycle": None,
    "data_received": (protocol.HttpProtocol, "data_received"),
    "receive_data": (connection.ServerConnection, "receive_data"),
    "parser_feed": (_httptools.HttptoolsParser, "feed"),
    "on_head": (connection.ServerConnection, "on_head"),
    "on_message_begin": (_httptools.HttptoolsParser, "on_message_begin"),
    "on_url": (_httptools.HttptoolsParser, "on_url"),
    "on_header": (_httptools.HttptoolsParser, "on_header"),
    "on_headers_complete": (_httptools.HttptoolsParser, "on_headers_complete"),
    "on_message_complete": (_httptools.HttptoolsParser, "on_message_complete"),
    "validate_head": (connection, "validate_head"),
    "check_target": (connection, "_check_target"),
    "RequestHead": (connection, "RequestHead"),
    "run_next": (protocol.HttpProtocol, "_run_next"),
    "Exchange": (protocol, "Exchange"),
    "SpillBuffer": (protocol, "SpillBuffer"),
    "ResponseChannel": (protocol, "ResponseChannel"),
    "refresh_wait": (protocol.HttpProtocol, "_refresh_wait"),
    "job": None,
    "request_environ": (protocol, "request_environ"),
    "with_addresses": (environ, "_with_addresses"),
    "environ_key": (environ, "_environ_key"),
    "run_application": (protocol, "run_application"),
    "Responder": (response, "Responder"),
    "app": None,  # state.app, the benchmark's `bench` -> `hello`
    "start_response": (response.Responder, "start_response"),
    "check_response_head": (response, "check_response_head"),
    "send_whole": (response.Responder, "send_whole"),
    "plan_response": (response, "plan_response"),
    "encode_head": (response, "encode_head"),
    "http_date_line": (writer, "http_date_line"),
    "channel_finish": (bridge.ResponseChannel, "finish"),
    "end_if_unfinished": (bridge.ResponseChannel, "end_if_unfinished"),
    "callback": None,
    "output_finish_send": (protocol.HttpProtocol, "_send"),
}
# llhttp looks the callbacks up once, when the parser is made: these are wrapped before it is, so the
# warm-up cycles go through operator.call too (divide by the calls).
_BEFORE_BUILD = {"on_message_begin", "on_url", "on_header", "on_headers_complete", "on_message_complete"}


# Single operations, for the savings of candidate changes (`alt_...` steps): each is called through
# operator.call once per cycle, on the values the hello request has. Not aiowsgi's code; the numbers say
# what the operation costs, so what replacing it would save.
_HOST_VALUE = b"127.0.0.1:8000"
_VALID_HOSTS = {_HOST_VALUE: True}
_BASE = {
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "40000",
}
ALTERNATIVES: dict[str, Callable[[], object]] = {
    "alt_host_regex": lambda: connection._HOST.fullmatch(_HOST_VALUE),  # what validate_head does per Host
    "alt_host_memo": lambda: _VALID_HOSTS.get(_HOST_VALUE),  # a dict of Host values already found valid
    "alt_ctl_search": lambda: connection._FIELD_VALUE_CONTROL.search(_HOST_VALUE),  # per header value
    "alt_addresses": lambda: environ._with_addresses({}, ("127.0.0.1", 8000), ("127.0.0.1", 40000)),
    "alt_addresses_copy": lambda: _BASE.copy(),  # the same four keys from a per-connection dict
    "alt_monotonic": lambda: __import__("time").monotonic(),
    "alt_date_line": writer.http_date_line,
    # Python 3.11's EnumType has a __getattr__, so `ReadState.IDLE` goes through slot_tp_getattr_hook
    # (a method-wrapper made and freed each time); a module-level alias is a global lookup.
    "alt_enum_member": lambda: connection.ReadState.IDLE,
    "alt_enum_alias": lambda: _IDLE,
}
_IDLE = connection.ReadState.IDLE
for _name in ALTERNATIVES:
    STEPS[_name] = None


# Candidate changes tried on the whole cycle without editing src/: module globals of aiowsgi replaced by
# stand-ins that behave the same for this request (`cycle_...` steps; compare with `cycle`).
def _plain_enums() -> None:
    """ReadState, Wait, BodyFraming as plain classes holding the same members (a class attribute lookup)."""
    names = ((connection, "ReadState"), (protocol, "ReadState"), (protocol, "Wait"),
             (connection, "BodyFraming"), (response, "BodyFraming"), (writer, "BodyFraming"))  # fmt: skip
    for module, name in names:
        enum_class = getattr(module, name)
        setattr(module, name, type(name, (), dict(enum_class.__members__)))


def _host_memo() -> None:
    """The Host check's regular expression behind a dict of values already found valid."""
    pattern = connection._HOST
    valid: dict[bytes, bool] = {}

    class Memo:
        def fullmatch(self, value: bytes, *args: int) -> object:
            if args:
                return pattern.fullmatch(value, *args)
            known = valid.get(value)
            if known is None:
                known = valid[value] = pattern.fullmatch(value) is not None
            return known

    connection._HOST = Memo()  # type: ignore[assignment]


def _no_control_search() -> None:
    """No control-character search of field values (llhttp refuses them itself; h11 would need it)."""

    class Never:
        def search(self, value: bytes) -> None:
            return None

    connection._FIELD_VALUE_CONTROL = Never()  # type: ignore[assignment]


def _addresses_once() -> None:
    """The server's keys with the connection's addresses made once per (sockname, peername), then copied."""
    real = environ._with_addresses
    made: dict[tuple[Any, Any], dict[str, Any]] = {}

    def with_addresses(base: dict[str, Any], sockname: Any, peername: Any) -> dict[str, Any]:
        key = (sockname, peername)
        known = made.get(key)
        if known is None:
            known = made[key] = real(base, sockname, peername)
        return known.copy()

    environ._with_addresses = with_addresses


VARIANTS: dict[str, tuple[Callable[[], None], ...]] = {
    "cycle_plain_enums": (_plain_enums,),
    "cycle_host_memo": (_host_memo,),
    "cycle_no_control_search": (_no_control_search,),
    "cycle_addresses_once": (_addresses_once,),
    "cycle_all_four": (_plain_enums, _host_memo, _no_control_search, _addresses_once),
}
for _name in VARIANTS:
    STEPS[_name] = None


class Transport:
    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def writelines(self, parts: Any) -> None:
        for data in parts:
            self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


class Loop:
    """The loop the protocol sees: uvloop's time and timers, and a list for call_soon(_threadsafe)."""

    def __init__(self) -> None:
        self._real = uvloop.new_event_loop()
        self.posted: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self.time = self._real.time
        self.call_at = self._real.call_at
        self.call_later = self._real.call_later

    def call_soon_threadsafe(self, callback: Callable[..., None], *args: Any) -> None:
        self.posted.append((callback, args))

    call_soon = call_soon_threadsafe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _wrap(real: Any) -> Any:
    call = operator.call

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return call(real, *args, **kwargs)

    return wrapper


def build() -> tuple[protocol.HttpProtocol, Loop, list[Callable[[], None]]]:
    config = Config(access_log=False)
    loop = Loop()
    limits = request_limits(config)
    pool = bridge.WorkerPool(config.threads, loop, job_limit=0, on_job_limit=lambda: None, watch=False)  # type: ignore[arg-type]
    jobs: list[Callable[[], None]] = []
    pool.submit = jobs.append  # type: ignore[method-assign]
    state = protocol.ServerState(app=apps.bench, config=config, pool=pool, loop=loop,  # type: ignore[arg-type]
                                 parser_name="httptools", limits=limits)  # fmt: skip
    proto = protocol.HttpProtocol(state)
    proto.connection_made(Transport())  # type: ignore[arg-type]
    return proto, loop, jobs


def run(step: str, n: int) -> None:
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}; one of {', '.join(STEPS)}")
    for patch in VARIANTS.get(step, ()):
        patch()
    if step in VARIANTS:
        step = "cycle"
    target = STEPS[step]
    if target is not None and step in _BEFORE_BUILD:
        setattr(target[0], target[1], _wrap(getattr(*target)))
        target = None
    proto, loop, jobs = build()
    call = operator.call
    armed = False  # the warm-up cycles do not go through operator.call

    def noop() -> None:
        pass

    def cycle() -> None:
        proto.data_received(REQUEST)
        job = jobs.pop()
        if step == "job" and armed:
            call(job)
        else:
            job()
        callback, args = loop.posted.pop()
        if step == "callback" and armed:
            call(callback, *args)
        else:
            callback(*args)
        assert not jobs
        assert not loop.posted

    for _ in range(200):  # warm: memos, the Date cache, free lists
        cycle()
    if target is not None:
        owner, name = target
        setattr(owner, name, _wrap(getattr(owner, name)))
    if step == "app":
        proto._state.app = _wrap(proto._state.app)
    armed = True
    alternative = ALTERNATIVES.get(step)
    for _ in range(n):
        if alternative is not None:
            cycle()
            call(alternative)
        elif step == "cycle":
            call(cycle)
        else:
            cycle()
            if step == "noop":
                call(noop)
    sys.stdout.flush()
