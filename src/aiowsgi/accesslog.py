"""The access line of a request: its format, compiled once at start-up into a function of the request.

Three kinds of format (--access-log-format):
- "default": aiowsgi's own line, `127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 200 13 0.2ms`, which the
  command line prefixes with the time.
- "json": one JSON object per line (client, method, path, query, protocol, status, bytes, duration in
  seconds, user_agent, referer, request_id when the request has an X-Request-ID, time).
- anything else: a Gunicorn access_log_format, e.g. `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s`, with
  Gunicorn's atoms and their meanings (ATOMS below), `%({name}i)s` for a request header, `%({name}o)s`
  for a response header and `%({name}e)s` for an environ variable.

The format is parsed once into one function: each atom becomes its expression from a fixed table (a header
or variable name enters one only as a string literal), and a line costs those expressions and one `%` of
their results (1.1 us for Gunicorn's default format; a function per atom cost twice that). Gunicorn builds
a dict of every atom (every header and environ variable included) for each request instead. An unknown
atom is a ConfigError naming it, before the server starts.

Every value that comes from the request or the response (and the environ, which the application may have
filled from it) is escaped, so that nothing a client sends can break a line, forge a second one, or reach a
terminal as a control sequence: in the text formats CR, LF and every other C0 control, DEL, C1 controls and
the Unicode line separators become `\\xNN` (or `\\uNNNN`), a backslash `\\\\` and a double quote `\\"`, as
nginx and Apache escape theirs; JSON lines get json.dumps's escaping (everything but printable ASCII).
"""

from __future__ import annotations

import base64
import binascii
import os  # noqa: F401 - used by the expression of %(p)s (see ATOMS)
import re
import time
from collections.abc import Callable
from json.encoder import encode_basestring_ascii

from ._types import AccessLog, Environ
from .errors import ConfigError
from .http.events import RequestHead
from .wsgi.response import RequestObserver, Responder

DEFAULT_FORMAT = "default"
JSON_FORMAT = "json"

# A request's access line: from the environ, the request, the finished Responder and the time.monotonic()
# at which the request was complete (the same arguments as a RequestObserver).
AccessLineFormatter = Callable[[Environ, RequestHead, Responder, float], str]

