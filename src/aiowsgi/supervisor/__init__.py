"""Supervisors: processes that hold the listening sockets and run servers in child processes.

`reload` restarts one child when the code changes (--reload); `multiprocess` keeps N children running
(--workers). Both start children with `children.start_server_process`, which hands them the sockets.
"""
