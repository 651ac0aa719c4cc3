"""The bad-input corpus: every broken input is refused by the real CLI with exit code 2 and ONE
line on stderr (``error: ...``) naming the file or option and the field, with no traceback and
without leaving partial files behind (no run directory, no results.jsonl, no .tmp files).

Each case runs ``harness`` in a subprocess (``run_cli``) inside the ``project`` fixture's temp copy
of prompts/ and datasets/. Most go through ``harness run``, the command that writes files.
Cases where the harness does not (yet) behave so are strict xfails saying what is wrong.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.dataset import MAX_CASE_BYTES
from tests_support import REPO, run_cli

GEMINI = "openrouter/google/gemini-2.5-flash-preview-05-20"
TRACE_CASE = "llmops-vs-mlops"
OFFLINE_RUN = ("run", "--prompt", "conclusion/v1", "--model", "offline/extractive")
REPLAY_RUN = ("run", "--prompt", "conclusion/v1", "--model", GEMINI, "--case", TRACE_CASE, "--mode", "replay")

# --- helpers -------------------------------------------------------------------------------------


def snapshot(root: Path) -> set[str]:
    """Every file and directory under ``root`` (relative paths)."""
    found = set()
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root)
        found.update(str(base / name) for name in (*dirnames, *filenames))
    return found


def harness(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=project, env=env, network=False)


def assert_refused(result: subprocess.CompletedProcess, project: Path, before: set[str], *needles: str) -> str:
    """Exit 2, exactly one stderr line and it is ``error: ...`` with every needle, no traceback,
    nothing new on disk. Returns the error line."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines == errors, f"expected one 'error: ' line on stderr, got:\n{result.stderr}"
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    assert_nothing_written(project, before)
    return errors[0]


def assert_nothing_written(project: Path, before: set[str]) -> None:
    created = sorted(snapshot(project) - before)
    assert not created, f"partial files left behind: {created}"
    assert not list(project.rglob("*.tmp")), "temp files left behind"
    assert not list(project.rglob("results.jsonl")), "a results.jsonl was written"


def case_path(project: Path, case_id: str = "bad") -> Path:
    return project / "datasets" / "research" / f"{case_id}.json"


def trace_recording(project: Path) -> Path:
    """Copy the repo's recordings into the project; return the file the trace replay reads."""
    from harness.dataset import load_case
    from harness.llm import LLMRequest
    from harness.prompts import load_prompt
    from harness.replay import ReplayStore

    shutil.copytree(REPO / "recordings", project / "recordings")
    version = load_prompt(project / "prompts", "conclusion/v1")
    case = load_case(case_path(project, TRACE_CASE))
    request = LLMRequest.build(GEMINI, version.render(case.research), version.parameters, 0)
    path = ReplayStore(project / "recordings").path_for(request)
    assert path.is_file(), f"the trace recording is missing: {path}"
    return path


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the case-file corpus --------------------------------------------------------------------------


def _write_text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _huge(path: Path) -> None:
    """A 100 MB case file, sparse: a JSON opening, then a hole the size of the rest."""
    with path.open("wb") as stream:
        stream.write(b'{"main_query": "')
        stream.truncate(100 * 1024 * 1024)


VALID = {"main_query": "q?", "sub_questions": ["a?"], "enhanced_info": {"a?": {"synthesized_answer": "x", "confidence_level": "high"}}}

