"""Parse a model output once into what every rule check reads, and count words.

Word rule (the spec the tests pin): a paragraph's text, with entities decoded, ``<br>`` and block
elements acting as separators and comments ignored, is split on whitespace and on em/en dashes;
a token is a word when it contains at least one letter or digit. ``cost—latency`` is 2 words,
``2019–2020`` is 2, a lone ``—`` or ``&`` is 0. A run of CJK characters with no spaces is one word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bs4 import BeautifulSoup, Tag
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Script,
    Stylesheet,
    TemplateString,
)

from harness.checks._tree import checks_tree_builder

_BROKEN_CHARREF = re.compile(r"&#(?![0-9]|[xX][0-9a-fA-F])")
_NOT_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction, Script, Stylesheet, TemplateString)

BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "div", "dl", "dd", "dt", "fieldset", "figure",
     "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
     "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul"}
)
"""Elements that break a paragraph: they separate words and are not allowed inside ``<p>``."""


def _ascii_word_tables() -> tuple[bytes, bytes]:
    classes = bytearray(range(256))
    dropped = bytearray()
    for code in range(128):
        char = chr(code)
        if char.isalnum():
            classes[code] = ord("a")
        elif char.isspace():
            classes[code] = ord(" ")
        else:
            dropped.append(code)
    return bytes(classes), bytes(dropped)


_ASCII_CLASSES, _ASCII_NON_WORD = _ascii_word_tables()
"""Byte tables that turn ASCII text into its word skeleton: letters and digits -> ``a``,
whitespace (as ``str.split`` sees it) -> space, everything else dropped."""

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=4096)
def _non_ascii_skeleton(run: str) -> str:
    if run.isalnum():
        return "a"
    return "".join("a" if char.isalnum() else " " if char.isspace() or char in "\u2013\u2014" else "" for char in run)


_COMMON_NON_ASCII = tuple((char, _non_ascii_skeleton(char)) for char in "\u2013\u2014\u201c\u201d\u2018\u2019\u2026\xa0")
"""The non-ASCII characters models write most (dashes, curly quotes, ellipsis, no-break space) and
their word skeleton; ``str.replace`` handles these far faster than a regex callback per run."""


def count_words(text: str) -> int:
    """Count words in plain text: split on whitespace and em/en dashes, keep alphanumeric tokens."""
    if not text.isascii():
        for char, skeleton in _COMMON_NON_ASCII:
            if char in text:
                text = text.replace(char, skeleton)
        if not text.isascii():
            text = _NON_ASCII_RUN.sub(lambda match: _non_ascii_skeleton(match.group()), text)
    # Word counting runs on every paragraph of every row: done in C on the word skeleton, where a
    # word is a run of 'a' and so starts either the text or right after a space.
    skeleton = text.encode("ascii").translate(_ASCII_CLASSES, _ASCII_NON_WORD)
    return skeleton.count(b" a") + skeleton.startswith(b"a")


def visible_text(node: Tag) -> str:
    """The text a reader sees in ``node``: entities decoded, ``<br>`` and blocks as spaces."""
    contents = node.contents
    # Fast path for what models write: a paragraph of plain text.
    if len(contents) == 1 and type(contents[0]) is NavigableString:
        return str(contents[0])
    parts: list[str] = []

    def walk(element: Tag) -> None:
        for child in element.children:
            if isinstance(child, Tag):
                if child.name == "br":
                    parts.append(" ")
                    continue
                is_block = child.name in BLOCK_TAGS
                if is_block:
                    parts.append(" ")
                walk(child)
                if is_block:
                    parts.append(" ")
            elif isinstance(child, NavigableString) and not isinstance(child, _NOT_TEXT):
                parts.append(str(child))

    walk(node)
    return "".join(parts)


@dataclass(frozen=True)
class Paragraph:
    """One ``<p>`` element of an output, in document order."""

    element: Tag
    text: str
    words: int


@dataclass(frozen=True)
class ParsedOutput:
    """An output parsed once, with what every check reads computed in one walk of the tree.

    Built by :func:`parse_output`; checks read these fields instead of re-parsing or re-walking."""

    text: str
    soup: BeautifulSoup
    tags: tuple[Tag, ...]
    """Every element, in document order."""
    tag_names: frozenset[str]
    """The names of every element present: lets checks skip what cannot occur."""
    top_level: tuple[PageElement, ...]
    """The document's top-level nodes, except whitespace-only text and comments."""
    paragraphs: tuple[Paragraph, ...]
    """Every ``<p>`` element anywhere, with its visible text and word count."""
    non_empty_paragraphs: tuple[Paragraph, ...]
    """Paragraphs with at least one word: the ones that count as sections."""

    @property
    def paragraph_word_counts(self) -> list[int]:
        """Word count of each non-empty paragraph, in order."""
        return [paragraph.words for paragraph in self.non_empty_paragraphs]


def parse_output(output: str | ParsedOutput) -> ParsedOutput:
    """Parse an output into bs4's html.parser tree (it keeps fragments as written, no wrappers)."""
    if isinstance(output, ParsedOutput):
        return output
    text = output if isinstance(output, str) else str(output)
    # html.parser treats everything after a digitless '&#' as text when no ';' follows: escape it.
    # ("&" first: a one-character search is a memchr, several times faster than one for "&#".)
    markup = _BROKEN_CHARREF.sub("&amp;#", text) if "&" in text and "&#" in text else text
    soup = BeautifulSoup(markup, builder=checks_tree_builder())
    tags = []
    node = soup.contents[0] if soup.contents else None
    while node is not None:
        if isinstance(node, Tag):
            tags.append(node)
        node = node.next_element
    paragraphs = []
    for element in tags:
        if element.name == "p":
            visible = visible_text(element)
            paragraphs.append(Paragraph(element, visible, count_words(visible)))
    return ParsedOutput(
        text=text,
        soup=soup,
        tags=tuple(tags),
        tag_names=frozenset([tag.name for tag in tags]),
        top_level=tuple(child for child in soup.contents if type(child) is Tag or not is_ignorable(child)),
        paragraphs=tuple(paragraphs),
        non_empty_paragraphs=tuple(paragraph for paragraph in paragraphs if paragraph.words),
    )


def is_text(node: object) -> bool:
    """True for a text node a reader sees (not a comment, doctype or script body)."""
    return isinstance(node, NavigableString) and not isinstance(node, _NOT_TEXT)


def is_ignorable(node: object) -> bool:
    """Whitespace text and comments: what may stand between paragraphs."""
    return isinstance(node, Comment) or (is_text(node) and not str(node).strip())
