"""Releasing the Helm chart on a real bare `gitlab` remote: stable branches, Chart.yaml and
subcharts, tags, changelog, master's chart version, the derived chart version, dry runs,
security releases and re-runs."""

from __future__ import annotations

import datetime

import pytest
import yaml

from release_tools import chart_release
from release_tools.clock import Clock
from release_tools.errors import ConfigurationError, InvalidVersionError, ReleaseStateError
from release_tools.helm import ChartFileError, ChartVersion
from release_tools.version import Version
from tests.repos import MINIO_CHART, SUBCHARTS_DIR, Remotes

TODAY = datetime.date(2018, 7, 25)


def release(settings, chart, app):
    """Run the chart release; return (summary, state) of each step of its plan."""
    plan = chart_release.tag_chart(
        settings.with_changes(clock=Clock(day=TODAY, source="the test")),
        ChartVersion.parse(chart) if chart else None,
        Version.parse(app) if app else None,
    )
    assert plan.task == "helm.tag_chart" and plan.exit_status == 0
    return [(step.summary, step.state.value) for step in plan.steps]


def chart(remote, ref, path="Chart.yaml"):
    data = yaml.safe_load(remote.show(ref, path))
    return str(data["version"]), str(data["appVersion"])


def subchart(remote, ref, name):
    return chart(remote, ref, f"{SUBCHARTS_DIR}/{name}/Chart.yaml")


def tag_gitlab(remotes, tmp_path, version, gitaly="0.117.0"):
    """Tag GitLab `version` on gitlab-ee's canonical remote, with its own Gitaly version."""
    ee = remotes("ee", "dev")
    ee.commit("master", {"GITALY_SERVER_VERSION": f"{gitaly}\n"}, f"Update Gitaly to {gitaly}", tmp_path)
    ee.git("tag", "-a", "-m", f"Version v{version}-ee", f"v{version}-ee", "master")


@pytest.fixture
def remotes(remotes_template, tmp_path):
    """The chart's remote, and gitlab-ee's whose tags give the subcharts' component versions."""
    return Remotes.copy_of(remotes_template, tmp_path / "remotes", only=("helm", "ee"))


@pytest.fixture
def helm(remotes):
    return remotes("helm", "gitlab")


# -- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chart_text, app_text, expected",
    [
        ("0.3.2", "", ("0.3.2", None)),
        ("", "11.2.0-rc1", (None, "11.2.0-rc1")),
        (" 0.4.0 ", "11.2.0", ("0.4.0", "11.2.0")),
    ],
    ids=["chart only", "gitlab only", "both"],
)
def test_empty_arguments_count_as_absent(chart_text, app_text, expected):
    chart, app = chart_release.parse_versions(chart_text, app_text)

    assert (str(chart) if chart else None, str(app) if app else None) == expected


@pytest.mark.parametrize(
    "chart_text, app_text, detail",
    [
        ("", "", "give the chart version, the GitLab version, or both"),
        ("v0.3.2", "", "as the chart version"),
        ("0.3", "11.1.2", "as the chart version"),
        ("", "11.1.2.4", "as the GitLab version"),
        ("0.3.2", "11.1.2-ee", "without -ee"),
    ],
    ids=["neither", "leading v", "no patch", "bad gitlab", "ee"],
)
def test_invalid_arguments_are_refused(chart_text, app_text, detail):
    with pytest.raises(InvalidVersionError, match=r"^Version number must be in the following format: X\.Y\.Z") as error:
        chart_release.parse_versions(chart_text, app_text)

    assert detail in str(error.value)


# -- release candidates, final releases, patches --------------------------------------------


