"""The checks' tree builder builds exactly the tree of bs4's html.parser builder, whichever path it takes.

Its fast path for plain markup replaces html.parser's tokenizer; these tests pin that the trees are
the same node for node on any text, and that real outputs do take the fast path.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup, Tag
from bs4.builder import HTMLParserTreeBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checks._tree import RAW_TEXT_ELEMENTS, ChecksTreeBuilder, plain_markup_parts
from tests_support import REPO
from test_properties import ANY_TEXT, WHITESPACE, WORDS

PLAIN_TAGS = st.sampled_from(
    ["<p>", "</p>", "<br>", "</br>", "<hr>", "<img>", "<strong>", "</strong>", "<b>", "</b>", "<em>", "</em>",
     "<h2>", "</h2>", "<div>", "</div>", "<ul>", "<li>", "</li>", "</ul>", "<html>", "<body>", "</body>",
     "<section>", "</section>", "<x1>", "</x1>", "<table>", "<td>", "</tr>", "<pre>", "</pre>", "</span>"]
)
PLAIN_TEXT = st.one_of(WORDS.filter(lambda word: "&" not in word), WHITESPACE, st.sampled_from([">", "a > b", "\x00", "**T**", "# "]))
REFERENCES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&nbsp;", "&mdash;", "&Mdash;", "&bogus;", "&#8212;", "&#x2014;", "&#X2a;", "&#0;",
     "&#55296;", "&#xD800;", "&#1114112;", "&#128;", "&#x1F600;", "&amp;#", "&#35;"]
)
PLAIN_MARKUP = st.lists(st.one_of(PLAIN_TAGS, PLAIN_TEXT, REFERENCES), max_size=40).map("".join)
"""Documents the fast path takes: plain tags (balanced or not, void or not), text, and references
ended by ``;`` (known, unknown, out of range, surrogates)."""


def stock_tree(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, builder=HTMLParserTreeBuilder(store_line_numbers=False, multi_valued_attributes=None))


def checks_tree(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, builder=ChecksTreeBuilder())


def shape(soup: BeautifulSoup) -> list[tuple[object, ...]]:
    """Every node in document order with its kind, name or text, attributes and child count."""
    return [
        (type(node).__name__, node.name, dict(node.attrs), len(node.contents), node.is_empty_element)
        if isinstance(node, Tag) else (type(node).__name__, str(node))
        for node in soup.descendants
    ]


def assert_same_tree(text: str) -> None:
    expected, actual = stock_tree(text), checks_tree(text)
    assert shape(actual) == shape(expected), text
    assert actual.decode() == expected.decode(), text
    assert actual.contains_replacement_characters == expected.contains_replacement_characters, text


@given(PLAIN_MARKUP)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_markup_takes_the_fast_path_and_gets_html_parsers_tree(text):
    assert plain_markup_parts(text) is not None, text
    assert_same_tree(text)


@given(ANY_TEXT)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_gets_html_parsers_tree(text):
    assert_same_tree(text)


@pytest.mark.parametrize("element", sorted(RAW_TEXT_ELEMENTS))
def test_raw_text_elements_go_through_html_parser(element):
    text = f"<p>a</p><{element}>b</{element}>"
    assert plain_markup_parts(text) is None
    assert_same_tree(text)


@pytest.mark.parametrize("text", [
    "<p class='x'>a</p>", "<p>a</p><!-- c -->", "<p>a < b</p>", "<P>a</P>", "<p >a</p>", "<br/>", "</p",
    "<script>a</script>", "<title>t</title><p>a</p>", "<p>R & D</p>", "&amp", "&#12a;", "&a-b;", "&#;", "&#x;",
])
def test_other_markup_goes_through_html_parser_and_gets_its_tree(text):
    assert plain_markup_parts(text) is None
    assert_same_tree(text)


def test_real_and_offline_outputs_take_the_fast_path():
    from harness.offline import write_conclusion
    from harness.dataset import load_dataset
    from harness.prompts import load_prompts

    real = (REPO / "examples/llmops-vs-mlops.trace-output.html").read_text()
    offline = [write_conclusion(*(message["content"] for message in prompt.render(case.research)))
               for prompt in load_prompts(REPO / "prompts") for case in load_dataset(REPO / "datasets/research")]
    for text in [real, *offline]:
        assert plain_markup_parts(text) is not None, text[:200]
        assert_same_tree(text)


def test_fixture_outputs_get_html_parsers_tree():
    fixtures = sorted((REPO / "tests/fixtures/outputs").glob("*.html"))
    assert len(fixtures) > 40
    for path in fixtures:
        assert_same_tree(path.read_text())
