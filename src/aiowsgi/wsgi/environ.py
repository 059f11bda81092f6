"""RequestHead + connection facts -> a PEP 3333 environ.

The keys every request of a server shares (scheme, SCRIPT_NAME, the constant wsgi.* keys) are built once per
server; each request copies them and adds the addresses of its connection and its own keys. (Nothing is
kept per connection: an idle keep-alive connection should cost a few KiB.) Every value is a native str;
PATH_INFO is percent-decoded and carried as latin-1 "bytes as str", QUERY_STRING stays raw.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes

from .._types import Environ
from ..http.events import RequestHead
from ..trusted import TrustedProxies
from .proxy import apply_proxy_headers

# Header name -> environ key (None: dropped). A name containing "_" is dropped so that it cannot pose as
# the "-" spelling of the same name (Foo_Bar vs Foo-Bar both map to HTTP_FOO_BAR). Bounded, because the
# names come from clients.
_ENVIRON_KEYS: dict[bytes, str | None] = {
    b"content-type": "CONTENT_TYPE",
    b"content-length": "CONTENT_LENGTH",
}
_ENVIRON_KEYS_MAX = 2048
_NOT_SEEN = "not seen"  # what _ENVIRON_KEYS.get gives for a name it does not hold yet

# The headers a trusted proxy speaks through (wsgi/proxy.py): only a request with one of them needs the
# peer checked against --forwarded-allow-ips.
_PROXY_KEYS = frozenset({
    "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX",
})  # fmt: skip


def _environ_key(name: bytes) -> str | None:
    """The environ key of a header name not seen before (and remembered, up to the bound)."""
    key = None if b"_" in name else "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
    if len(_ENVIRON_KEYS) < _ENVIRON_KEYS_MAX:
        _ENVIRON_KEYS[name] = key
    return key


def server_environ(
    url_scheme: str, root_path: str, file_wrapper: Callable[..., Any], multiprocess: bool = False
) -> Environ:
    """The keys every request of one server shares, with the addresses a unix socket gives.

    `multiprocess` is true for a --workers worker: other processes run the same application at once.
    """
    return {
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443" if url_scheme == "https" else "80",
        "REMOTE_ADDR": "",
        "REMOTE_PORT": "",
        "SCRIPT_NAME": root_path,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": file_wrapper,
    }


def request_environ(
    base: Environ,
    sockname: Any,
    peername: Any,
    head: RequestHead,
    body: BinaryIO,
    body_size: int,
    proxies: TrustedProxies,
) -> Environ:
    """The environ for one request: the server's keys, the connection's addresses, the request's keys,
    and what a trusted proxy's headers say about the client.

    `sockname` and `peername` are the transport's; they are (host, port, ...) tuples on TCP.
    """
    if head.params is not None:
        return _uwsgi_environ(base, sockname, peername, head, body)
    environ = _with_addresses(base, sockname, peername)
    target = head.target
    if not target.startswith(b"/"):
        target = _absolute_to_origin(target, environ)
    path, _, query = target.partition(b"?")
    if b"%" in path:
        path_info = unquote_to_bytes(path).decode("latin-1")
    else:
        path_info = path.decode("latin-1")
    root_path: str = environ["SCRIPT_NAME"]
    if root_path and (path_info == root_path or path_info.startswith(root_path + "/")):
        path_info = path_info[len(root_path) :]
    environ["REQUEST_METHOD"] = head.method
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["REQUEST_URI"] = head.target.decode("latin-1")
    environ["SERVER_PROTOCOL"] = "HTTP/" + head.http_version
    environ["wsgi.input"] = body
    proxied = False
    for name, value in head.headers:
        # The memo's lookup inline, and the function only for a new name: a call per header is most of
        # the loop's cost.
        key = _ENVIRON_KEYS.get(name, _NOT_SEEN)
        if key is _NOT_SEEN:
            key = _environ_key(name)
        if key is None:
            continue
        if key in _PROXY_KEYS:
            proxied = True
        text = value.decode("latin-1")
        previous = environ.get(key)
        if previous is None:
            environ[key] = text
        elif key == "HTTP_COOKIE":
            # Cookie values may contain commas, so repeated Cookie fields join with "; " (RFC 6265 5.4).
            environ[key] = previous + "; " + text
        elif key != "HTTP_HOST":  # HTTP_HOST set already came from an absolute-form target (RFC 9112 3.2.2)
            environ[key] = previous + ", " + text
    if head.chunked:
        # The body was de-chunked and counted on the loop, so the application sees a plain body of
        # known length, as if the client had sent Content-Length.
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(body_size)
    if proxied and proxies.trusts_peer(peername):
        apply_proxy_headers(environ, proxies)
    return environ


# A uwsgi variable becomes an environ key only if it is spelled like a CGI variable, so that a front end's
# variables cannot set wsgi.* keys (or anything else an application would not expect from a request).
_CGI_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


def _uwsgi_environ(base: Environ, sockname: Any, peername: Any, head: RequestHead, body: BinaryIO) -> Environ:
    """The environ for a request from a uwsgi front end: its CGI variables, over the server's keys.

    The front end speaks for the client (REMOTE_ADDR, HTTPS, SERVER_NAME), so proxy headers are not
    consulted: a client's X-Forwarded-For passed on by nginx must not become REMOTE_ADDR. What the front
    end leaves out is filled in as for HTTP: the socket's addresses, PATH_INFO and QUERY_STRING from the
    target, SCRIPT_NAME from --root-path.
    """
    assert head.params is not None
    environ = _with_addresses(base, sockname, peername)
    given_script_name = False
    for raw_key, raw_value in head.params:
        key = raw_key.decode("latin-1")
        if not _CGI_KEY.fullmatch(key):
            continue
        value = raw_value.decode("latin-1")
        previous = environ.get(key) if key.startswith("HTTP_") else None
        if previous is None:
            environ[key] = value
        elif key == "HTTP_COOKIE":
            environ[key] = previous + "; " + value
        elif key != "HTTP_HOST":
            environ[key] = previous + ", " + value
        given_script_name = given_script_name or key == "SCRIPT_NAME"
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if not environ.get(key, True):
            del environ[key]  # nginx sends them empty; an HTTP request without the header has no key
    path, _, query = head.target.partition(b"?")
    if "PATH_INFO" not in environ:
        environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
    environ.setdefault("QUERY_STRING", query.decode("latin-1"))
    environ.setdefault("REQUEST_URI", head.target.decode("latin-1"))
    environ.setdefault("SERVER_PROTOCOL", "HTTP/1.0")
    root_path: str = environ["SCRIPT_NAME"]
    path_info: str = environ["PATH_INFO"]
    if (
        not given_script_name
        and root_path
        and (path_info == root_path or path_info.startswith(root_path + "/"))
    ):
        environ["PATH_INFO"] = path_info[len(root_path) :]
    scheme = environ.get("UWSGI_SCHEME") or environ.get("REQUEST_SCHEME")
    if environ.get("HTTPS", "").lower() in ("on", "1"):
        scheme = "https"
    if scheme == "https" or scheme == "http":
        environ["wsgi.url_scheme"] = scheme
    environ["wsgi.input"] = body
    return environ


def _with_addresses(base: Environ, sockname: Any, peername: Any) -> Environ:
    """A copy of the server's keys with the connection's addresses (unix sockets keep the defaults)."""
    environ = base.copy()
    if type(sockname) is tuple:
        environ["SERVER_NAME"] = sockname[0]
        environ["SERVER_PORT"] = str(sockname[1])
    if type(peername) is tuple:
        environ["REMOTE_ADDR"] = peername[0]
        environ["REMOTE_PORT"] = str(peername[1])
    return environ


def _absolute_to_origin(target: bytes, environ: Environ) -> bytes:
    """'*' stays '*'; 'http://host/p?q' sets HTTP_HOST from the target and returns '/p?q'."""
    if target == b"*":
        return target
    rest = target.split(b"://", 1)[1]
    ends = [i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0]
    end = min(ends) if ends else len(rest)
    if end:
        environ["HTTP_HOST"] = rest[:end].decode("latin-1")
    remainder = rest[end:]
    return remainder if remainder.startswith(b"/") else b"/" + remainder