CASE_FILES = {
    # id: (write the file, what the error line must name besides the file)
    "malformed-json": (_write_text('{"main_query": "q", "sub_questions": [,]}'), ["invalid JSON", "line 1 column"]),
    "truncated-json": (_write_text('{"main_query": '), ["invalid JSON"]),
    "wrong-type-top": (_write_text('{"main_query": 3, "sub_questions": [], "enhanced_info": {}}'),
                       ["main_query", "expected a string, got a number"]),
    "wrong-type-nested": (_write_text(json.dumps({**VALID, "enhanced_info": {"a?": {"synthesized_answer": "x", "confidence_level": "high", "key_sources": "one"}}})),
                          ['enhanced_info["a?"].key_sources', "expected a list of strings, got a string"]),
    "wrong-type-list": (_write_text(json.dumps({**VALID, "sub_questions": "a?"})), ["sub_questions", "expected a list"]),
    "not-an-object": (_write_text('["main_query"]'), ["(top level)", "expected an object, got a list"]),
    "missing-field": (_write_text('{"sub_questions": [], "enhanced_info": {}}'), ["main_query", "missing"]),
    "missing-nested-field": (_write_text(json.dumps({**VALID, "enhanced_info": {"a?": {"confidence_level": "high"}}})),
                             ['enhanced_info["a?"].synthesized_answer', "missing"]),
    "empty-file": (_write_text(""), ["empty"]),
    "whitespace-only": (_write_text("  \n"), ["invalid JSON"]),
    "binary": (_write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01" * 64), ["not UTF-8"]),
    "nul-bytes": (_write_bytes(b"\x00" * 512), ["invalid JSON"]),
    "deeply-nested-array": (_write_text("[" * 100_000 + "]" * 100_000), ["nested too deeply"]),
    "deeply-nested-field": (_write_text('{"main_query": "q", "sub_questions": [], "enhanced_info": {}, "extra": '
                                        + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"), ["nested too deeply"]),
    "huge-100MB": (_huge, ["104857600 bytes", f"{MAX_CASE_BYTES}-byte limit"]),
}


@pytest.mark.parametrize("name", sorted(CASE_FILES))
def test_run_refuses_a_bad_case_file(project, name):
    write, needles = CASE_FILES[name]
    path = case_path(project)
    write(path)
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", "bad", "--out", "runs/x")
    assert_refused(result, project, before, "bad.json", *needles)


@pytest.mark.parametrize("name", ["malformed-json", "wrong-type-nested", "missing-field", "binary", "huge-100MB"])
def test_run_without_out_refuses_a_bad_case_file_in_the_whole_dataset(project, name):
    """No --case: the whole dataset is loaded; the default runs/<timestamp>-<id>/ is not created."""
    write, needles = CASE_FILES[name]
    write(case_path(project))
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN)
    assert_refused(result, project, before, "bad.json", *needles)


@pytest.mark.parametrize("name", sorted(CASE_FILES))
def test_datasets_validate_reports_a_bad_case_file_on_one_line(project, name):
    write, needles = CASE_FILES[name]
    write(case_path(project))
    before = snapshot(project)
    result = harness(project, "datasets", "validate")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in ("bad.json", *needles):
        assert needle in lines[0]
    assert "1 problem(s)" in result.stdout
    assert_nothing_written(project, before)


def _peak_rss_kb(args: list[str], cwd: Path) -> tuple[int, int]:
    """Run ``harness ARGS`` as run_cli does and return (exit code, peak RSS in kB) of that child."""
    code = "import sys\nsys.argv = ['harness', *sys.argv[1:]]\nfrom harness.cli import main\nmain()\n"
    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4 for the child's peak memory")
def test_huge_case_file_is_refused_without_reading_it(project):
    path = case_path(project)
    path.write_text("", encoding="utf-8")
    args = [*OFFLINE_RUN, "--case", "bad", "--out", "runs/x"]
    code, baseline = _peak_rss_kb(args, project)  # refused as empty at the same point
    assert code == 2
    _huge(path)
    assert path.stat().st_size == 100 * 1024 * 1024
    code, peak = _peak_rss_kb(args, project)
    assert code == 2
    # Reading the file would add 100 MB of bytes (and 100 MB more decoded); allow 30 MB of noise.
    assert peak - baseline < 30 * 1024, f"peak RSS {peak} kB vs {baseline} kB refusing an empty file"


# --- the JSON parser accepts a depth the rest of the run cannot handle ----------------------------


def test_case_nested_just_below_the_parser_limit_is_refused_or_run_cleanly(project):
    base = json.loads(case_path(project, TRACE_CASE).read_text(encoding="utf-8"))
    prefix = json.dumps(base)[:-1] + ', "deep": '
    accepted = 0
    for depth in range(999, 930, -3):  # from "nested too deeply" down into what the parser accepts
        case_path(project, "deep").write_text(prefix + "[" * depth + "]" * depth + "}", encoding="utf-8")
        shutil.rmtree(project / "runs", ignore_errors=True)
        before = snapshot(project)
        result = harness(project, "run", "--prompt", "conclusion/v1", "--model", GEMINI, "--case", "deep",
                         "--mode", "replay", "--out", "runs/x")
        assert "Traceback" not in result.stderr, f"depth {depth}: {result.stderr[-1500:]}"
        if result.returncode == 2:
            assert_refused(result, project, before, "deep.json")
            continue
        # Accepted: a clean run whose one row says the recording is missing (replay mode, new case).
        rows = (project / "runs" / "x" / "results.jsonl").read_text(encoding="utf-8").splitlines()
        assert result.returncode == 1 and len(rows) == 1, f"depth {depth}: exit {result.returncode}, {len(rows)} rows"
        assert json.loads(rows[0])["error"]["type"] == "missing_recording"
        accepted += 1
        if accepted == 3:
            break


# --- paths that escape their folder ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--case", "../../outside/evil", "--out", "runs/x"), ["--case", "'../../outside/evil'"]),
        (("--case", f"../research/{TRACE_CASE}", "--out", "runs/x"), ["--case", f"'../research/{TRACE_CASE}'"]),
        (("--case", "/etc/passwd", "--out", "runs/x"), ["--case", "'/etc/passwd'"]),
        (("--case", TRACE_CASE, "--out", "../escaped"), ["--out", "../escaped", "'..'"]),
        (("--case", TRACE_CASE, "--out", "runs/../../escaped"), ["--out", "runs/../../escaped", "'..'"]),
    ],
    ids=["case-dotdot-outside", "case-dotdot-sibling", "case-absolute", "out-dotdot", "out-dotdot-nested"],
)
def test_paths_that_escape_their_folder_are_refused(project, args, needles):
    outside = project.parent / "outside"
    outside.mkdir()
    shutil.copy(case_path(project, TRACE_CASE), outside / "evil.json")
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, *args)
    assert_refused(result, project, before, *needles)
    assert not (project.parent / "escaped").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["evil.json"]


