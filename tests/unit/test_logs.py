"""The access log: the command line's batched writer, and which way the server sends each line."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiowsgi import logs
from aiowsgi.config import Config
from aiowsgi.errors import ConfigError

LINE = '127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 200 13 0.2ms'
STAMP = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] ")


class Stream(io.StringIO):
    """A text stream that counts its writes and can be waited on."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes += 1
        count = super().write(text)
        self.written.set()
        return count


@pytest.fixture
def stream() -> Stream:
    return Stream()


@pytest.fixture
def writer(stream: Stream) -> Iterator[logs.AccessLogWriter]:
    handler = logs.AccessLogWriter(stream)
    handler.setFormatter(logs.Formatter(logs.ACCESS_FORMAT))
    yield handler
    handler.close()


@pytest.fixture
def access_logger() -> Iterator[logging.Logger]:
    """aiowsgi.access, for a test that configures it; both loggers are put back as they were after."""
    loggers = [logs.access_logger, logging.getLogger("aiowsgi.error")]
    saved = [(list(lg.handlers), list(lg.filters), lg.level, lg.propagate) for lg in loggers]
    yield logs.access_logger
    for logger, (handlers, filters, level, propagate) in zip(loggers, saved, strict=True):
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:], logger.filters[:] = handlers, filters
        logger.level, logger.propagate = level, propagate


def test_a_line_is_written_soon_without_more_traffic(writer: logs.AccessLogWriter, stream: Stream) -> None:
    writer.write_line(LINE)
    assert stream.written.wait(5), "the background flush must write a lone line"
    assert stream.getvalue().endswith(' 127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 200 13 0.2ms\n')


def test_lines_are_written_in_batches(stream: Stream) -> None:
    writer = logs.AccessLogWriter(stream)
    writer.close()  # the background flush stops; only full batches and close() write now
    count = 3 * logs.AccessLogWriter.FLUSH_LINES
    for _ in range(count):
        writer.write_line(LINE)
    assert stream.writes == 3
    assert stream.getvalue().count("\n") == count


def test_close_writes_what_is_pending(stream: Stream) -> None:
    writer = logs.AccessLogWriter(stream)
    writer._closed.set()  # no background flush
    writer.write_line(LINE)
    assert stream.writes == 0
    writer.close()
    assert stream.getvalue().count("\n") == 1


def test_the_fast_line_is_the_line_a_log_record_gets(writer: logs.AccessLogWriter, stream: Stream) -> None:
    record = logging.LogRecord("aiowsgi.access", logging.INFO, __file__, 0, LINE, (), None)
    writer.handle(record)
    writer.write_line(LINE)
    writer.flush()
    lines = stream.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    via_record, direct = (STAMP.sub("", line, count=1) for line in lines)
    assert via_record == direct == '127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 200 13 0.2ms'


def test_the_command_line_writer_gets_lines_directly(access_logger: logging.Logger) -> None:
    logs.configure_logging(Config())
    handler = access_logger.handlers[0]
    assert isinstance(handler, logs.AccessLogWriter)
    assert logs.access_log_for_requests() == handler.write_line


@pytest.mark.parametrize("change", ["another handler", "a filter", "propagation"])
def test_any_other_setup_goes_through_logging(access_logger: logging.Logger, change: str) -> None:
    logs.configure_logging(Config())
    if change == "another handler":
        access_logger.addHandler(logging.NullHandler())
    elif change == "a filter":
        access_logger.addFilter(lambda record: True)
    else:
        access_logger.propagate = True
    assert logs.access_log_for_requests() is logs._log_record


def collect_messages(logger: logging.Logger) -> list[str]:
    """Make `logger` (at INFO, not propagating) hand each record's message to the list returned."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.handlers[:] = [Collect()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return seen


def test_a_log_record_honours_the_level(access_logger: logging.Logger) -> None:
    seen = collect_messages(access_logger)
    logs._log_record(LINE)
    access_logger.setLevel(logging.WARNING)
    logs._log_record(LINE)
    assert seen == ['127.0.0.1:5555 - "GET /a?b=1 HTTP/1.1" 200 13 0.2ms']


def test_a_line_with_percent_signs_is_logged_as_it_is(access_logger: logging.Logger) -> None:
    seen = collect_messages(access_logger)
    line = '127.0.0.1:5555 - "GET /%s%(x)s%d%% HTTP/1.1" 200 13 0.2ms'
    logs._log_record(line)
    assert seen == [line]


def test_other_formats_are_written_without_a_timestamp(stream: Stream) -> None:
    writer = logs.AccessLogWriter(stream, timestamped=False)
    writer.setFormatter(logs.Formatter(logs.PLAIN_ACCESS_FORMAT))
    writer.write_line('{"status": 200}')
    writer.handle(logging.LogRecord("aiowsgi.access", logging.INFO, __file__, 0, '{"status": 201}', (), None))
    writer.close()
    assert stream.getvalue() == '{"status": 200}\n{"status": 201}\n'


@pytest.mark.parametrize(
    ("access_format", "timestamped"), [("default", True), ("json", False), ("%(h)s", False)]
)
def test_the_command_line_stamps_only_the_default_format(
    access_logger: logging.Logger, access_format: str, timestamped: bool
) -> None:
    logs.configure_logging(Config(access_log_format=access_format))
    handler = access_logger.handlers[0]
    assert isinstance(handler, logs.AccessLogWriter)
    assert handler._timestamped is timestamped
    assert handler.formatter is not None
    assert (handler.formatter._fmt == logs.ACCESS_FORMAT) is timestamped


LOG_CONFIG_ERRORS = [
    ("missing.json", None, "No such file or directory"),
    ("bad.json", "{not json", "Expecting property name"),
    ("bad.toml", "version = ", "Invalid value"),
    ("list.json", "[1, 2]", "expected a dictConfig mapping, got list"),
    ("noversion.json", "{}", "dictionary doesn't specify a version"),
    (
        "badclass.json",
        '{"version": 1, "handlers": {"h": {"class": "no.such.Handler"}}}',
        "Unable to configure",
    ),
    ("empty.ini", "", "formatters"),
    ("broken.ini", "[loggers\nkeys=root", "File contains no section headers"),
    ("logging.yaml", "version: 1", "expected a .json or .toml file"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), LOG_CONFIG_ERRORS)
def test_a_log_config_that_cannot_be_applied_is_one_clear_error(
    access_logger: logging.Logger, tmp_path: Path, name: str, content: str | None, fragment: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        logs.configure_logging(Config(log_config=str(path)))
    message = str(raised.value)
    assert message.startswith(f"--log-config {path}: "), message
    assert fragment in message
    assert "\n" not in message


def test_a_log_config_replaces_our_handlers_and_keeps_our_levels_unless_it_sets_them(
    access_logger: logging.Logger, tmp_path: Path
) -> None:
    path = tmp_path / "logging.json"
    path.write_text('{"version": 1, "loggers": {"aiowsgi.error": {"level": "WARNING"}}}')
    logs.configure_logging(Config(log_config=str(path), log_level="debug"))
    error = logging.getLogger("aiowsgi.error")
    assert error.level == logging.WARNING
    assert access_logger.level == logging.INFO
    assert access_logger.handlers == []
    assert access_logger.propagate
    assert not access_logger.disabled
    assert logs.access_log_for_requests() is logs._log_record