def test_release_candidate_gets_a_stable_branch_and_no_tag(release_settings, remotes, helm, tmp_path):
    tag_gitlab(remotes, tmp_path, "11.2.0-rc1")
    master = helm.sha("master")

    lines = release(release_settings(), "", "11.2.0-rc1")

    # Derived from master (0.3.1, shipping `master`): a new GitLab minor is a new chart minor.
    assert chart(helm, "0-4-stable") == ("0.4.0", "11.2.0-rc1")
    assert subchart(helm, "0-4-stable", "unicorn") == ("0.4.0", "11.2.0-rc1")
    assert subchart(helm, "0-4-stable", "gitaly") == ("0.4.0", "0.117.0")  # gitlab-ee's v11.2.0-rc1-ee
    assert subchart(helm, "0-4-stable", "gitlab-shell") == ("0.4.0", "7.1.4")
    assert subchart(helm, "0-4-stable", "registry") == ("0.4.0", "v2.6.2")  # not GitLab's: version only
    assert helm.show("0-4-stable", "charts/minio/Chart.yaml") == MINIO_CHART  # a third-party chart
    assert helm.messages("0-4-stable", 1) == ["Update Chart Version to 0.4.0\n\nUpdate Gitlab Version to 11.2.0-rc1"]
    assert "v0.4.0" not in helm.tags()
    assert helm.sha("master") == master  # no changelog for an RC, no version bump
    assert "changelogs/unreleased/registry-storage.yml" in helm.files("0-4-stable", "changelogs")
    assert lines == [("push charts/gitlab 0-4-stable (new branch) to gitlab", "done")]


def test_final_release_tags_compiles_the_changelog_and_raises_master(release_settings, remotes, helm, tmp_path):
    tag_gitlab(remotes, tmp_path, "11.2.0")

    lines = release(release_settings(), "0.4.0", "11.2.0")

    assert chart(helm, "0-4-stable") == ("0.4.0", "11.2.0")
    tag = helm.tags()["v0.4.0"]
    assert (tag.commit, tag.message) == (helm.sha("0-4-stable"), "Version v0.4.0")
    assert helm.subjects("0-4-stable", 2) == ["Update Chart Version to 0.4.0", "Update CHANGELOG.md for 0.4.0"]
    changelog = helm.show("0-4-stable", "CHANGELOG.md")
    assert changelog.startswith(
        "# GitLab chart changelog\n\n## 0.4.0 (2018-07-25)\n\n"
        "### Fixed (1 change)\n\n- Fix the ingress annotations. !410\n\n"
        "### Added (1 change)\n\n- Add a registry storage setting. !415\n\n\n## 0.3.1 (2018-07-10)"
    )
    assert helm.files("0-4-stable", "changelogs") == ["changelogs/unreleased/.gitkeep"]
    # master: the same changelog, and the chart version only (it keeps shipping `master`).
    assert helm.subjects("master", 2) == ["Update Chart Version to 0.4.0", "Update CHANGELOG.md for 0.4.0"]
    assert chart(helm, "master") == ("0.4.0", "master")
    assert subchart(helm, "master", "unicorn") == ("0.2.0", "master")
    assert helm.show("master", "CHANGELOG.md").startswith("# GitLab chart changelog\n\n## 0.4.0 (2018-07-25)")
    assert lines == [("push charts/gitlab 0-4-stable (new branch), master, tag v0.4.0 to gitlab", "done")]


def test_patch_of_the_newest_line_increments_its_last_tag_and_raises_master(release_settings, remotes, helm, tmp_path):
    tag_gitlab(remotes, tmp_path, "11.1.2")

    release(release_settings(), "", "11.1.2")

    assert chart(helm, "0-3-stable") == ("0.3.2", "11.1.2")
    assert helm.tags()["v0.3.2"].commit == helm.sha("0-3-stable")
    assert subchart(helm, "0-3-stable", "gitlab-shell") == ("0.3.2", "7.1.4")
    assert chart(helm, "master") == ("0.3.2", "master")


def test_patch_of_an_older_line_builds_on_that_line_and_leaves_masters_version(
    release_settings, remotes, helm, tmp_path
):
    tag_gitlab(remotes, tmp_path, "11.0.2")

    release(release_settings(), "", "11.0.2")

    # The newest tag overall is v0.3.1 (11.1.1); the original would have made 0.3.2 of 11.0.2.
    assert chart(helm, "0-2-stable") == ("0.2.2", "11.0.2")
    assert helm.tags()["v0.2.2"].commit == helm.sha("0-2-stable")
    assert helm.subjects("master", 1) == ["Update CHANGELOG.md for 0.2.2"]
    assert chart(helm, "master") == ("0.3.1", "master")