def test_prompt_id_that_escapes_the_prompts_folder_is_refused(project):
    before = snapshot(project)
    result = harness(project, "run", "--prompt", "../prompts/conclusion/v1", "--model", "offline/extractive",
                     "--case", TRACE_CASE, "--out", "runs/x")
    assert_refused(result, project, before, "--prompt", "'../prompts/conclusion/v1'")


@pytest.mark.parametrize("selected", ["linked", TRACE_CASE])
def test_symlink_out_of_the_dataset_is_refused(project, selected):
    target = project.parent / "outside.json"
    target.write_text(json.dumps(VALID), encoding="utf-8")
    case_path(project, "linked").symlink_to(target)
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", selected, "--out", "runs/x")
    assert_refused(result, project, before, "linked.json", "symlink", "outside the dataset directory")


# --- prompts and templates -------------------------------------------------------------------------


def test_unknown_prompt_id_is_refused(project):
    before = snapshot(project)
    result = harness(project, "run", "--prompt", "conclusion/v9", "--model", "offline/extractive", "--case", TRACE_CASE,
                     "--out", "runs/x")
    assert_refused(result, project, before, "--prompt", "'conclusion/v9'", "conclusion/v1")


def _break_template(project: Path) -> None:
    system = project / "prompts" / "conclusion" / "v1" / "system.j2"
    system.write_text(system.read_text(encoding="utf-8") + "\nBudget: {{ no_such_variable }}\n", encoding="utf-8")


def test_render_refuses_a_template_with_a_missing_variable(project):
    _break_template(project)
    before = snapshot(project)
    result = harness(project, "render", "--prompt", "conclusion/v1", "--case", TRACE_CASE)
    assert_refused(result, project, before, "system.j2", "no_such_variable")
    assert result.stdout == ""


def test_run_refuses_a_template_with_a_missing_variable(project):
    _break_template(project)
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE, "--out", "runs/x")
    assert_refused(result, project, before, "system.j2", "no_such_variable")


