"""YAML files of the simulator (agents, callers, called parties): read, parsed with each mapping's line, errors
naming ``file:line``.

:class:`LineLoader` records the line of every mapping as ``__line__``; :class:`WordLoader` also keeps YAML 1.1's
``on``/``off``/``yes``/``no`` as words (only true/false are booleans: ``off`` is a called party's outcome).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cc.errors import ConfigError

__all__ = ["LineLoader", "WordLoader", "read_yaml_lines"]


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that records each mapping's line as ``__line__``."""


def _mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    m = loader.construct_mapping(node, deep=True)
    m["__line__"] = node.start_mark.line + 1
    return m


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class WordLoader(LineLoader):
    """A LineLoader for which only true/false are booleans (on, off, yes, no stay words)."""


WordLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
WordLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))


def read_yaml_lines(path: str | Path, loader: type[LineLoader] = LineLoader) -> tuple[str, Any]:
    """(the path as text, the document) of a UTF-8 YAML file; ConfigError naming the file (and line) when it
    cannot be read, is not UTF-8 or is not valid YAML."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}", file=p) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text", file=p) from None
    try:
        return p, yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"{p}:{line or '?'}: not valid YAML: {getattr(exc, 'problem', exc)}",
                          file=p, line=line) from None
