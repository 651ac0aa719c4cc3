"""Results-table and report scale: 100,000 result rows load and aggregate; an HTML report of
1,000 cases × 4 prompt versions is written, sized, and opened in headless Chromium.

    .venv/bin/python bench/report_scale.py [--cases 1000] [--versions 4]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import harness._env  # noqa: E402,F401
from runs_support import make_row, make_run  # noqa: E402

from harness.leaderboard import leaderboard  # noqa: E402
from harness.table import load_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=4)
    args = parser.parse_args()
    output = (REPO / "examples/llmops-vs-mlops.trace-output.html").read_text()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        rows = [make_row(f"conclusion/v{v + 1}", f"case-{c:05d}", output=output, failing=("word_budgets",) if (c + v) % 3 == 0 else ())
                for v in range(args.versions) for c in range(args.cases)]
        started = time.perf_counter()
        copies = -(-100_000 // (len(rows) * 4))  # samples, so there are at least 100,000 (output, metric) rows
        big = make_run(root / "big", [row.model_copy(update={"sample": k}) for k in range(copies) for row in rows])
        written = time.perf_counter() - started
        started = time.perf_counter()
        table = load_table([big])
        board = leaderboard(table)
        loaded = time.perf_counter() - started
        print(f"results table: {table.height:,} metric rows from {len(rows) * copies:,} outputs loaded and ranked in {loaded:.2f}s "
              f"({len(board)} leaderboard rows; writing them took {written:.1f}s)")
        run = make_run(root / "report-run", rows)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness", "report", str(run), "-o", str(root / "report.html")], cwd=REPO, check=True,
                       capture_output=True)
        elapsed = time.perf_counter() - started
        size = (root / "report.html").stat().st_size
        print(f"report of {args.cases} cases × {args.versions} versions: {size / 1e6:.1f} MB written in {elapsed:.1f}s")
        chromium = shutil.which("chromium")
        if chromium:
            started = time.perf_counter()
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                            f"--user-data-dir={root / 'ud'}", "--dump-dom", (root / "report.html").as_uri()],
                           capture_output=True, check=True, timeout=300)
            print(f"opened and rendered in headless Chromium in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
