"""`python -m aiowsgi MODULE:ATTR [options]`: argparse generated from the Config fields, then run()."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .__about__ import __version__
from ._types import WSGIApp
from .accesslog import compile_access_format
from .app_loader import load_app
from .config import (
    Config,
    config_from_env,
    config_from_kwargs,
    env_name,
    flags_of,
    option_fields,
    spec_of,
)
from .errors import AppLoadError, ConfigError
from .logs import configure_logging
from .server import run
from .sockets import systemd_binds
from .supervisor.preload import ZYGOTE_FD_ENV, serve_as_zygote


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiowsgi",
        description="Serve a WSGI application. Every option can also be set with an AIOWSGI_<NAME> "
        "environment variable (e.g. AIOWSGI_THREADS=16); a flag wins over the environment.",
    )
    parser.add_argument(
        "app", metavar="MODULE:ATTR", help="the WSGI application, e.g. myproject.wsgi:application"
    )
    parser.add_argument("--version", action="version", version=f"aiowsgi {__version__}")
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
    app_spec = args.pop("app")
    try:
        options = config_from_env()
        options.update(args)
        config = config_from_kwargs(options)
        compile_access_format(config.access_log_format)  # an unknown atom fails before any process starts
        configure_logging(config)
    except ConfigError as exc:
        print(f"aiowsgi: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
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


def _load_app(app_spec: str, config: Config) -> WSGIApp:
    """load_app; in a server child of --reload, its dev-mode version (an import error becomes a 500 page)."""
    from .supervisor import reload

    if reload.RELOAD_CHILD_ENV in os.environ:
        return reload.load_app_in_child(app_spec, config)
    return load_app(app_spec, config.factory, config.app_dir)


if __name__ == "__main__":
    sys.exit(main())
