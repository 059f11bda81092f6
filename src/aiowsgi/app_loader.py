"""Turning "module:attr" into a WSGI callable, with an error a person can act on when it cannot be done."""

from __future__ import annotations

import importlib
import os
import sys
import traceback

from ._types import WSGIApp
from .errors import AppLoadError


def load_app(spec: str, factory: bool = False, app_dir: str = ".") -> WSGIApp:
    """Import MODULE and return ATTR (dotted attributes allowed), called first if `factory`.

    Raises:
        AppLoadError: with a one-paragraph message naming what was wrong.
    """
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise AppLoadError(
            f"{spec!r} is not in MODULE:ATTR form; "
            "for example `python -m aiowsgi myproject.wsgi:application`."
        )
    directory = os.path.abspath(app_dir)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise AppLoadError(
                f"Could not import module {module_name!r}: there is no module {exc.name!r} in {directory} "
                "or on sys.path. Check the spelling, or pass --app-dir with the directory that holds it."
            ) from None
        raise AppLoadError(_import_failure(module_name, exc)) from None
    except Exception as exc:  # noqa: BLE001 - any import error is reported to the user, not re-raised
        raise AppLoadError(_import_failure(module_name, exc)) from None

    target: object = module
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppLoadError(
                f"Module {module_name!r} ({getattr(module, '__file__', '?')}) has no attribute {attr_path!r}."
            ) from None
    if factory:
        if not callable(target):
            raise AppLoadError(f"--factory was given, but {spec} is a {type(target).__name__}, not callable.")
        try:
            target = target()
        except Exception as exc:  # noqa: BLE001 - reported to the user as a load error
            raise AppLoadError(f"Calling the factory {spec}() raised {_describe(exc)}") from None
    if not callable(target):
        raise AppLoadError(
            f"{spec} is a {type(target).__name__}, not a WSGI application: it must be callable as "
            "app(environ, start_response)."
        )
    app: WSGIApp = target
    return app


def _import_failure(module_name: str, exc: BaseException) -> str:
    return f"Importing {module_name!r} raised {_describe(exc)}"


def _describe(exc: BaseException) -> str:
    """'NameError: name 'x' is not defined, at app.py line 3' - the error and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" in {exc.filename} line {exc.lineno}"
    elif frames:
        where = f" at {frames[-1].filename} line {frames[-1].lineno}"
    else:
        where = ""
    return f"{type(exc).__name__}: {exc}{where}. Fix it and start again."
