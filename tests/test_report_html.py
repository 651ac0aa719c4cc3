"""The HTML report in headless Chromium: renders, no console errors, payloads inert, screenshot kept."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from runs_support import make_row, make_run
from tests_support import REPO, run_cli

ARTIFACTS = REPO / "test-artifacts"
PAYLOADS = [
    '<p>Script <script>document.title="pwned-script"</script> here.</p>',
    '<p>Image <img src="x" onerror="document.title=\'pwned-img\'"> here.</p>',
    '<p>Link <a href="javascript:document.title=\'pwned-link\'">click</a> and '
    '<a href="https://example.org/tracker.png">external</a>.</p><p><img src="https://example.org/beacon.gif"></p>',
    "<p>ANSI \x1b[31mred\x1b[0m and a | pipe.</p>",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


def headless(url: str, *extra: str, user_data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", f"--user-data-dir={user_data}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=3000", *extra, url],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def report(project) -> Path:
    rows = []
    for index, case in enumerate(["alpha-case", "beta-case", "gamma-case", "delta-case"]):
        rows.append(make_row("conclusion/v1", case, output=PAYLOADS[index]))
        rows.append(make_row("conclusion/v2", case, output=PAYLOADS[index], failing=("word_budgets",) if index == 0 else ()))
    rows.append(make_row("conclusion/v2", "epsilon-case", error="timeout"))
    rows.append(make_row("conclusion/v1", "epsilon-case"))
    run = make_run(project / "runs" / "r", rows)
    result = run_cli("report", str(run), "-o", str(project / "report.html"), cwd=project)
    assert result.returncode == 0, result.stderr
    return project / "report.html"


def test_report_is_self_contained_and_escapes_payloads(report):
    import base64
    import gzip

    html = report.read_text()
    packed = re.search(r'<script type="application/octet-stream" id="cases-data">([^<]+)</script>', html).group(1)
    html += gzip.decompress(base64.b64decode(packed)).decode()  # the drill-down, as the page will show it
    assert "<script>document.title" not in html and "onerror" not in html and "javascript:" not in html
    assert "https://example.org" not in html, "no external resource survives sanitizing"
    assert [tag for tag in re.findall(r"<script[^>]*>", html) if "octet-stream" not in tag] == [re.search(r'<script nonce="[^"]+">', html).group(0)]
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "\x1b" not in html


def test_report_in_headless_chromium(report, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    shot = headless(report.as_uri(), f"--screenshot={screenshot}", "--window-size=1400,2400", user_data=tmp_path / "a")
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    console = [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]
    assert console == [], console
    dom = headless(report.as_uri(), "--dump-dom", user_data=tmp_path / "b")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert "<title>Prompt evaluation report</title>" in rendered, "no payload changed the title"
    assert rendered.count('class="leaderboard-row"') == 2
    assert 'id="compare-table"' in rendered and "word_budgets" in rendered
    assert 'id="case-alpha-case"' in rendered and "error: timeout" in rendered
    assert 'data-outputs="ready"' in rendered, "the packed outputs were unpacked in the page"
    assert "Script" in rendered and "here." in rendered and "ANSI red and a | pipe." in rendered
    assert "<script>document.title" not in rendered
