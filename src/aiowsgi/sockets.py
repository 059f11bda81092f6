"""Listening sockets from bind addresses: HOST:PORT, [IPV6]:PORT, unix:PATH and fd://N."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import MutableMapping

from .config import Config
from .errors import ConfigError


def bind_addresses(config: Config) -> tuple[str, ...]:
    """--bind if given, else --host/--port (an IPv6 host gets its brackets)."""
    if config.bind:
        return config.bind
    host = f"[{config.host}]" if ":" in config.host else config.host
    return (f"{host}:{config.port}",)


def bind_all(config: Config) -> list[socket.socket]:
    """Bind every address of the config, closing what was bound if one fails."""
    sockets: list[socket.socket] = []
    try:
        for address in bind_addresses(config):
            sockets.append(bind_socket(address, config.backlog, config.reuse_port, config.umask))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def unix_socket_paths(config: Config) -> list[str]:
    """The unix socket files the config binds (and whoever binds them removes)."""
    return [address[5:] for address in bind_addresses(config) if address.startswith("unix:")]


def bind_socket(address: str, backlog: int, reuse_port: bool = False, umask: str = "") -> socket.socket:
    """A bound, listening, non-blocking socket for one address, or ConfigError/OSError saying why not.

    `reuse_port` sets SO_REUSEPORT on a TCP socket (--reuse-port); `umask` (octal) applies to the file of
    a unix socket (--umask).
    """
    if address.startswith("unix:"):
        sock = _bind_unix(address[5:], umask)
    elif address.startswith("fd://"):
        sock = _inherit_fd(address)
    else:
        sock = _bind_tcp(address, reuse_port)
    try:
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _bind_tcp(address: str, reuse_port: bool) -> socket.socket:
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ConfigError(f"bind {address!r}: expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N")
    port = int(port_text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"bind {address!r}: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # [::] is the dual-stack address: it takes IPv4 clients too (as ::ffff:a.b.c.d). Any other
            # IPv6 address is IPv6 only, so that [::1]:P and 127.0.0.1:P can both be bound.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if sockaddr[0] == "::" else 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address}: {exc.strerror}") from None
    return sock


def _inherit_fd(address: str) -> socket.socket:
    try:
        fd = int(address[5:])
    except ValueError:
        raise ConfigError(f"bind {address!r}: fd://N needs a file descriptor number") from None
    try:
        # socket() reads the family and type back from the descriptor; a closed or non-socket one fails.
        return socket.socket(fileno=fd)
    except OSError as exc:
        raise OSError(
            exc.errno, f"cannot listen on {address}: {exc.strerror} (is it an inherited listening socket?)"
        ) from None


def _bind_unix(path: str, umask: str) -> socket.socket:
    _remove_stale_unix_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bind() creates the file with the process's umask; there is no other moment to choose its mode.
    previous = os.umask(int(umask, 8)) if umask else None
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on unix:{path}: {exc.strerror}") from None
    finally:
        if previous is not None:
            os.umask(previous)
    return sock


def systemd_binds(environ: MutableMapping[str, str]) -> tuple[str, ...]:
    """fd:// binds for the sockets systemd passed to this process (socket activation), or ().

    systemd sets LISTEN_PID and LISTEN_FDS and passes the sockets from descriptor 3 on (sd_listen_fds(3));
    the variables are removed, as sd_listen_fds does, so that children do not take them for theirs.
    """
    if environ.get("LISTEN_PID") != str(os.getpid()):
        return ()
    count = environ.get("LISTEN_FDS", "")
    environ.pop("LISTEN_PID", None)
    environ.pop("LISTEN_FDS", None)
    environ.pop("LISTEN_FDNAMES", None)
    if not count.isdigit():
        return ()
    return tuple(f"fd://{3 + index}" for index in range(int(count)))


def _remove_stale_unix_socket(path: str) -> None:
    """A socket file nobody accepts on is left over from a crash; a live one is an error, not ours to take."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return
    except FileNotFoundError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        raise
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"cannot listen on unix:{path}: another server is accepting there")


def describe(sock: socket.socket, scheme: str = "http") -> str:
    """The URL-ish form of a listening socket for the startup line."""
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return f"unix:{name}" if scheme == "http" else f"{scheme}+unix:{name}"
    if sock.family == socket.AF_INET6:
        return f"{scheme}://[{name[0]}]:{name[1]}"
    return f"{scheme}://{name[0]}:{name[1]}"