def test_run_without_out_refuses_a_template_with_a_missing_variable(project):
    _break_template(project)
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE)
    assert_refused(result, project, before, "system.j2", "no_such_variable")


# --- configuration ---------------------------------------------------------------------------------


def _append_config(project: Path, text: str) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("config", "needles"),
    [
        ('checks = ["nope"]\n', ["[tool.harness] checks", "'nope'", "only_p_tags"]),
        ('checks = ["only_p_tags", "word_budget"]\n', ["[tool.harness] checks", "'word_budget'"]),
        ('concurrency = "many"\n', ["pyproject.toml", "[tool.harness] concurrency", "integer"]),
        ("concurrency = 0\n", ["pyproject.toml", "[tool.harness] concurrency", "greater than or equal to 1"]),
        ('mode = "sometimes"\n', ["pyproject.toml", "[tool.harness] mode"]),
        ("timeout_s = -1\n", ["pyproject.toml", "[tool.harness] timeout_s"]),
        ("concurency = 3\n", ["pyproject.toml", "[tool.harness] concurency", "Extra inputs"]),
        ("concurrency = = 3\n", ["pyproject.toml", "invalid TOML", "line 4"]),
        ('models = ["offline/extractive"\n', ["pyproject.toml", "invalid TOML"]),
    ],
    ids=["unknown-check", "misspelt-check", "concurrency-string", "concurrency-zero", "mode-unknown",
         "timeout-negative", "unknown-key", "toml-syntax", "toml-unclosed-array"],
)
def test_invalid_configuration_is_refused(project, config, needles):
    _append_config(project, config)
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE, "--out", "runs/x")
    assert_refused(result, project, before, *needles)


def test_tool_harness_that_is_not_a_table_is_refused(project):
    (project / "pyproject.toml").write_text("[tool]\nharness = 3\n", encoding="utf-8")
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE, "--out", "runs/x")
    assert_refused(result, project, before, "pyproject.toml", "[tool.harness]", "table")


@pytest.mark.parametrize(
    ("env", "needles"),
    [({"HARNESS_CONCURRENCY": "many"}, ["HARNESS_CONCURRENCY", "integer"]),
     ({"HARNESS_PROCESSES": "-1"}, ["HARNESS_PROCESSES", "greater than or equal to 0"]),
     ({"HARNESS_MODE": "sometimes"}, ["HARNESS_MODE"])],
    ids=["concurrency", "processes", "mode"],
)
def test_invalid_environment_setting_is_refused(project, env, needles):
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE, "--out", "runs/x", env=env)
    assert_refused(result, project, before, *needles)


@pytest.mark.parametrize(("args", "needle"), [(("--concurrency", "0"), "--concurrency"), (("--processes", "-1"), "--processes"),
                                               (("--mode", "sometimes"), "--mode")],
                         ids=["concurrency-zero", "processes-negative", "mode-unknown"])
def test_invalid_option_value_is_one_line(project, args, needle):
    before = snapshot(project)
    result = harness(project, *OFFLINE_RUN, "--case", TRACE_CASE, "--out", "runs/x", *args)
    assert_refused(result, project, before, needle)


# --- recordings ------------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _edit_request(path: Path) -> None:
    def edit(data: dict) -> None:
        data["request"]["messages"][1]["content"] += " "

    edit_json(path, edit)


def _edit_parameters(path: Path) -> None:
    def edit(data: dict) -> None:
        data["request"]["parameters"]["temperature"] = 0.7

    edit_json(path, edit)


def _edit_key(path: Path) -> None:
    def edit(data: dict) -> None:
        data["key"] = data["key"][:16] + "0" * 48

    edit_json(path, edit)


def _empty_answer(path: Path) -> None:
    def edit(data: dict) -> None:
        data["response"]["text"] = ""

    edit_json(path, edit)


