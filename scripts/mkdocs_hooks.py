"""mkdocs hook (mkdocs.yml `hooks:`): the repository files that docs/ links to, on the site too.

The pages link to a few files outside docs/, such as ../benchmarks/README.md and ../examples/embedded.py.
Those links work on GitHub; on the site they would point nowhere, and `mkdocs build --strict` fails on them.
This hook adds each such file to the site under repo/ (repo/benchmarks/README.md becomes a page, not in the
navigation; any other file is copied as it is) and rewrites the links to it, so the Markdown in docs/ stays
as it reads on GitHub. Only files that exist inside the repository are taken; any other link is left for
mkdocs to check and report.

It also warns (so `--strict` fails) where a table is followed by a line that is not blank: GitHub ends the
table there, but Python-Markdown reads a heading or a paragraph that follows at once as one more row.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

PREFIX = "repo/"
# A Markdown link or image whose target starts with ../ : ](../path) or ](../path#anchor)
LINK = re.compile(r"(\]\()(\.\./[^)#\s]+)((?:#[^)\s]*)?\))")

log = logging.getLogger("mkdocs.hooks.aiowsgi")

_outside: dict[Path, str] = {}  # the resolved file outside docs/ -> its src_uri on the site


def _target(page_src_uri: str, docs_dir: Path, link: str) -> Path | None:
    path = (docs_dir / posixpath.dirname(page_src_uri) / link).resolve()
    root = docs_dir.parent.resolve()
    if path.is_relative_to(docs_dir.resolve()) or not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def on_files(files: Files, config: Any) -> Files:
    docs_dir = Path(config["docs_dir"])
    root = docs_dir.parent.resolve()
    _outside.clear()
    for page in files.documentation_pages():
        for match in LINK.finditer(page.content_string):
            path = _target(page.src_uri, docs_dir, match.group(2))
            if path is None or path in _outside:
                continue
            src_uri = PREFIX + path.relative_to(root).as_posix()
            _outside[path] = src_uri
            files.append(
                File.generated(config, src_uri, abs_src_path=str(path), inclusion=InclusionLevel.NOT_IN_NAV)
            )
    return files


def _check_tables(markdown: str, src_uri: str) -> None:
    fence = ""
    lines = markdown.splitlines()
    for number, (line, following) in enumerate(zip(lines, lines[1:], strict=False), start=2):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fence = "" if fence and stripped.startswith(fence) else fence or stripped[:3]
        ends_badly = following.strip() and not following.lstrip().startswith("|")
        if not fence and stripped.startswith("|") and ends_badly:
            log.warning("%s:%d: a table runs into %r: add a blank line", src_uri, number, following[:40])


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    docs_dir = Path(config["docs_dir"])
    _check_tables(markdown, page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        path = _target(page.file.src_uri, docs_dir, match.group(2))
        if path is None or path not in _outside:
            return match.group(0)
        link = posixpath.relpath(_outside[path], posixpath.dirname(page.file.src_uri) or ".")
        return match.group(1) + link + match.group(3)

    return LINK.sub(rewrite, markdown)
