"""YAML loading that remembers the line of every key, so errors can point at the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Path_ = tuple  # a path into the document: keys and list indices


class _Loader(yaml.SafeLoader):
    """Safe loader; dates stay strings handled by the schema (``2024-01-01`` keys become dates)."""


def load_with_lines(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """Parse `path`; return (data, {path tuple: 1-based line}) for every mapping key and list item."""
    text = Path(path).read_text(encoding="utf-8")
    return loads_with_lines(text)


def loads_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines

    def walk(n, here: tuple):
        lines.setdefault(here, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = _Loader.construct_object(loader, k, deep=True)
                lines[here + (key,)] = k.start_mark.line + 1
                walk(v, here + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[here + (i,)] = v.start_mark.line + 1
                walk(v, here + (i,))

    walk(node, ())
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, lines


def line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
