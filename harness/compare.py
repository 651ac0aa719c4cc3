"""Is the candidate better than the baseline? Paired by case, model and sample, per metric.

For each check and judge (and all checks together): both means, the mean paired difference
with a seeded paired-bootstrap 95% interval, wins/ties/losses, an exact test (McNemar for
pass/fail, sign test for scores), a verdict, and the cases that flipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from harness.errors import InputError
from harness.leaderboard import ALL_CHECKS
from harness.stats import DEFAULT_SEED, mcnemar_exact_p, paired_bootstrap_interval, sign_test_p
from harness.table import all_checks_passed, latest_run, load_table
from harness.results import read_manifest

PAIR_KEY = ["case_id", "model", "sample"]
VERDICTS = ("better", "worse", "no_difference")


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    kind: str
    baseline_mean: float
    candidate_mean: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    wins: int
    ties: int
    losses: int
    verdict: str


@dataclass(frozen=True)
class Flip:
    metric: str
    case_id: str
    model: str
    sample: int
    direction: str  # pass_to_fail or fail_to_pass
    baseline_detail: str | None
    candidate_detail: str | None


@dataclass(frozen=True)
class Comparison:
    baseline: str
    candidate: str
    pairs: int
    metrics: list[MetricComparison]
    flips: list[Flip] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "pairs": self.pairs,
            "metrics": [{k: v for k, v in asdict(m).items() if k != "kind"} for m in self.metrics],
            "flips": [asdict(flip) for flip in self.flips],
        }

    def regressions(self, max_flips: int = 0) -> list[str]:
        """Why this comparison should fail a CI gate (empty when it should pass)."""
        reasons = [f"{m.metric} is significantly worse ({m.baseline_mean:.3f} -> {m.candidate_mean:.3f}, p={m.p_value:.3g})"
                   for m in self.metrics if m.verdict == "worse"]
        to_fail = [f for f in self.flips if f.direction == "pass_to_fail" and f.metric != ALL_CHECKS]
        if len(to_fail) > max_flips:
            reasons.append(f"{len(to_fail)} check verdicts flipped pass -> fail (allowed: {max_flips})")
        return reasons


def _per_output_all_checks(table: pl.DataFrame) -> pl.DataFrame:
    return (
        all_checks_passed(table).rename({"all_passed": "passed"})
        .with_columns(pl.lit(ALL_CHECKS).alias("metric"), pl.lit("all").alias("kind"),
                      pl.col("passed").cast(pl.Float64).alias("score"), pl.lit(None, pl.String).alias("detail"))
    )


def _values(table: pl.DataFrame) -> pl.DataFrame:
    columns = [*PAIR_KEY, "metric", "kind", "passed", "score", "detail"]
    return pl.concat([table.select(columns), _per_output_all_checks(table).select(columns)], how="vertical")


def compare(baseline: pl.DataFrame, candidate: pl.DataFrame, baseline_label: str, candidate_label: str,
            alpha: float = 0.05, seed: int = DEFAULT_SEED) -> Comparison:
    """Compare two sets of rows (each one prompt version) pair by pair."""
    joined = _values(baseline).join(_values(candidate), on=[*PAIR_KEY, "metric", "kind"], suffix="_candidate")
    if joined.height == 0:
        raise InputError(f"{baseline_label} vs {candidate_label}: no pairs share a case, model and sample")
    metrics, flips = [], []
    for (metric, kind), group in joined.group_by(["metric", "kind"], maintain_order=True):
        if kind == "judge":
            group = group.filter(pl.col("score").is_not_null() & pl.col("score_candidate").is_not_null())
            if group.height == 0:
                continue
            base, cand = group["score"].to_list(), group["score_candidate"].to_list()
        else:
            base = [float(v) for v in group["passed"].to_list()]
            cand = [float(v) for v in group["passed_candidate"].to_list()]
        wins = sum(c > b for b, c in zip(base, cand))
        losses = sum(c < b for b, c in zip(base, cand))
        ties = len(base) - wins - losses
        p_value = mcnemar_exact_p(losses, wins) if kind != "judge" else sign_test_p(wins, losses)
        low, high = paired_bootstrap_interval(base, cand, seed=seed)
        diff = sum(cand) / len(cand) - sum(base) / len(base)
        verdict = "no_difference" if p_value >= alpha or diff == 0 else ("better" if diff > 0 else "worse")
        metrics.append(MetricComparison(metric, kind, sum(base) / len(base), sum(cand) / len(cand), diff, low, high,
                                        p_value, wins, ties, losses, verdict))
        if kind != "judge":
            for row in group.filter(pl.col("passed") != pl.col("passed_candidate")).iter_rows(named=True):
                flips.append(Flip(metric, row["case_id"], row["model"], row["sample"],
                                  "fail_to_pass" if row["passed_candidate"] else "pass_to_fail",
                                  row["detail"], row["detail_candidate"]))
    pairs = joined.select(PAIR_KEY).unique().height
    return Comparison(baseline_label, candidate_label, pairs, metrics, flips)


def select_side(spec: str, runs: list[Path], runs_dir: Path) -> tuple[str, pl.DataFrame]:
    """A comparison side: a run directory (one prompt version), or a prompt id selecting rows of
    the ``runs`` given (default: the latest run)."""
    path = Path(spec)
    if (path / "manifest.json").exists():
        table = load_table([path])
        prompts = table["prompt_id"].unique().to_list()
        if len(prompts) > 1:
            raise InputError(f"{spec}: this run has {len(prompts)} prompt versions ({', '.join(sorted(prompts))}); "
                             f"compare prompt ids instead, with --run {spec}")
        return f"{prompts[0] if prompts else '?'} ({read_manifest(path).run_id})", table
    sources = runs or [latest_run(runs_dir)]
    table = load_table(sources).filter(pl.col("prompt_id") == spec)
    if table.height == 0:
        raise InputError(f"{spec}: neither a run directory nor a prompt id found in {', '.join(str(s) for s in sources)}")
    hashes = sorted(table["prompt_hash"].unique().to_list())
    if len(hashes) > 1:
        raise InputError(f"{spec}: {len(hashes)} different versions of this prompt's content in these runs "
                         f"(hashes {', '.join(hashes)}); pick the runs with --run so that one remains")
    return spec, table