def test_chart_only_release_keeps_the_gitlab_version(release_settings, helm):
    release(release_settings(), "0.3.2", "")

    assert chart(helm, "0-3-stable") == ("0.3.2", "11.1.1")
    assert subchart(helm, "0-3-stable", "unicorn") == ("0.3.2", "11.1.1")
    assert helm.messages("0-3-stable", 1) == ["Update Chart Version to 0.3.2"]
    assert "v0.3.2" in helm.tags()
    assert chart(helm, "master") == ("0.3.2", "master")


def test_patch_without_a_tag_of_its_line_is_refused_before_anything_is_pushed(release_settings, remotes, helm):
    before = helm.digest()

    with pytest.raises(
        ReleaseStateError, match=r"no chart tag ships GitLab 10\.8\.x.*invoke helm\.tag_chart X\.Y\.Z 10\.8\.7"
    ):
        release(release_settings(), "", "10.8.7")

    assert helm.digest() == before


def test_a_missing_gitlab_tag_stops_the_release_before_anything_is_pushed(release_settings, helm):
    before = helm.digest()

    with pytest.raises(ReleaseStateError, match="gitlab-ee has no tag v11.1.2-ee on dev.*tag GitLab 11.1.2 first"):
        release(release_settings(), "", "11.1.2")

    assert helm.digest() == before


@pytest.mark.parametrize("gitaly", ["0.117.0\nversion: 9.9.9", "0.117.0 # x", "'0.117.0'", "0.117.0\x1b[2K"],
                         ids=["new-line", "comment", "quoted", "escape"])
def test_a_component_version_that_is_not_one_word_is_refused_before_anything_is_pushed(
    release_settings, remotes, helm, tmp_path, gitaly
):
    tag_gitlab(remotes, tmp_path, "11.2.0-rc1", gitaly=gitaly)
    before = helm.digest()

    with pytest.raises(ReleaseStateError) as raised:
        release(release_settings(), "", "11.2.0-rc1")

    message = str(raised.value)
    assert message.startswith("gitlab-org/gitlab-ee v11.2.0-rc1-ee has GITALY_SERVER_VERSION ") and "\n" not in message
    assert "which is no version a subchart's appVersion can be" in message
    assert helm.digest() == before


def test_a_subchart_without_a_version_line_is_an_error_naming_it_before_anything_is_pushed(
    release_settings, remotes, helm, tmp_path
):
    tag_gitlab(remotes, tmp_path, "11.2.0-rc1")
    helm.commit("master", {f"{SUBCHARTS_DIR}/gitaly/Chart.yaml": "name: gitaly\n"}, "Break gitaly's chart", tmp_path)
    before = helm.digest()

    with pytest.raises(ChartFileError) as raised:
        release(release_settings(), "", "11.2.0-rc1")

    assert str(raised.value) == f"{SUBCHARTS_DIR}/gitaly/Chart.yaml on 0-4-stable has no top-level version line to update"
    assert helm.digest() == before


def test_rerun_pushes_nothing_and_derives_the_same_version(release_settings, remotes, helm, tmp_path):
    tag_gitlab(remotes, tmp_path, "11.2.0")
    release(release_settings(), "", "11.2.0")
    after_first = helm.digest()

    lines = release(release_settings(), "", "11.2.0")

    assert lines == [("push charts/gitlab 0-4-stable, master, tag v0.4.0 to gitlab", "already_done")]
    assert helm.digest() == after_first


# -- dry runs and security ------------------------------------------------------------------


def test_dry_run_prepares_everything_and_pushes_nothing(release_settings, remotes, helm, tmp_path, capsys):
    tag_gitlab(remotes, tmp_path, "11.1.2")
    before = helm.digest()

    lines = release(release_settings(dry_run=True), "", "11.1.2")

    assert lines == [("push charts/gitlab 0-3-stable, master, tag v0.3.2 to gitlab", "to_do")]
    assert "0-3-stable: " in capsys.readouterr().out and helm.digest() == before


def test_security_release_refuses_the_chart_without_cloning(release_settings, helm, capsys):
    before = helm.digest()

    with pytest.raises(ConfigurationError, match=r"the Helm chart \(charts/gitlab\) has no dev remote"):
        release(release_settings(security=True), "0.3.2", "11.1.2")

    assert helm.digest() == before
    assert "git clone" not in capsys.readouterr().out
