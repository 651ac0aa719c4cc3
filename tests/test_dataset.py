"""Dataset models, case files and one-line validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.dataset import Case, load_case, load_dataset, validate_dataset, validate_research
from harness.errors import InputError

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO / "datasets" / "research"


def test_every_committed_case_is_valid():
    count, problems = validate_dataset(DATASET)
    assert problems == []
    assert count >= 13


def test_dataset_covers_required_shapes():
    cases = load_dataset(DATASET)
    sizes = [len(case.input.sub_questions) for case in cases]
    assert 1 in sizes and 8 in sizes
    assert any(case.input.viewpoint_analysis is None for case in cases)
    assert any(case.input.viewpoint_analysis and case.input.viewpoint_analysis.areas_of_tension == [] for case in cases)
    texts = {case.id: json.dumps(case.research, ensure_ascii=False) for case in cases}
    assert any(len(json.dumps(case.research, indent=2)) >= 55_000 for case in cases)
    assert any("<script>" in text for text in texts.values())
    assert any(any(ord(char) > 0x3000 for char in text) for text in texts.values()), "CJK text"
    assert any(all(entry.confidence_level == "low" for entry in case.input.enhanced_info.values()) for case in cases)
    real = [case for case in cases if case.meta.source == "langfuse"]
    assert [case.id for case in real] == ["llmops-vs-mlops"]


def test_real_case_equals_trace_research(trace_research):
    assert load_case(DATASET / "llmops-vs-mlops.json").research == trace_research


def test_unknown_fields_are_kept(tmp_path, trace_research):
    research = {**trace_research, "pipeline_version": "2.3"}
    research["enhanced_info"] = {k: {**v, "extra": [1, 2]} for k, v in research["enhanced_info"].items()}
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(research), encoding="utf-8")
    case = load_case(path)
    assert case.research["pipeline_version"] == "2.3"
    assert case.input.model_extra["pipeline_version"] == "2.3"
    first = next(iter(case.input.enhanced_info.values()))
    assert first.model_extra["extra"] == [1, 2]


def _minimal(**overrides):
    research = {
        "main_query": "What is X?",
        "sub_questions": ["What is X?"],
        "enhanced_info": {"What is X?": {"synthesized_answer": "X is Y.", "confidence_level": "high"}},
    }
    research.update(overrides)
    return research


def test_error_names_file_json_path_expected_and_found():
    research = _minimal()
    research["enhanced_info"]["What is X?"]["key_sources"] = "https://example.org"
    assert validate_research("datasets/research/x.json", research) == [
        'datasets/research/x.json: enhanced_info["What is X?"].key_sources: expected a list of strings, got a string'
    ]


@pytest.mark.parametrize(
    ("research", "line"),
    [
        ({"sub_questions": [], "enhanced_info": {}}, "x.json: main_query: expected a string, got nothing (the field is missing)"),
        (_minimal(sub_questions="What is X?"), "x.json: sub_questions: expected a list of strings, got a string"),
        (_minimal(sub_questions=["ok", 3]), "x.json: sub_questions[1]: expected a string, got a number"),
        (_minimal(viewpoint_analysis={"areas_of_tension": [{"topic": "t", "viewpoints": []}]}),
         "x.json: viewpoint_analysis.areas_of_tension[0].viewpoints: expected an object mapping strings to strings, got a list"),
        (_minimal(reflection_metadata={"improvements_made": "six"}), "x.json: reflection_metadata.improvements_made: expected a number or null, got a string"),
        ([1, 2], "x.json: (top level): expected an object, got a list"),
    ],
)
def test_validation_lines(research, line):
    assert validate_research("x.json", research)[0] == line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"{not json", "invalid JSON at line 1 column 2"),
        (b"\xff\xfe\x00binary", "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        load_case(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_symlink_out_of_dataset_is_refused(tmp_path, trace_research):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(trace_research))
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "sneaky.json").symlink_to(outside)
    with pytest.raises(InputError, match="symlink points outside"):
        load_dataset(dataset)


def test_unknown_case_id_lists_known_ones(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_minimal()))
    with pytest.raises(InputError, match=r"--case 'b': no b.json in .* \(cases: a\)"):
        load_dataset(tmp_path, ["b"])
    with pytest.raises(InputError, match="a case id is a file stem"):
        load_dataset(tmp_path, ["../etc/passwd"])


def test_meta_beside_case(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_minimal()))
    (tmp_path / "a.meta.toml").write_text('source = "authored"\ntags = ["one-subquestion"]\nnotes = "n"\n')
    case = load_dataset(tmp_path)[0]
    assert isinstance(case, Case) and case.meta.tags == ["one-subquestion"]
    (tmp_path / "a.meta.toml").write_text('colour = "red"\n')
    with pytest.raises(InputError, match=r"a.meta.toml: colour: Extra inputs are not permitted"):
        load_dataset(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'tags = ["a"\n', "invalid TOML"),
        (b'notes = "\xff\xfe"\n', "not UTF-8 text (byte 9)"),
        (b"[]\n= 1\n", "invalid TOML"),
    ],
)
def test_unreadable_meta_gives_one_line_error(tmp_path, content, message):
    (tmp_path / "a.json").write_text(json.dumps(_minimal()))
    (tmp_path / "a.meta.toml").write_bytes(content)
    with pytest.raises(InputError) as error:
        load_dataset(tmp_path)
    text = str(error.value)
    assert text.startswith(str(tmp_path / "a.meta.toml") + ": ") and message in text and "\n" not in text
