"""Judge calls per output, counted by a loopback judge server with scripted answers.

The minimum each metric needs: synthesis_quality 1 (G-Eval with fixed steps); faithfulness 4 for
the first output of a research input (truths, claims, verdicts, reason) and 3 for every further
output of the same input, since truths depend only on the input and the judge and are extracted
once, even when several outputs ask at the same moment.

    .venv/bin/python bench/judge_calls.py [--outputs-per-case 3] [--cases 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from _loopback import REPO

sys.path.insert(0, str(REPO / "tests"))

from fakeserver import FakeOpenAI  # noqa: E402
from judge_script import JudgeScript  # noqa: E402

from harness.dataset import load_dataset  # noqa: E402
from harness.judges import Judging  # noqa: E402
from harness.llm import complete  # noqa: E402
from harness.prompts import load_prompts  # noqa: E402
from harness.scheduler import Scheduler  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outputs-per-case", type=int, default=3)
    parser.add_argument("--cases", type=int, default=3)
    args = parser.parse_args()
    cases = load_dataset(REPO / "datasets/research")[: args.cases]
    spec = load_prompts(REPO / "prompts")[0].spec
    script = JudgeScript()
    with FakeOpenAI(script) as server:

        async def run() -> list[dict]:
            scheduler = Scheduler(lambda request: complete(request, api_base=server.base_url), concurrency=16)
            judging = Judging("openai/judge", scheduler.call)
            jobs = [judging.score(case.research, f"<p>Conclusion {n} about {case.id}.</p>", spec)
                    for case in cases for n in range(args.outputs_per_case)]
            return await asyncio.gather(*jobs)  # all outputs of an input in flight together

        results = asyncio.run(run())
    calls: dict[tuple[str, str], list[int]] = {}
    for index, result in enumerate(results):
        position = "first" if index % args.outputs_per_case == 0 else "further"
        for name in ("synthesis_quality", "faithfulness"):
            calls.setdefault((name, position), []).append(result[name]["judge_calls"])

    def mean(name: str, position: str) -> float:
        values = calls.get((name, position), [])
        return sum(values) / len(values) if values else float("nan")

    print(f"{len(cases)} research inputs × {args.outputs_per_case} outputs = {len(results)} outputs, scored concurrently")
    print(f"server calls by kind: {dict(script.calls)} (truths extracted {script.calls['truths']} times for {len(cases)} inputs)")
    print(f"synthesis_quality: {mean('synthesis_quality', 'first'):.2f} / {mean('synthesis_quality', 'further'):.2f} "
          "calls per first / further output (minimum 1)")
    print(f"faithfulness:      {mean('faithfulness', 'first'):.2f} / {mean('faithfulness', 'further'):.2f} "
          "calls per first / further output of an input (at most 4 / 3)")
    ok = (max(calls[("synthesis_quality", "first")] + calls.get(("synthesis_quality", "further"), [])) == 1
          and max(calls[("faithfulness", "first")]) <= 4 and max(calls.get(("faithfulness", "further"), [0])) <= 3
          and script.calls["truths"] == len(cases))
    print("minimum reached" if ok else "MISSED")


if __name__ == "__main__":
    main()
