"""`benchmarks/tag.py` on the test remotes: both contenders release 11.1.0 on every remote,
and `tag` stays within its budget of git processes (the wall-time target is the
benchmark's to measure, not a test's)."""

from __future__ import annotations

import pytest

from tests.benchmark_support import load_benchmark


@pytest.fixture(scope="module")
def tag_benchmark():
    return load_benchmark("tag")


def test_tag_starts_at_most_100_git_processes_and_both_contenders_release_everything(tag_benchmark, tmp_path):
    scenario = tag_benchmark.Scenario(tmp_path)

    counts = {who: scenario.count(who) for who in ("minimal", "tag")}  # each run checks every remote's tags

    assert sum(counts["tag"].values()) <= tag_benchmark.TARGET_PROCESSES, counts["tag"]
    # Every remote is read before planning and again after pushing: six remotes, twice.
    assert counts["tag"]["ls-remote"] == 12
    assert counts["tag"]["push"] == counts["minimal"]["push"] == 8
    assert "checkout" not in counts["tag"] and "commit" not in counts["tag"]
