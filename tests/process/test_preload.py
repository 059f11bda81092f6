"""--preload: the application is imported once, in a process the workers are forked from; HUP imports anew."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.process._proc import ServerProcess, run_cli, serving
from tests.process.test_workers import wait_for_stopped, wait_for_workers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--preload needs Linux")

APP = "tests.process.apps.preloaded:app"
QUICK = ["--graceful-timeout", "5", "--no-access-log"]


@dataclass
class Answer:
    pid: int
    parent: int
    frozen: int
    version: str


def ask(server: ServerProcess) -> Answer:
    response = server.get("/")
    assert response.status == 200
    pid, parent, frozen, version = response.body.decode().split()
    return Answer(int(pid), int(parent), int(frozen), version)


def answers_from(server: ServerProcess, pids: set[int], count: int = 6) -> list[Answer]:
    """`count` answers, each on a new connection; every one must come from a worker in `pids`."""
    answers = [ask(server) for _ in range(count)]
    assert {answer.pid for answer in answers} <= pids
    return answers


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    imports, version = tmp_path / "imports", tmp_path / "version"
    version.write_text("v1")
    return {"PRELOAD_IMPORTS": str(imports), "PRELOAD_VERSION": str(version)}


def imports(files: dict[str, str]) -> list[int]:
    path = Path(files["PRELOAD_IMPORTS"])
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_workers_are_forked_from_one_import(files: dict[str, str]) -> None:
    with serving([APP, "--workers", "2", "--preload", *QUICK], env=files) as server:
        pids = set(wait_for_workers(server, 2))
        answers = answers_from(server, pids)
        # One import, in neither worker nor the supervisor: the preloading process.
        (importer,) = imports(files)
        assert importer not in pids
        assert importer != server.proc.pid
        for answer in answers:
            assert answer.parent == server.proc.pid  # the supervisor's own children, to wait for and signal
            assert answer.frozen > 0  # gc.freeze() ran before the fork
            assert answer.version == "v1"
        assert server.stop() == 0
    assert "preloading process" in server.stderr
    assert "Traceback" not in server.stderr


def test_hup_imports_the_new_code_in_a_new_preloading_process(files: dict[str, str]) -> None:
    with serving([APP, "--workers", "2", "--preload", *QUICK], env=files) as server:
        old = wait_for_workers(server, 2)
        Path(files["PRELOAD_VERSION"]).write_text("v2")
        server.send(signal.SIGHUP)
        new = set(wait_for_workers(server, 4)) - set(old)
        wait_for_stopped(server, old)
        assert {answer.version for answer in answers_from(server, new)} == {"v2"}
        first, second = imports(files)
        assert first != second
        assert server.stop() == 0


def test_a_killed_worker_is_forked_again_without_a_new_import(files: dict[str, str]) -> None:
    with serving([APP, "--workers", "2", "--preload", *QUICK], env=files) as server:
        victim, survivor = wait_for_workers(server, 2)
        os.kill(victim, signal.SIGKILL)
        server.wait_for_line(rf"worker {victim} was killed by SIGKILL; starting a replacement")
        (replacement,) = set(wait_for_workers(server, 3)) - {victim, survivor}
        answers_from(server, {replacement, survivor})
        assert len(imports(files)) == 1
        assert server.stop() == 0


def test_an_application_that_cannot_be_imported_stops_the_supervisor(tmp_path: Path) -> None:
    env = {"PRELOAD_IMPORTS": str(tmp_path / "imports"), "PRELOAD_VERSION": str(tmp_path / "missing")}
    result = run_cli([APP, "--workers", "2", "--preload", "--port", "0", *QUICK], env=env)
    assert result.returncode == 1, result.stderr
    assert "FileNotFoundError" in result.stderr  # the import's own error, from the preloading process
    assert "the preloading process" in result.stderr
    assert "the application cannot start" in result.stderr


def test_preload_without_workers_says_it_does_nothing(files: dict[str, str]) -> None:
    with serving([APP, "--preload", *QUICK], env=files) as server:
        assert ask(server).version == "v1"
        server.wait_for_line(r"--preload is acted on with --workers 2 or more only")
        assert server.stop() == 0


def test_a_killed_preloading_process_is_started_again_for_the_next_worker(files: dict[str, str]) -> None:
    with serving([APP, "--workers", "2", "--preload", *QUICK], env=files) as server:
        victim, survivor = wait_for_workers(server, 2)
        (preloader,) = imports(files)
        os.kill(preloader, signal.SIGKILL)  # the OOM killer's choice, say: the workers serve on
        server.wait_for_line(rf"the preloading process {preloader} was killed by SIGKILL")
        answers_from(server, {victim, survivor})
        os.kill(victim, signal.SIGKILL)
        (replacement,) = set(wait_for_workers(server, 3)) - {victim, survivor}
        answers_from(server, {replacement, survivor})
        assert len(imports(files)) == 2  # the replacement came from a fresh import
        assert server.stop() == 0
