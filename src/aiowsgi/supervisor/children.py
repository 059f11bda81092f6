"""Server processes on sockets a supervisor holds.

The supervisor binds once and keeps the sockets for its whole life, so the port never closes while children
come and go. A child is a fresh interpreter running `python -m aiowsgi` with the supervisor's own options,
its binds replaced by `fd://N` for the inherited sockets: it loads the application's code anew, and every
option reaches it on its command line (`config_to_argv`, derived from Config), whichever source (flag,
AIOWSGI_* variable, config file) gave it to the supervisor. So the child reads no config file (`--no-config`)
and no AIOWSGI_<OPTION> variable but the secrets' (`config_secret_env`): an option the supervisor ended up
with at its default value is absent from that command line, and a file or variable must not fill it in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence

from ..config import Config, config_secret_env, config_to_argv, env_name, option_fields


def server_command(app_spec: str, config: Config, sockets: Sequence[socket.socket]) -> list[str]:
    """argv for one plain server process (no supervisor of its own) on the inherited `sockets`.

    What makes it a child is spelled out even where it is the default, so that an AIOWSGI_* variable in
    the environment cannot turn the child into a supervisor (a flag wins over the environment); the pid
    file is the supervisor's, and so is the --drain-delay: a child stopped to be replaced (HUP, a reload,
    --max-requests) must not withdraw readiness, and on SIGTERM the supervisor drains before it stops them.
    """
    pinned = ["--workers", "1", "--no-reload", "--pid", "", "--drain-delay", "0", "--no-config"]
    argv = config_to_argv(child_config(config, sockets))
    return [sys.executable, "-m", "aiowsgi", app_spec, *argv, *pinned]


def child_config(config: Config, sockets: Sequence[socket.socket]) -> Config:
    """The config of one server process under a supervisor: the supervisor's, on the inherited `sockets`."""
    binds = tuple(f"fd://{sock.fileno()}" for sock in sockets)
    return config.replace(bind=binds, workers=1, reload=False, pid="", drain_delay=0.0)


def start_server_process(
    app_spec: str,
    config: Config,
    sockets: Sequence[socket.socket],
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start a server process on `sockets`; `env` is added to this process's environment."""
    fds = [sock.fileno() for sock in sockets]
    for sock in sockets:
        sock.set_inheritable(True)
    options = {env_name(f) for f in option_fields()}
    inherited = {name: value for name, value in os.environ.items() if name not in options}
    environment = {**inherited, **config_secret_env(config), **(env or {})}
    return subprocess.Popen(
        server_command(app_spec, config, sockets), pass_fds=[*fds, *pass_fds], env=environment
    )


def start_linked_process(
    app_spec: str, config: Config, sockets: Sequence[socket.socket], env_var: str
) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start a server process on `sockets` with one end of a new socketpair, whose descriptor it finds in
    `env_var`; return the process and our end (blocking; set it as you need)."""
    mine, theirs = socket.socketpair()
    try:
        env = {env_var: str(theirs.fileno())}
        return start_server_process(app_spec, config, sockets, env=env, pass_fds=[theirs.fileno()]), mine
    except BaseException:
        mine.close()
        raise
    finally:
        theirs.close()
