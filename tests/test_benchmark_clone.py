"""`benchmarks/clone.py` on a small synthetic repository: its strategies run and its push
checks (a release pushed from the release-tools clone to a second remote) pass."""

from __future__ import annotations

import pytest

from tests.benchmark_support import load_benchmark

pytestmark = pytest.mark.usefixtures("git_identity")


@pytest.fixture(scope="module")
def clone_benchmark():
    return load_benchmark("clone")


@pytest.fixture(scope="module")
def source(clone_benchmark, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "source.git"
    clone_benchmark.build_source(path, commits=400, files=40)
    return path


def test_every_strategy_clones_the_release_branches(clone_benchmark, source):
    results = clone_benchmark.measure(source.as_uri(), runs=1)

    assert set(results) == set(clone_benchmark.STRATEGIES)
    assert all(size > 0 for _, size in results.values())


def test_a_release_from_the_release_tools_clone_reaches_a_second_remote(clone_benchmark, source):
    checks = clone_benchmark.check_pushes(source)

    assert [(name, ok) for name, ok, _, _ in checks] == [
        ("new stable branch + tag", True),
        ("stable branch only on the first remote", True),
    ], checks
