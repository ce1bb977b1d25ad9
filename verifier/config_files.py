"""Reading the operator's files (``config.yaml``, ``policy.yaml``, ``trust.json``): YAML or JSON,
and every failure one line naming the file, and for a syntax error its line and column.

    policy.yaml:3:5: YAML syntax error: expected ',' or ']', but got '<block mapping start>'
    trust.json:1:14: JSON syntax error: Expecting ',' delimiter

Schema errors are the loaders' (they add the path of the bad field); this module only makes sure
nothing reaches the operator as a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigFileError", "load_document"]


class ConfigFileError(ValueError):
    """A file that cannot be read or parsed; ``str()`` is one line naming it."""


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigFileError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else str(problem)
    return ConfigFileError(f"{where}: YAML syntax error: {' '.join(text.split())}")


def load_document(path: Path, *, json_only: bool = False) -> Any:
    """The parsed content of ``path``: JSON when its name ends in ``.json`` (or ``json_only``),
    else YAML. Raises :class:`ConfigFileError` (one line) for anything unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if json_only or path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"{path}:{exc.lineno}:{exc.colno}"
            raise ConfigFileError(f"{where}: JSON syntax error: {exc.msg}") from None
        except RecursionError:
            raise ConfigFileError(f"{path}: JSON nested too deeply") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise ConfigFileError(f"{path}: YAML nested too deeply") from None
