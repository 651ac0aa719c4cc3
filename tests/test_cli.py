"""The CLI as users and scripts see it: JSON shapes, exit codes, one-line errors, fast start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def harness(*args: str, cwd: Path = REPO, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=120,
    )


@pytest.fixture(scope="module")
def trace_output_file(tmp_path_factory) -> Path:
    data = json.loads((REPO / "tests/fixtures/langfuse/langfuse-observations-2025-05-27.json").read_text())
    path = tmp_path_factory.mktemp("out") / "trace.html"
    path.write_text(data["data"][0]["output"]["content"], encoding="utf-8")
    return path


def test_check_on_the_trace_output(trace_output_file):
    result = harness("check", "--prompt", "conclusion/v1", str(trace_output_file))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"file", "prompt", "passed", "checks", "paragraph_word_counts"}
    assert report["paragraph_word_counts"] == [129, 112, 99, 93]
    assert report["passed"] is False
    assert {name: c["passed"] for name, c in report["checks"].items()} == {
        "only_p_tags": True, "no_headings": True, "section_count": True, "word_budgets": False,
    }
    assert set(report["checks"]["word_budgets"]) == {"passed", "score", "detail"}


def test_check_passing_output_from_stdin_exits_0():
    text = (REPO / "tests/fixtures/outputs/pass_basic.html").read_text()
    result = harness("check", "--prompt", "conclusion/v1", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"] == "-"


def test_check_one_line_per_file_and_table_format(trace_output_file):
    passing = REPO / "tests/fixtures/outputs/pass_basic.html"
    result = harness("check", "-p", "conclusion/v2", str(passing), str(trace_output_file))
    lines = result.stdout.splitlines()
    assert [json.loads(line)["passed"] for line in lines] == [True, False]
    table = harness("check", "-p", "conclusion/v1", "--format", "table", str(trace_output_file))
    assert table.returncode == 1
    assert "word_budgets" in table.stdout and "FAIL" in table.stdout and "[129, 112, 99, 93]" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "--prompt", "conclusion/v9", "tests/fixtures/outputs/pass_basic.html"), "--prompt 'conclusion/v9'"),
        (("check", "--prompt", "conclusion/v1", "missing.html"), "missing.html: cannot read"),
        (("render", "--prompt", "conclusion/v1", "--case", "nope"), "--case 'nope'"),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(args, message):
    result = harness(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_check_keeps_results_of_readable_files_when_one_is_missing():
    result = harness("check", "-p", "conclusion/v1", "tests/fixtures/outputs/pass_basic.html", "missing.html")
    assert result.returncode == 2
    assert json.loads(result.stdout)["passed"] is True


def test_render_prints_the_trace_messages(trace_observation):
    result = harness("render", "--prompt", "conclusion/v1", "--case", "llmops-vs-mlops")
    assert result.returncode == 0, result.stderr
    expected = [{"role": m["role"], "content": m["content"]} for m in trace_observation["input"]["messages"]]
    assert json.loads(result.stdout) == expected


def test_prompts_list_and_datasets_validate():
    listing = harness("prompts", "list")
    assert "conclusion/v1" in listing.stdout and "conclusion/v2" in listing.stdout
    validate = harness("datasets", "validate")
    assert validate.returncode == 0 and "valid" in validate.stdout


def test_datasets_validate_reports_each_problem(tmp_path):
    (tmp_path / "bad.json").write_text('{"main_query": 3, "sub_questions": [], "enhanced_info": {}}')
    (tmp_path / "worse.json").write_text("{")
    result = harness("datasets", "validate", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert any("bad.json: main_query: expected a string, got a number" in line for line in lines)
    assert any("worse.json: invalid JSON" in line for line in lines)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--prompt", "conclusion/v1", "tests/fixtures/outputs/pass_basic.html"),
        ("render", "--prompt", "conclusion/v1", "--case", "llmops-vs-mlops"),
        ("prompts", "list"),
        ("datasets", "validate"),
        ("--help",),
    ],
)
def test_model_free_commands_never_import_litellm_or_deepeval(args):
    code = (
        "import sys\n"
        f"sys.argv = ['harness', *{list(args)!r}]\n"
        "from harness.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'deepeval', 'openai', 'polars'))\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().endswith("HEAVY="), result.stderr[-500:]


def test_terminal_output_strips_escape_sequences_from_model_text(tmp_path):
    hostile = tmp_path / "hostile.html"
    hostile.write_text("<h2>\x1b[2J\x1b]0;pwned\x07Title\x1b[31m</h2><p>Short | text</p>", encoding="utf-8")
    result = harness("check", "-p", "conclusion/v1", "--format", "table", str(hostile))
    assert result.returncode == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Title" in result.stdout


def test_datasets_schema_is_a_json_schema_of_the_research_input():
    result = harness("datasets", "schema")
    schema = json.loads(result.stdout)
    assert result.returncode == 0
    assert set(schema["required"]) == {"main_query", "sub_questions", "enhanced_info"}
    assert "SubAnswer" in schema["$defs"] and schema["additionalProperties"] is True
