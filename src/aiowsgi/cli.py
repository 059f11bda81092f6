"""`python -m aiowsgi MODULE:ATTR [options]`: argparse generated from the Config fields, then run().

The options are merged from flags, AIOWSGI_* variables and one config file by `config_sources`, whose
docstring holds the rules.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .__about__ import __version__
from ._types import WSGIApp
from .accesslog import compile_access_format
from .app_loader import load_app
from .config import (
    Config,
    config_from_env,
    env_name,
    flags_of,
    option_fields,
    spec_of,
    unknown_env_variables,
)
from .config_sources import (
    APP_KEY,
    COMMAND_LINE_OPTIONS,
    ConfigFile,
    find_config_file,
    merge_sources,
    read_config_file,
    render_toml,
)
from .errors import AppLoadError, ConfigError
from .logs import configure_logging
from .server import SUPERVISOR_FD_ENV, run
from .sockets import systemd_binds
from .supervisor.preload import ZYGOTE_FD_ENV, serve_as_zygote

error_log = logging.getLogger("aiowsgi.error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiowsgi",
        description="Serve a WSGI application. Every option can also be set with an AIOWSGI_<NAME> "
        "environment variable (e.g. AIOWSGI_THREADS=16) or in a config file (threads = 16); a flag wins "
        "over the environment, which wins over the file.",
    )
    parser.add_argument(
        "app",
        nargs="?",
        default=None,
        metavar="MODULE:ATTR",
        help=f"the WSGI application, e.g. myproject.wsgi:application; may instead come from the config "
        f"file's {APP_KEY} key",
    )
    parser.add_argument("--version", action="version", version=f"aiowsgi {__version__}")
    files = parser.add_argument_group("Configuration files (command line only)")
    # --config and --no-config contradict each other; the other two are actions on the merged result.
    exclusive = files.add_mutually_exclusive_group()
    for option in COMMAND_LINE_OPTIONS:
        group = exclusive if option.flag in ("--config", "--no-config") else files
        if option.metavar:
            group.add_argument(
                option.flag, metavar=option.metavar, default=argparse.SUPPRESS, help=option.help
            )
        else:
            group.add_argument(option.flag, action="store_true", default=argparse.SUPPRESS, help=option.help)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in option_fields():
        spec = spec_of(f)
        group = groups.get(spec.section) or groups.setdefault(
            spec.section, parser.add_argument_group(spec.section)
        )
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": argparse.SUPPRESS,
            # argparse %-formats help text; a "%" of ours (access log atoms) is meant literally.
            "help": f"{spec.help} [default: {_shown_default(f.default)}; env {env_name(f)}]".replace(
                "%", "%%"
            ),
        }
        if isinstance(f.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif spec.repeatable:
            kwargs["action"] = "append"
            kwargs["metavar"] = spec.metavar
        else:
            kwargs["type"] = _typed(f.name, spec.parse)
            if spec.choices:
                kwargs["choices"] = spec.choices
            else:
                kwargs["metavar"] = spec.metavar or _METAVARS.get(type(f.default), f.name.upper())
        group.add_argument(*flags_of(f), **kwargs)
    return parser


_METAVARS = {int: "N", float: "SECONDS"}


def _typed(name: str, parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid value for {name}") from None

    convert.__name__ = name
    return convert


def _shown_default(value: object) -> str:
    if value == ():
        return "none"
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    app_flag: str | None = args.pop("app")
    config_path: str | None = args.pop("config", None)
    no_config: bool = args.pop("no_config", False)
    print_config: bool = args.pop("print_config", False)
    check_config: bool = args.pop("check_config", False)
    # Exit statuses: 2 for a configuration that cannot be used, as argparse does for a bad flag, except
    # under --check-config, which promises 0 or 1.
    config_failed = 1 if check_config else 2
    try:
        config_file, file_warnings = _read_config_file(config_path, no_config)
        effective = merge_sources(args, config_from_env(), config_file, app_flag)
        if print_config:
            # Logging is not set up for --print-config, whose output is the configuration itself.
            for warning in file_warnings + _environment_warnings():
                print(f"aiowsgi: warning: {warning}", file=sys.stderr)  # noqa: T201
            sys.stdout.write(render_toml(effective))
            return 0
        if effective.app is None:
            raise ConfigError(
                f'no application: give MODULE:ATTR on the command line, or {APP_KEY} = "MODULE:ATTR" in a '
                "config file"
            )
        app_spec, config = effective.app, effective.config
        compile_access_format(config.access_log_format)  # an unknown atom fails before any process starts
        configure_logging(config)
    except ConfigError as exc:
        print(f"aiowsgi: error: {exc}", file=sys.stderr)  # noqa: T201
        return config_failed
    for warning in file_warnings + _environment_warnings():
        error_log.warning("%s", warning)
    if config_file is not None:
        error_log.info("options from %s", config_file.label)
    if check_config:
        return _check_app(app_spec, config)
    activated = systemd_binds(os.environ)
    if activated and not config.bind:
        config = config.replace(bind=activated)
    try:
        if config.reload:
            from .supervisor.reload import run_reloader

            return run_reloader(app_spec, config)
        zygote_fd = os.environ.pop(ZYGOTE_FD_ENV, None)
        if zygote_fd is not None:
            return serve_as_zygote(app_spec, config, int(zygote_fd))
        if config.workers > 1:
            from .supervisor.multiprocess import run_workers

            return run_workers(app_spec, config)
        app = _load_app(app_spec, config)
        return run(app, config)
    except AppLoadError as exc:
        print(f"aiowsgi: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except (ConfigError, ImportError) as exc:
        print(f"aiowsgi: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except OSError as exc:
        print(f"aiowsgi: error: {exc.strerror or exc}", file=sys.stderr)  # noqa: T201
        return 1


def _read_config_file(path: str | None, no_config: bool) -> tuple[ConfigFile | None, list[str]]:
    if no_config:
        return None, []
    if path is not None:
        return read_config_file(Path(path)), []
    return find_config_file(Path.cwd())


def _environment_warnings() -> list[str]:
    """Unknown AIOWSGI_* variables, from the process that reads the configuration: a --workers or --reload
    child inherits the same environment, and saying it once per process would only repeat it."""
    from .supervisor.reload import RELOAD_CHILD_ENV

    children = (SUPERVISOR_FD_ENV, RELOAD_CHILD_ENV, ZYGOTE_FD_ENV)
    if any(name in os.environ for name in children):
        return []
    return unknown_env_variables(os.environ, also_known=children)


def _check_app(app_spec: str, config: Config) -> int:
    """--check-config once the options are valid: import the application as serving would (Gunicorn's
    --check-config does too: most mistakes are in the application's module, not in the options)."""
    try:
        load_app(app_spec, config.factory, config.app_dir)
    except (AppLoadError, ImportError) as exc:
        print(f"aiowsgi: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"aiowsgi: config OK (application {app_spec})")  # noqa: T201
    return 0


def _load_app(app_spec: str, config: Config) -> WSGIApp:
    """load_app; in a server child of --reload, its dev-mode version (an import error becomes a 500 page)."""
    from .supervisor import reload

    if reload.RELOAD_CHILD_ENV in os.environ:
        return reload.load_app_in_child(app_spec, config)
    return load_app(app_spec, config.factory, config.app_dir)


if __name__ == "__main__":
    sys.exit(main())
