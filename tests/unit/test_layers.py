"""The import direction of design.md, enforced: a module imports only from the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "aiowsgi"

# Layer of each module (by path relative to the package, without .py); see design.md "Layers".
# Within a layer, the ".5" modules sit on top of their siblings (server uses loops, sockets, app_loader).
LAYERS: dict[str, float] = {
    "__about__": 0,
    "errors": 0,
    "_types": 0,
    "trusted": 0.5,
    "config": 1,
    "config_sources": 1.5,
    "buffers": 1,
    "http": 2,
    "wsgi": 3,
    "bridge": 4,
    "protocol": 5,
    "loops": 6,
    "sockets": 6,
    "tls": 6,
    "app_loader": 6,
    "accesslog": 6,
    "logs": 6.2,  # configures the access log of accesslog's formats
    "metrics": 6,
    "server": 6.5,
    "supervisor": 7,
    "cli": 8,
    "__main__": 8.5,
    "__init__": 9,
}
FORBIDDEN = {"http": {"asyncio", "socket", "threading", "selectors"}, "wsgi": {"asyncio"}}


def layer_key(module: str) -> str:
    return module.split(".")[0]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(absolute module inside aiowsgi or top-level external name, line) for each import in `path`."""
    tree = ast.parse(path.read_text())
    package_parts = path.relative_to(PACKAGE).with_suffix("").parts[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                if not node.module:
                    found.extend((".".join([*base, alias.name]), node.lineno) for alias in node.names)
                    continue
                found.append(("aiowsgi." + target if target else "aiowsgi", node.lineno))
            elif node.module:
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = path.relative_to(PACKAGE).with_suffix("").parts
    own_key = own[0]
    assert own_key in LAYERS, f"{own_key} has no layer in this test or in design.md"
    problems = []
    for name, line in imported_modules(path):
        top = name.split(".")[0]
        if own_key in FORBIDDEN and top in FORBIDDEN[own_key]:
            problems.append(f"line {line}: aiowsgi.{own_key} must not import {top}")
        if top == "aiowsgi" and name != "aiowsgi":
            other = name.split(".")[1]
            if other != own_key and LAYERS[other] >= LAYERS[own_key]:
                problems.append(
                    f"line {line}: imports {name} (layer {LAYERS[other]}) from layer {LAYERS[own_key]}"
                )
    assert not problems, "\n".join(problems)
