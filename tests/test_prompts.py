"""Prompt versions: byte-identical v1, the section spec as the one source of budgets, hashes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.prompts import list_prompt_ids, load_prompt, load_prompts

REPO = Path(__file__).resolve().parent.parent
PROMPTS = REPO / "prompts"


def test_v1_renders_the_trace_messages_byte_for_byte(trace_observation, trace_research):
    messages = load_prompt(PROMPTS, "conclusion/v1").render(trace_research)
    expected = [{"role": m["role"], "content": m["content"]} for m in trace_observation["input"]["messages"]]
    assert messages == expected
    assert [m["content"].encode() for m in messages] == [m["content"].encode() for m in expected]


def test_v1_parameters_are_the_traces_as_numbers(trace_observation):
    assert load_prompt(PROMPTS, "conclusion/v1").parameters == {"temperature": 0.2, "top_p": 0.9, "max_tokens": 1500}
    assert trace_observation["modelParameters"]["temperature"] == "0.2"


def test_budgets_are_written_once_and_rendered_from_the_spec(tmp_path, trace_research):
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS, copy)
    spec_file = copy / "conclusion" / "sections.toml"
    spec_file.write_text(spec_file.read_text().replace("min_words = 150", "min_words = 170"))
    for version in ("conclusion/v1", "conclusion/v2"):
        original = load_prompt(PROMPTS, version)
        changed = load_prompt(copy, version)
        assert changed.spec.sections[0].min_words == 170
        assert changed.hash != original.hash
        system = changed.render(trace_research)[0]["content"]
        assert "170" in system and "150-200" not in system and "between 150 and" not in system
    budgets = [path for path in (PROMPTS / "conclusion").rglob("*") if path.is_file() and re.search(r"\b150\b", path.read_text())]
    assert budgets == [PROMPTS / "conclusion" / "sections.toml"]


def test_v2_states_every_budget_and_the_format_rules(trace_research):
    v2 = load_prompt(PROMPTS, "conclusion/v2")
    system = v2.render(trace_research)[0]["content"]
    for section in v2.spec.sections:
        assert f"between {section.min_words} and {section.max_words} words" in system
    assert "exactly 4 paragraphs" in system
    assert "bold lead-in labels" in system
    assert "sections one and three" in v2.description or "one and three" in v2.description


def test_hash_is_stable_and_tracks_the_template(tmp_path):
    assert load_prompt(PROMPTS, "conclusion/v1").hash == load_prompt(PROMPTS, "conclusion/v1").hash
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS, copy)
    (copy / "conclusion" / "v1" / "system.j2").write_text("changed {{ research.main_query }}")
    assert load_prompt(copy, "conclusion/v1").hash != load_prompt(PROMPTS, "conclusion/v1").hash


def test_missing_variable_names_template_and_variable(tmp_path, trace_research):
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS, copy)
    (copy / "conclusion" / "v1" / "system.j2").write_text("Hello {{ audience }}")
    with pytest.raises(InputError) as error:
        load_prompt(copy, "conclusion/v1").render(trace_research)
    assert "system.j2" in str(error.value) and "'audience' is undefined" in str(error.value)


def test_unknown_prompt_lists_known_versions():
    with pytest.raises(InputError, match=r"known prompts: conclusion/v1, conclusion/v2"):
        load_prompt(PROMPTS, "conclusion/v9")
    with pytest.raises(InputError, match="expected an id like 'conclusion/v1'"):
        load_prompt(PROMPTS, "../etc")


def test_list_orders_versions_numerically(tmp_path):
    for version in ("v1", "v2", "v10"):
        directory = tmp_path / "task" / version
        directory.mkdir(parents=True)
        (directory / "prompt.toml").write_text('description = "d"\n')
    assert list_prompt_ids(tmp_path) == ["task/v1", "task/v2", "task/v10"]
    assert [p.id for p in load_prompts(PROMPTS)] == ["conclusion/v1", "conclusion/v2"]


def test_invalid_spec_is_a_one_line_error(tmp_path):
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS, copy)
    spec_file = copy / "conclusion" / "sections.toml"
    spec_file.write_text(spec_file.read_text().replace("max_words = 200", "max_words = 100"))
    with pytest.raises(InputError, match=r"sections.toml: sections.0: Value error, min_words 150 is above max_words 100"):
        load_prompt(copy, "conclusion/v1")
