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
    import json
    import random
    import re

    # Distinct, realistic outputs (so compression is not flattered): four paragraphs of ~120
    # words each, sampled from the sentences of the dataset's research texts.
    text = " ".join(json.dumps(json.loads(p.read_text())) for p in (REPO / "datasets/research").glob("*.json"))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", re.sub(r'[{}\[\]"\\]|\w+_\w+:', " ", text)) if len(s.split()) > 6]
    rng = random.Random(7)

    def output() -> str:
        return "\n\n".join("<p>" + " ".join(rng.sample(sentences, 5)) + "</p>" for _ in range(4))

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        rows = [make_row(f"conclusion/v{v + 1}", f"case-{c:05d}", output=output(), failing=("word_budgets",) if (c + v) % 3 == 0 else ())
                for v in range(args.versions) for c in range(args.cases)]
        print(f"outputs: {len(rows)}, {sum(len(r.output) for r in rows) / 1e6:.1f} MB of model text")
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
            dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                  f"--user-data-dir={root / 'ud'}", "--virtual-time-budget=60000", "--dump-dom", (root / "report.html").as_uri()],
                                 capture_output=True, check=True, timeout=300, text=True).stdout
            ready = 'data-outputs="ready"' in dom and dom.count('class="case ') == args.cases
            print(f"opened in headless Chromium, drill-down of {args.cases} cases unpacked and laid out: "
                  f"{time.perf_counter() - started:.1f}s (Chromium start-up included){'' if ready else ' -- drill-down NOT complete'}")


if __name__ == "__main__":
    main()
