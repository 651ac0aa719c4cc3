"""Hand-built run directories for leaderboard, compare and report tests."""

from __future__ import annotations

from pathlib import Path

from harness.results import Manifest, PromptEntry, ResultRow, RowError, write_run

CHECKS = ["only_p_tags", "no_headings", "section_count", "word_budgets"]


def make_row(prompt: str, case: str, *, model: str = "m", sample: int = 0, failing: tuple[str, ...] = (), error: str | None = None,
             output: str = "<p>out.</p>", cost: float | None = 0.01, latency: float = 1.0, judges: dict | None = None,
             prompt_hash: str | None = None) -> ResultRow:
    if error:
        return ResultRow(case_id=case, prompt_id=prompt, prompt_hash=prompt_hash or f"h-{prompt}", model=model, sample=sample,
                         error=RowError(type=error, message=f"{error} happened"))
    return ResultRow(
        case_id=case, prompt_id=prompt, prompt_hash=prompt_hash or f"h-{prompt}", model=model, sample=sample, output=output,
        checks={name: {"passed": name not in failing, "score": 0.0 if name in failing else 1.0,
                       "detail": f"{name} {'failed' if name in failing else 'ok'} on {case}"} for name in CHECKS},
        paragraph_word_counts=[150, 100, 100, 80], usage={"input_tokens": 100, "output_tokens": 50}, cost_usd=cost,
        latency_s=latency, finish_reason="stop", judges=judges or {},
    )


def make_run(directory: Path, rows: list[ResultRow], *, judges: list[str] | None = None, started_at: str = "2026-01-01T00:00:00+00:00") -> Path:
    prompts = list(dict.fromkeys((row.prompt_id, row.prompt_hash) for row in rows))
    manifest = Manifest(
        run_id=directory.name, harness_version="test", git_commit=None, started_at=started_at, mode="replay",
        prompts=[PromptEntry(id=p, hash=h, parameters={}) for p, h in prompts],
        models=list(dict.fromkeys(row.model for row in rows)), cases=list(dict.fromkeys(row.case_id for row in rows)),
        dataset_hash="x", checks=CHECKS, judges=judges or [], rows_expected=len(rows),
    )
    write_run(directory, manifest, rows)
    return directory
