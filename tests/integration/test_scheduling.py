"""--batch-scheduling: the worker threads run under SCHED_BATCH (Linux), and nothing else does."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from aiowsgi._types import Environ, StartResponse
from tests.support import get, request, running_server

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SCHED_BATCH is a Linux scheduling policy"
)


def policy_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Answers with the scheduling policy of the thread that runs the request."""
    policy = os.sched_getscheduler(0)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(str(policy))))])
    return [str(policy).encode()]


def worker_thread_policies() -> set[int]:
    return {
        os.sched_getscheduler(thread.native_id)
        for thread in threading.enumerate()
        if thread.name.startswith("aiowsgi-worker") and thread.native_id is not None
    }


def test_requests_run_in_batch_scheduled_threads_and_the_loop_is_left_alone() -> None:
    with running_server(policy_app, threads=3) as server:
        response = request(server, get("/"))
        assert int(response.body) == os.SCHED_BATCH
        assert worker_thread_policies() == {os.SCHED_BATCH}
        assert os.sched_getscheduler(server.thread.native_id or 0) == os.SCHED_OTHER  # the loop's thread
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_no_batch_scheduling_leaves_the_default_policy() -> None:
    with running_server(policy_app, threads=3, batch_scheduling=False) as server:
        response = request(server, get("/"))
        assert int(response.body) == os.SCHED_OTHER
        assert worker_thread_policies() == {os.SCHED_OTHER}
