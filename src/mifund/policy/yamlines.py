"""YAML loading that remembers the line of every key, so errors can point at the file and line."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple  # a path into the document: keys and list indices
MERGE = "tag:yaml.org,2002:merge"


class YamlError(ValueError):
    """A file that is not valid YAML for us: syntax, an impossible date, a key given twice.
    `str()` is ``file:line: message``; `line` is 1-based."""

    def __init__(self, file: str, line: int, message: str):
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")


class _Loader(yaml.SafeLoader):
    """Safe loader; ``2024-01-01`` becomes a date, and an impossible one is an error at its line (not a
    bare ValueError). Keys given twice are refused while recording lines (`_loads_with_lines`)."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({e})", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_with_lines(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """Parse `path`; return (data, {path tuple: 1-based line}) for every mapping key and list item.
    Raises YamlError naming the file and line for anything that is not valid YAML."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise YamlError(str(path), 1, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    return loads_with_lines(text, str(path))


def loads_with_lines(text: str, file: str = "<text>") -> tuple[Any, dict[tuple, int]]:
    try:
        return _loads_with_lines(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = str(getattr(e, "problem", None) or "")
        ctx, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if ctx:  # e.g. "while parsing a flow sequence", which began on an earlier line
            what += f" ({ctx}" + (f" that starts on line {cmark.line + 1})" if cmark is not None else ")")
        prefix = "" if isinstance(e, yaml.constructor.ConstructorError) else "invalid YAML: "
        raise YamlError(file, line, f"{prefix}{what or e}") from None


def _loads_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
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
            first: dict = {}  # key → line, to refuse a key given twice (YAML would keep the last silently)
            for k, v in n.value:
                if k.tag == MERGE:  # `<<: *anchor`: its keys are the anchor's (and may be overridden here)
                    continue
                key = _Loader.construct_object(loader, k, deep=True)
                if isinstance(key, Hashable):
                    if key in first:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"key {key!r} is given twice (first on line {first[key]})", k.start_mark)
                    first[key] = k.start_mark.line + 1
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
