"""`invoke helm.tag_chart`, run as a user runs it."""

from __future__ import annotations

import json

import pytest


def test_list_shows_the_helm_namespace(invoke):
    result = invoke("--list", "--list-format", "json")

    helm = {c["name"]: c for c in json.loads(result.stdout)["collections"]}["helm"]
    assert [task["name"] for task in helm["tasks"]] == ["tag_chart"]


@pytest.mark.parametrize(
    "args, detail",
    [
        (("", ""), "(give the chart version, the GitLab version, or both)"),
        (("v0.3.2", ""), "(got 'v0.3.2' as the chart version)"),
        (("", "eleven"), "(got 'eleven' as the GitLab version)"),
    ],
    ids=["neither", "bad chart", "bad gitlab"],
)
def test_invalid_versions_are_one_line_and_touch_nothing(invoke, config, remotes, args, detail):
    before = remotes.digests()

    result = invoke("-f", config, "helm.tag_chart", *args)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Version number must be in the following format: X.Y.Z")
    assert result.stderr.count("\n") == 1 and detail in result.stderr
    assert remotes.digests() == before


def test_chart_release_with_the_legacy_test_switch_pushes_nothing(invoke, config, remotes):
    before = remotes.digests()

    result = invoke("-f", config, "helm.tag_chart", "0.3.2", "", env={"TEST": "true"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Chart release\n")
    assert "\nPlan for helm.tag_chart 0.3.2:\n  · push charts/gitlab 0-3-stable, master, tag v0.3.2 to gitlab\n" in result.stdout
    assert result.stdout.endswith("Dry run: 1 step would be carried out; nothing was changed.\n")
    assert remotes.digests() == before


def test_chart_release_tags_the_chart(invoke, config, remotes):
    result = invoke("-f", config, "helm.tag_chart", "0.3.2", "")

    assert result.returncode == 0, result.stderr
    assert "\n✓ push charts/gitlab 0-3-stable, master, tag v0.3.2 to gitlab: " in result.stdout
    assert result.stdout.endswith("Read back 1 change.\nDone: 1 done.\n")
    assert "v0.3.2" in remotes("helm", "gitlab").tags()


def test_security_chart_release_is_refused_in_one_line(invoke, config, remotes):
    before = remotes.digests()

    result = invoke("-f", config, "helm.tag_chart", "0.3.2", "11.1.2", env={"SECURITY": "true"})

    assert result.returncode == 1
    assert result.stderr.startswith("Error: the Helm chart (charts/gitlab) has no dev remote")
    assert result.stderr.count("\n") == 1
    assert remotes.digests() == before


def test_chart_changelog_is_dated_by_source_date_epoch(invoke, config, remotes):
    result = invoke("-f", config, "helm.tag_chart", "0.3.2", "", env={"SOURCE_DATE_EPOCH": "1532100600"})

    assert result.returncode == 0, result.stderr
    for branch in ("0-3-stable", "master"):
        assert "\n## 0.3.2 (2018-07-20)\n" in remotes("helm", "gitlab").show(branch, "CHANGELOG.md")
