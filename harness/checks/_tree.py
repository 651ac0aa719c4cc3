"""Build bs4's tree of a model output: the tree bs4's html.parser builder makes, built faster.

Conclusions are nearly always plain markup: tags without attributes (``<p>``, ``</p>``,
``<strong>``), text, and entities written in full (``&amp;``, ``&#8212;``). For such a document
html.parser's tokenizer does nothing a regex split cannot: this builder splits it into those
tokens and calls the bs4 handlers html.parser would call, in the same order, so bs4 builds the
same tree in about 70% of the time. Any other document (an attribute, a comment, a stray ``<`` or
``&``, a raw-text element such as ``<script>``) goes through html.parser itself.
"""

from __future__ import annotations

import re
import threading

from bs4.builder import HTMLParserTreeBuilder
from bs4.builder._htmlparser import BeautifulSoupHTMLParser

_PLAIN_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
"""A start or end tag with a lowercase name and nothing else: html.parser reads it as that tag."""

_REFERENCE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")
"""A character or entity reference ended by ``;``: html.parser reads it as that one reference.
(Tags and references are two patterns: one alternation would lose the regex engine's fast scan
for a literal first character, and cost 8 times as much.)"""

RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}
)
"""Elements whose content HTML parsers read as raw text (html.parser versions differ on which):
a document holding one is parsed by html.parser itself."""


class _PositionlessHTMLParser(BeautifulSoupHTMLParser):
    """bs4's html.parser driver without the line and column bookkeeping of every token.

    The builder stores no source positions, so counting the newlines behind each token is
    wasted work (about 5% of a parse of a conclusion)."""

    def updatepos(self, i: int, j: int) -> int:
        return j


class ChecksTreeBuilder(HTMLParserTreeBuilder):
    """bs4's html.parser tree builder with a fast path for plain markup (see the module doc).

    It records neither source positions nor class lists: no check reads them."""

    def __init__(self) -> None:
        super().__init__(store_line_numbers=False, multi_valued_attributes=None)

    def feed(self, markup: str) -> None:  # type: ignore[override]
        """Build the tree of ``markup`` into ``self.soup``."""
        parts = plain_markup_parts(markup)
        if parts is None:
            super().feed(markup, _parser_class=_PositionlessHTMLParser)
            return
        args, kwargs = self.parser_args
        handlers = BeautifulSoupHTMLParser(self.soup, *args, **kwargs)
        # ``parts`` repeats: text, end-tag slash, tag name; then the last text.
        _feed_text(handlers, parts[0])
        for index in range(1, len(parts), 3):
            if parts[index]:
                handlers.handle_endtag(parts[index + 1])
            else:
                handlers.handle_starttag(parts[index + 1], [])
            _feed_text(handlers, parts[index + 2])


def _feed_text(handlers: BeautifulSoupHTMLParser, text: str) -> None:
    if "&" not in text:
        if text:
            handlers.handle_data(text)
        return
    # ``pieces`` alternates text and reference: "a ", "amp", " b".
    for index, piece in enumerate(_REFERENCE.split(text)):
        if index % 2 == 0:
            if piece:
                handlers.handle_data(piece)
        elif piece[0] == "#":
            handlers.handle_charref(piece[1:])
        else:
            handlers.handle_entityref(piece)


def plain_markup_parts(markup: str) -> list[str] | None:
    """``markup`` split on its tags when it is plain markup, else None."""
    parts = _PLAIN_TAG.split(markup)
    # Every '<' must open a plain tag and every '&' a plain reference: one left over means markup
    # that html.parser reads its own way.
    if markup.count("<") != len(parts) // 3 or not RAW_TEXT_ELEMENTS.isdisjoint(parts[2::3]):
        return None
    ampersands = markup.count("&")
    if ampersands and ampersands != len(_REFERENCE.findall(markup)):
        return None
    return parts


_BUILDERS = threading.local()


def checks_tree_builder() -> ChecksTreeBuilder:
    """This thread's builder. bs4 accepts a builder instance; reusing one skips bs4's per-parse
    registry lookup and construction. A builder holds the soup it is feeding, so threads must
    not share one."""
    builder = getattr(_BUILDERS, "builder", None)
    if builder is None:
        builder = _BUILDERS.builder = ChecksTreeBuilder()
    return builder
