"""Canary keys in the environment appear in no file the harness writes and in no message it prints."""

from __future__ import annotations

from fakeserver import FakeOpenAI, Reply
from tests_support import run_cli

CANARY = "sk-canary-SECRET-0123456789abcdef"
OTHER = "canary-anthropic-SECRET-987654321"
ENV = {"OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": OTHER}


def test_canary_keys_never_leak_into_files_or_messages(project):
    def script(index, body):
        if index == 0:
            # a hostile server echoing the credentials back in its error message
            return Reply(status=401, error_body={"error": {"message": f"invalid key Bearer {CANARY} / {OTHER}", "type": "auth"}})
        return Reply(content=f"<p>Answer {index} to {body['model']}.</p>")

    outputs = []
    with FakeOpenAI(script) as server:
        for prompt, out in (("conclusion/v1", "a"), ("conclusion/v2", "b")):
            result = run_cli("run", "-p", prompt, "-m", "openai/test-model", "-c", "llmops-vs-mlops", "-c", "roman-concrete-durability",
                             "--mode", "record", "--concurrency", "1", "--api-base", server.base_url, "--out", str(project / "runs" / out),
                             cwd=project, env=ENV)
            outputs.append(result)
        outputs.append(run_cli("run", "--resume", str(project / "runs/a"), cwd=project, env=ENV))
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {CANARY}", "the key really was used"
    runs = [str(project / "runs/a"), str(project / "runs/b")]
    outputs.append(run_cli("compare", "conclusion/v1", "conclusion/v2", *[x for r in runs for x in ("--run", r)], "--format", "json", cwd=project, env=ENV))
    outputs.append(run_cli("leaderboard", *runs, "--format", "markdown", cwd=project, env=ENV))
    outputs.append(run_cli("report", *runs, "-o", str(project / "report.html"), cwd=project, env=ENV))
    assert all(o.returncode in (0, 1) for o in outputs), [o.stderr for o in outputs]
    assert "auth" in outputs[0].stderr, "the auth error was reported"
    written = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "results.jsonl" for p in written) and any(p.suffix == ".html" for p in written)
    assert any("recordings" in p.parts for p in written)
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert CANARY not in text and OTHER not in text, path
    for output in outputs:
        assert CANARY not in output.stdout + output.stderr and OTHER not in output.stdout + output.stderr