_UNSAFE = re.compile('[\x00-\x1f"\\\\\x7f-\x9f\u2028\u2029]')
_ESCAPES = {chr(code): f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({'"': '\\"', "\\": "\\\\", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def escape(value: str) -> str:
    """`value` safe to put in a text access line, between double quotes or not."""
    # Every character escaped is unprintable but for the two quoted ones, and these three checks cost less
    # than a search, most of all in a long User-Agent.
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return _UNSAFE.sub(_escaped_char, value)


def _escaped_char(found: re.Match[str]) -> str:
    return _ESCAPES[found.group()]


def compile_access_format(access_format: str) -> AccessLineFormatter:
    """The function that makes each request's access line in `access_format`.

    Raises:
        ConfigError: the format has an unknown atom or a lone `%`.
    """
    if access_format == DEFAULT_FORMAT:
        return _default_line
    if access_format == JSON_FORMAT:
        return _json_line
    return _compile_atoms(access_format)


def access_line_observer(access_log: AccessLog, format_line: AccessLineFormatter) -> RequestObserver:
    """A RequestObserver that writes each request's access line, made by `format_line`, to `access_log`."""

    def log_access(environ: Environ, request: RequestHead, responder: Responder, started: float) -> None:
        access_log(format_line(environ, request, responder, started))

    return log_access


# The default line -------------------------------------------------------------------------------------


def _default_line(environ: Environ, request: RequestHead, responder: Responder, started: float) -> str:
    address = environ.get("REMOTE_ADDR")
    client = escape(f"{address}:{environ.get('REMOTE_PORT')}") if address else "unix"
    target = escape(environ.get("REQUEST_URI", ""))
    duration = (time.monotonic() - started) * 1000
    return (
        f'{client} - "{escape(request.method)} {target} HTTP/{request.http_version}" '
        f"{responder.status} {responder.body_bytes} {duration:.1f}ms"
    )


# JSON ---------------------------------------------------------------------------------------------------


class _IsoClock:
    """The current UTC time in ISO 8601 with milliseconds, the date and time rendered once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._rendered = ""

    def now(self) -> str:
        created = time.time()
        second = int(created)
        if second != self._second:
            self._rendered = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._rendered}.{int(created * 1000) % 1000:03d}Z"


_iso_clock = _IsoClock()
_json_string: Callable[[str], str] = encode_basestring_ascii


def _json_line(environ: Environ, request: RequestHead, responder: Responder, started: float) -> str:
    # The object is written out by hand: json.dumps of a dict costs four times as much. Every string goes
    # through json's own encoder, which escapes everything but printable ASCII (so ESC is \u001b); the
    # numbers are ints and a fixed-point float.
    duration = time.monotonic() - started
    user_agent = environ.get("HTTP_USER_AGENT")
    referer = environ.get("HTTP_REFERER")
    request_id = environ.get("HTTP_X_REQUEST_ID")
    end = "}" if request_id is None else f', "request_id": {_json_string(request_id)}}}'
    return (
        f'{{"time": "{_iso_clock.now()}", '
        f'"client": {_json_string(environ.get("REMOTE_ADDR") or "unix")}, '
        f'"method": {_json_string(request.method)}, '
        f'"path": {_json_string(environ.get("PATH_INFO", ""))}, '
        f'"query": {_json_string(environ.get("QUERY_STRING", ""))}, '
        f'"protocol": {_json_string("HTTP/" + request.http_version)}, '
        f'"status": {responder.status:d}, "bytes": {responder.body_bytes:d}, "duration": {duration:.6f}, '
        f'"user_agent": {"null" if user_agent is None else _json_string(user_agent)}, '
        f'"referer": {"null" if referer is None else _json_string(referer)}{end}'
    )


# Gunicorn's atoms ---------------------------------------------------------------------------------------


class _ApacheClock:
    """`[07/Dec/2026:14:40:22 +0000]` (Apache's %t, Gunicorn's %(t)s), local time, rendered once a second."""

    _MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

    def __init__(self) -> None:
        self._second = -1
        self._rendered = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            local = time.localtime(second)
            # %b would follow the locale; Apache's month names are English.
            month = self._MONTHS[local.tm_mon - 1]
            self._rendered = time.strftime(f"[%d/{month}/%Y:%H:%M:%S %z]", local)
            self._second = second
        return self._rendered


_apache_clock = _ApacheClock()


def _request_header(request: RequestHead, name: bytes) -> str | None:
    """The request's header `name` (lower-case), repeated ones joined with ", "; None if absent."""
    values = [value for key, value in request.headers if key == name]
    if not values:
        return None
    return b", ".join(values).decode("latin-1")


def _response_header(responder: Responder, name: str) -> str | None:
    """The response's header `name` (lower-case) as the application set it, repeated ones joined."""
    head = responder.response_head
    if head is None:
        return None
    values = [
        value
        for key, _, value in (line.partition(": ") for line in head.header_block.split("\r\n") if line)
        if key.lower() == name
    ]
    return ", ".join(values) if values else None


def _user(environ: Environ) -> str:
    """REMOTE_USER, or the user name of a Basic Authorization header (as Gunicorn finds it), or "-"."""
    user = environ.get("REMOTE_USER")
    if user:
        return escape(str(user))
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return "-"
    try:
        decoded = base64.b64decode(credentials.strip().encode("latin-1"))
        name = decoded.split(b":", 1)[0].decode("utf-8")
    except (binascii.Error, UnicodeError):
        return "-"
    return escape(name) if name else "-"


def _text(value: object) -> str:
    return "-" if value is None or value == "" else escape(str(value))


def _header_or_dash(value: str | None) -> str:
    return "-" if value is None else escape(value)


# Each atom as Gunicorn defines it (gunicorn/glogging.py Logger.atoms), except that %(b)s is "-" for an empty
# body, as in Apache's CLF, where Gunicorn prints 0: as a Python expression over `environ`, `request`,
# `responder` and `elapsed` (seconds) and this module's names, from which _compile_atoms writes the format's
# one function.
ATOMS: dict[str, str] = {
    "h": "_text(environ.get('REMOTE_ADDR'))",
    "l": "'-'",
    "u": "_user(environ)",
    "t": "_apache_clock.now()",
    "r": "f\"{escape(request.method)} {escape(environ.get('REQUEST_URI', ''))} HTTP/{request.http_version}\"",
    "s": "str(responder.status)",
    "m": "escape(request.method)",
    "U": "_text(environ.get('PATH_INFO'))",
    "q": "_text(environ.get('QUERY_STRING'))",
    "H": "'HTTP/' + request.http_version",
    "b": "str(responder.body_bytes or '-')",
    "B": "str(responder.body_bytes)",
    "f": "_text(environ.get('HTTP_REFERER'))",
    "a": "_text(environ.get('HTTP_USER_AGENT'))",
    "T": "str(int(elapsed))",
    "D": "str(int(elapsed * 1_000_000))",
    "M": "str(int(elapsed * 1000))",
    "L": "f'{elapsed:.6f}'",
    "p": "f'<{os.getpid()}>'",
}
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\)s|(?P<percent>%)|(?P<other>.?))", re.DOTALL)
_BRACED = re.compile(r"\{(?P<name>[^{}]+)\}(?P<kind>[ioe])")


def _atom(name: str) -> str:
    """The expression of the atom `name`. What comes from the operator (a header or variable name) enters it
    only as a repr() literal, so no format can make it run anything but the table's expressions."""
    expression = ATOMS.get(name)
    if expression is not None:
        return expression
    braced = _BRACED.fullmatch(name)
    if braced is None:
        known = " ".join(f"%({key})s" for key in ATOMS)
        raise ConfigError(
            f"option access_log_format: unknown atom %({name})s; known: {known}, %({{header}}i)s, "
            "%({header}o)s, %({variable}e)s, or 'default' or 'json' for the whole format"
        )
    key, kind = braced["name"], braced["kind"]
    if kind == "i":
        header = key.lower().encode("latin-1", "replace")
        return f"_header_or_dash(_request_header(request, {header!r}))"
    if kind == "o":
        return f"_header_or_dash(_response_header(responder, {key.lower()!r}))"
    # Gunicorn looks environ variables up case-insensitively; they are nearly all upper-case.
    return f"_text(environ.get({key!r}, environ.get({key.upper()!r})))"


def _compile_atoms(access_format: str) -> AccessLineFormatter:
    """One function for the format: the template and each atom's expression in one `%`, written as Python
    source and compiled once. A function per atom called in a loop costs twice as much per line."""
    expressions: list[str] = []
    template: list[str] = []
    position = 0
    for found in _PLACEHOLDER.finditer(access_format):
        template.append(access_format[position : found.start()].replace("%", "%%"))
        position = found.end()
        if found["percent"] is not None:
            template.append("%%")
        elif found["other"] is not None:
            raise ConfigError(
                f"option access_log_format: {found[0]!r} at offset {found.start()} is not an atom: write "
                "atoms as %(name)s and a literal % as %%"
            )
        else:
            expressions.append(_atom(found["name"]))
            template.append("%s")
    template.append(access_format[position:])
    # The values are escaped strings; the text between them is the operator's, as written.
    line_template = "".join(template)
    source = (
        "def format_line(environ, request, responder, started):\n"
        "    elapsed = time.monotonic() - started\n"
        f"    return {line_template!r} % ({''.join(e + ', ' for e in expressions)})\n"
    )
    defined: dict[str, AccessLineFormatter] = {}
    exec(compile(source, "<access log format>", "exec"), globals(), defined)  # noqa: S102 - see _atom
    return defined["format_line"]
