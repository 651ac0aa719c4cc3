"""Parse a model output once into what every rule check reads, and count words.

Word rule (the spec the tests pin): a paragraph's text, with entities decoded, ``<br>`` and block
elements acting as separators and comments ignored, is split on whitespace and on em/en dashes;
a token is a word when it contains at least one letter or digit. ``cost—latency`` is 2 words,
``2019–2020`` is 2, a lone ``—`` or ``&`` is 0. A run of CJK characters with no spaces is one word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from bs4 import BeautifulSoup, Tag
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Script,
    Stylesheet,
    TemplateString,
)

_DASHES = re.compile(r"[\u2013\u2014]")
_BROKEN_CHARREF = re.compile(r"&#(?![0-9]|[xX][0-9a-fA-F])")
_NOT_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction, Script, Stylesheet, TemplateString)

BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "div", "dl", "dd", "dt", "fieldset", "figure",
     "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
     "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul"}
)
"""Elements that break a paragraph: they separate words and are not allowed inside ``<p>``."""


def count_words(text: str) -> int:
    """Count words in plain text: split on whitespace and em/en dashes, keep alphanumeric tokens."""
    if "\u2013" in text or "\u2014" in text:
        text = _DASHES.sub(" ", text)
    # Most tokens are all letters/digits: str.isalnum settles them in C; only the rest are scanned.
    return sum(1 for token in text.split() if token.isalnum() or any(map(str.isalnum, token)))


def visible_text(node: Tag) -> str:
    """The text a reader sees in ``node``: entities decoded, ``<br>`` and blocks as spaces."""
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
    """An output parsed once; every check reads this instead of re-parsing the text."""

    text: str
    soup: BeautifulSoup

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every element, in document order (one walk, shared by all checks)."""
        return tuple(node for node in self.soup.descendants if isinstance(node, Tag))

    @cached_property
    def paragraphs(self) -> tuple[Paragraph, ...]:
        """Every ``<p>`` element anywhere, with its visible text and word count."""
        result = []
        for element in (tag for tag in self.tags if tag.name == "p"):
            text = visible_text(element)
            result.append(Paragraph(element=element, text=text, words=count_words(text)))
        return tuple(result)

    @cached_property
    def non_empty_paragraphs(self) -> tuple[Paragraph, ...]:
        """Paragraphs with at least one word: the ones that count as sections."""
        return tuple(paragraph for paragraph in self.paragraphs if paragraph.words > 0)

    @property
    def paragraph_word_counts(self) -> list[int]:
        """Word count of each non-empty paragraph, in order."""
        return [paragraph.words for paragraph in self.non_empty_paragraphs]


def parse_output(output: str | ParsedOutput) -> ParsedOutput:
    """Parse an output with the stdlib HTML parser (it keeps fragments as written, no wrappers)."""
    if isinstance(output, ParsedOutput):
        return output
    text = output if isinstance(output, str) else str(output)
    # html.parser treats everything after a digitless '&#' as text when no ';' follows: escape it.
    markup = _BROKEN_CHARREF.sub("&amp;#", text) if "&#" in text else text
    return ParsedOutput(text=text, soup=BeautifulSoup(markup, "html.parser"))


def is_text(node: object) -> bool:
    """True for a text node a reader sees (not a comment, doctype or script body)."""
    return isinstance(node, NavigableString) and not isinstance(node, _NOT_TEXT)


def is_ignorable(node: object) -> bool:
    """Whitespace text and comments: what may stand between paragraphs."""
    return isinstance(node, Comment) or (is_text(node) and not str(node).strip())