RECORDING_DAMAGE = {
    "corrupt-json": (_truncate, ["corrupt recording"]),
    "not-json": (lambda path: path.write_bytes(b"\xff\xfe\x00garbage"), ["corrupt recording"]),
    "request-edited": (_edit_request, ["does not match its request"]),
    "parameters-edited": (_edit_parameters, ["does not match its request"]),
    "key-edited": (_edit_key, ["belongs to another request"]),
    "schema-invalid": (_empty_answer, ["invalid recording", "response.text"]),
}


@pytest.mark.parametrize("damage", sorted(RECORDING_DAMAGE))
def test_bad_recording_is_refused_and_never_re_recorded(project, damage):
    recording = trace_recording(project)
    edit, needles = RECORDING_DAMAGE[damage]
    edit(recording)
    damaged = recording.read_bytes()
    before = snapshot(project)
    result = harness(project, *REPLAY_RUN, "--out", "runs/x")
    assert recording.read_bytes() == damaged, "the recording was rewritten"
    assert_refused(result, project, before, recording.name, *needles)


def test_bad_recording_error_line_names_the_file_and_problem(project):
    """The part of the recording cases that works today: one line, exit 2, no traceback, file untouched."""
    for damage, (edit, needles) in sorted(RECORDING_DAMAGE.items()):
        shutil.rmtree(project / "recordings", ignore_errors=True)
        shutil.rmtree(project / "runs", ignore_errors=True)
        recording = trace_recording(project)
        edit(recording)
        damaged = recording.read_bytes()
        result = harness(project, *REPLAY_RUN, "--out", "runs/x")
        assert "Traceback" not in result.stderr, (damage, result.stderr[-2000:])
        assert result.returncode == 2, (damage, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (damage, result.stderr)
        for needle in (recording.name, *needles):
            assert needle in lines[0], (damage, lines[0])
        assert recording.read_bytes() == damaged, damage


def test_intact_recording_replays(project):
    """Control for the recording cases: the undamaged copy replays with exit 0."""
    trace_recording(project)
    result = harness(project, *REPLAY_RUN, "--out", "runs/x")
    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in (project / "runs/x/results.jsonl").read_text().splitlines()]
    assert row["cached"] is True and row["error"] is None


# --- duplicates ------------------------------------------------------------------------------------


def _rows(project: Path) -> list[dict]:
    return [json.loads(line) for line in (project / "runs/x/results.jsonl").read_text(encoding="utf-8").splitlines()]


def _manifest(project: Path) -> dict:
    return json.loads((project / "runs/x/manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "extra",
    [("--case", TRACE_CASE), ("--model", GEMINI), ("--case", TRACE_CASE, "--model", GEMINI, "--case", TRACE_CASE)],
    ids=["case-twice", "model-twice", "case-thrice-model-twice"],
)
def test_duplicate_case_or_model_runs_once(project, extra):
    """--case a --case a is de-duplicated (not an error): one row, the manifest lists the case once."""
    trace_recording(project)
    result = harness(project, *REPLAY_RUN, *extra, "--out", "runs/x")
    assert result.returncode == 0, result.stderr
    rows = _rows(project)
    assert [(row["case_id"], row["model"]) for row in rows] == [(TRACE_CASE, GEMINI)]
    manifest = _manifest(project)
    assert manifest["cases"] == [TRACE_CASE] and manifest["models"] == [GEMINI]
    assert manifest["rows_expected"] == 1
    assert "1 rows, 0 errors" in result.stdout


def test_duplicate_case_in_config_runs_once(project):
    trace_recording(project)
    _append_config(project, f'cases = ["{TRACE_CASE}", "{TRACE_CASE}"]\n')
    result = harness(project, "run", "--prompt", "conclusion/v1", "--model", GEMINI, "--mode", "replay", "--out", "runs/x")
    assert result.returncode == 0, result.stderr
    assert len(_rows(project)) == 1


def test_duplicate_prompt_runs_once(project):
    trace_recording(project)
    result = harness(project, *REPLAY_RUN, "--prompt", "conclusion/v1", "--out", "runs/x")
    assert result.returncode == 0, result.stderr
    assert len(_rows(project)) == 1
    manifest = _manifest(project)
    assert [entry["id"] for entry in manifest["prompts"]] == ["conclusion/v1"]
    assert manifest["rows_expected"] == 1
