"""Reading a dataset file's YAML a piece at a time, with LibYAML, and finding a value's line.

PyYAML's node tree of a whole document costs some twenty times its text (a
node and two marks for every value), and its line numbers were the reason to
keep it.  Here the document is read from the parser's flat stream of events:
each top-level value, and each item of a top-level list, is composed, turned
into Python values and dropped before the next is read, so memory is bounded
by the largest item.  The line of a value is found when an error needs it, by
reading the events again (:class:`TextLines`).

The reading refuses what a hand-written dataset has no use for, each at its
line: aliases (a nest of them can expand without bound), nesting deeper than
:data:`MAX_DEPTH` (composing recurses once per level), a list or mapping used
as a key, a duplicate key, an impossible date.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

import attrs
import yaml

__all__ = ["MAX_DEPTH", "Loader", "Piece", "TextLines", "pieces"]

Path_: TypeAlias = tuple[str | int, ...]

MAX_DEPTH = 64
"""How deeply a dataset may nest; a real one nests six levels, and Python's
stack would give out (RecursionError) a few thousand levels down."""


try:  # LibYAML parses several times faster than the pure-Python parser
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without LibYAML
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class Loader(_SafeLoader):
    """A safe loader whose every refusal names its line instead of crashing.

    Impossible dates and duplicate or unhashable keys raise a YAML error with
    the place they were found.
    """

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"impossible date {node.value!r}: {exc}", node.start_mark
            ) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            _plain_key(key_node)
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)


def _plain_key(node: yaml.Node) -> None:
    if isinstance(node, yaml.CollectionNode):
        raise yaml.constructor.ConstructorError(
            None, None, "a key must be a plain value, not a list or mapping", node.start_mark
        )


@attrs.frozen
class Piece:
    """A top-level value of the document (``index`` None), or one item of a top-level list.

    A top-level list comes as a piece with the value ``[]``, then one piece per item.
    A document that is not a mapping comes whole, as one piece with the key ``None``.
    """

    key: Any
    index: int | None
    value: Any
    line: int
    """The line (1-based) the value starts on."""


def _refuse(problem: str, event: yaml.Event) -> yaml.composer.ComposerError:
    return yaml.composer.ComposerError(None, None, problem, event.start_mark)  # type: ignore[arg-type]  # LibYAML marks have the same fields


class _Composer:
    """Composes one value at a time from the loader's events (PyYAML's composer, minus aliases).

    Events and marks are ``Any`` here: PyYAML's stubs type LibYAML's as optional.
    """

    def __init__(self, loader: Loader) -> None:
        self.loader: Any = loader

    def event(self, depth: int) -> Any:
        """The next event, refused if it is an alias or opens a collection ``depth`` deep."""
        event = self.loader.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _refuse("aliases (*name) are not allowed in a dataset file", event)
        if isinstance(event, yaml.CollectionStartEvent) and depth > MAX_DEPTH:
            raise _refuse(f"nested more than {MAX_DEPTH} levels deep", event)
        return event

    def node(self, depth: int) -> yaml.Node:
        """The next value as a node; ``depth`` counts the collections it is inside, plus one."""
        event = self.event(depth)
        self.loader.get_event()
        tag = event.tag if event.tag not in (None, "!") else None
        start: Any = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            tag = tag or self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            return yaml.ScalarNode(tag, event.value, start, end, event.style)
        node: Any
        if isinstance(event, yaml.SequenceStartEvent):
            tag = tag or self.loader.resolve(yaml.SequenceNode, None, event.implicit)
            node = yaml.SequenceNode(tag, [], start, None, event.flow_style)
            while not self.loader.check_event(yaml.SequenceEndEvent):
                node.value.append(self.node(depth + 1))
        else:
            tag = tag or self.loader.resolve(yaml.MappingNode, None, event.implicit)
            node = yaml.MappingNode(tag, [], start, None, event.flow_style)
            while not self.loader.check_event(yaml.MappingEndEvent):
                key = self.node(depth + 1)
                node.value.append((key, self.node(depth + 1)))
        node.end_mark = self.loader.get_event().end_mark
        return node  # type: ignore[no-any-return]

    def value(self, depth: int) -> tuple[Any, int]:
        """The next value as Python, and the line it starts on; its nodes are dropped."""
        node: Any = self.node(depth)
        return self.loader.construct_document(node), node.start_mark.line + 1


def pieces(text: str) -> Iterator[Piece]:
    """The document's values, each top-level list item by item (nothing for an empty document).

    Raises:
        yaml.YAMLError: the text is not YAML, or holds what a dataset refuses
            (an alias, deep nesting, a complex or duplicate key); marked with its place.
    """
    loader: Any = Loader(text)  # a forbidden character in the text may stop it here
    composer = _Composer(loader)
    try:
        loader.get_event()  # the stream starts
        if loader.check_event(yaml.StreamEndEvent):
            return
        loader.get_event()  # the document starts
        if not loader.check_event(yaml.MappingStartEvent):
            yield Piece(None, None, *composer.value(1))
        else:
            yield from _top_level(loader, composer)
        loader.get_event()  # the document ends
        if not loader.check_event(yaml.StreamEndEvent):
            raise _refuse("expected a single document in the stream", loader.peek_event())
    finally:
        loader.dispose()


def _top_level(loader: Any, composer: _Composer) -> Iterator[Piece]:
    """The pieces of a document that is a mapping, its events read up to its end."""
    loader.get_event()
    seen: set[Any] = set()
    while not loader.check_event(yaml.MappingEndEvent):
        key_node = composer.node(2)
        _plain_key(key_node)
        key = loader.construct_document(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
        start: Any = composer.event(2)
        if not isinstance(start, yaml.SequenceStartEvent) or start.tag not in (None, "!"):
            yield Piece(key, None, *composer.value(2))
            continue
        loader.get_event()
        yield Piece(key, None, [], key_node.start_mark.line + 1)
        index = 0
        while not loader.check_event(yaml.SequenceEndEvent):
            yield Piece(key, index, *composer.value(3))
            index += 1
        loader.get_event()
    loader.get_event()


_KEY = object()
"""A mapping's state while its key is read (the value's path is not known yet)."""


@attrs.define
class _Frame:
    """An open collection while :class:`TextLines` reads events: its path and where it is."""

    path: Path_ | None  # None: inside a key, where no value of the document is
    sequence: bool
    next: Any  # a sequence's next index; a mapping's current key, or _KEY


class TextLines(Mapping[Path_, int]):
    """The line (1-based) of a value of the document by its path, found when asked.

    Errors are rare and the document may be large: rather than keep a line for
    every value, the events are read again up to the value asked for.  The
    lines of the path's prefixes are noted on the way, so an error's search
    for the deepest place that exists reads the text once.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._found: dict[Path_, int | None] = {}

    def __getitem__(self, path: Path_) -> int:
        if path not in self._found:
            self._search(path)
        line = self._found[path]
        if line is None:
            raise KeyError(path)
        return line

    def __iter__(self) -> Iterator[Path_]:
        return (path for path, line in self._found.items() if line is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _search(self, target: Path_) -> None:
        with contextlib.suppress(yaml.YAMLError):  # past a fault in the text, no line to give
            self._walk(target)
        for end in range(len(target) + 1):
            self._found.setdefault(target[:end], None)

    def _walk(self, target: Path_) -> None:
        """Note the line of ``target`` and of each of its prefixes, reading up to ``target``."""
        loader: Any = Loader(self.text)
        stack: list[_Frame] = []
        try:
            while (event := loader.get_event()) is not None:
                if isinstance(event, yaml.CollectionEndEvent):
                    stack.pop()
                    continue
                if not isinstance(event, yaml.NodeEvent):
                    continue
                path = _place(stack, event)
                if path is not None and target[: len(path)] == path:
                    mark: Any = event.start_mark  # typed loosely: see _Composer
                    self._found[path] = mark.line + 1
                    if path == target:
                        return
                if isinstance(event, yaml.CollectionStartEvent):
                    sequence = isinstance(event, yaml.SequenceStartEvent)
                    stack.append(_Frame(path, sequence, 0 if sequence else _KEY))
        finally:
            loader.dispose()


def _place(stack: list[_Frame], event: Any) -> Path_ | None:
    """The path of the value ``event`` starts (None for a key), moving its parent on."""
    if not stack:
        return ()
    frame = stack[-1]
    if frame.sequence:
        frame.next += 1
        return None if frame.path is None else (*frame.path, frame.next - 1)
    if frame.next is _KEY:
        frame.next = event.value if isinstance(event, yaml.ScalarEvent) else None
        return None
    key, frame.next = frame.next, _KEY
    return None if frame.path is None or key is None else (*frame.path, str(key))
