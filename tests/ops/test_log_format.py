"""The text log format of ``agentvp serve``: what :class:`logging.Formatter` prints, line for
line, with its date part computed once per second."""

from __future__ import annotations

import logging
import logging.config
import time

import pytest

from verifier.ops.logs import TextFormatter, logging_config

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def record_at(created: float) -> logging.LogRecord:
    record = logging.LogRecord("agentvp.access", logging.INFO, "", 0, "GET %s", ("/x",), None)
    record.created, record.msecs = created, (created - int(created)) * 1000
    return record


# Across second, minute, day and year boundaries, and back in time (a clock step).
INSTANTS = [
    1_796_311_979.051,
    1_796_311_979.999,
    1_796_311_980.0,
    1_796_311_980.0004,
    1_796_311_979.5,
    1_798_761_599.9996,
    1_798_761_600.25,
    1_700_000_000.0,
]


@pytest.mark.parametrize("converter", [time.localtime, time.gmtime])
def test_lines_are_the_standard_formatters(converter: object) -> None:
    ours, standard = TextFormatter(FORMAT), logging.Formatter(FORMAT)
    ours.converter = standard.converter = converter  # type: ignore[assignment]
    for created in INSTANTS:
        record = record_at(created)
        assert ours.format(record) == standard.format(record), created


def test_an_explicit_date_format_is_the_standard_formatters() -> None:
    ours = TextFormatter(FORMAT, datefmt="%H:%M:%S")
    standard = logging.Formatter(FORMAT, datefmt="%H:%M:%S")
    for created in INSTANTS:
        assert ours.format(record_at(created)) == standard.format(record_at(created))


def test_serve_uses_it_for_text_and_not_for_json() -> None:
    def formatter(fmt: str) -> logging.Formatter:
        """The formatter ``dictConfig`` builds from ``agentvp serve``'s configuration (built
        alone: configuring logging here would close the test run's own handlers)."""
        config = logging_config(fmt)
        built = logging.config.DictConfigurator(config).configure_formatter(
            config["formatters"]["default"]
        )
        assert isinstance(built, logging.Formatter)
        return built

    text = formatter("text")
    assert type(text) is TextFormatter
    record = record_at(INSTANTS[0])
    assert text.format(record) == logging.Formatter(FORMAT).format(record)
    assert type(formatter("json")) is not TextFormatter
