"""Helm chart versions, Chart.yaml edits and the next-chart-version rule (pure)."""

from __future__ import annotations

import pytest

from release_tools.errors import InvalidVersionError
from release_tools.helm import (
    ChartFileError,
    ChartVersion,
    change_kind,
    next_chart_version,
    parse_app_version,
    read_chart,
    update_chart,
)
from release_tools.version import Version

CHART = """\
# The GitLab chart
name: gitlab
version: 0.3.5  # bumped by release-tools
appVersion: 11.1.4
description: GitLab is the most comprehensive...
dependencies: []
"""


def test_chart_version_names():
    version = ChartVersion.parse("0.3.0")
    assert (str(version), version.tag, version.stable_branch) == ("0.3.0", "v0.3.0", "0-3-stable")


@pytest.mark.parametrize("text", ["0.3", "v0.3.0", "0.3.0-rc1", "", "x.y.z", "1.2.3.4"])
def test_chart_version_must_be_x_y_z(text):
    with pytest.raises(InvalidVersionError, match=r"^Version number must be in the following format: X\.Y\.Z"):
        ChartVersion.parse(text)


def test_app_version_refuses_ee():
    assert str(parse_app_version("11.2.0-rc3")) == "11.2.0-rc3"
    with pytest.raises(InvalidVersionError, match="without -ee"):
        parse_app_version("11.2.0-ee")


@pytest.mark.parametrize(
    "new, old, kind",
    [
        ("12.0.0", "11.9.3", "major"),
        ("11.2.0", "11.1.4", "minor"),
        ("11.1.5", "11.1.4", "patch"),
        ("11.2.0-rc2", "11.2.0-rc1", "rc"),
        ("11.2.0", "11.2.0-rc9", "rc"),
        ("11.1.4", "11.1.4", None),
        ("12.0.0", None, "major"),
        ("11.2.0", None, "minor"),
        ("11.2.0-rc1", None, "minor"),
        ("11.2.3", None, "patch"),
    ],
)
def test_change_kind(new, old, kind):
    assert change_kind(Version.parse(new), Version.parse(old) if old else None) == kind


@pytest.mark.parametrize(
    "base, base_app, new_app, expected",
    [
        ("0.3.5", "11.1.4", "11.1.5", "0.3.6"),
        ("0.3.5", "11.1.4", "11.2.0", "0.4.0"),
        ("0.3.5", "11.9.4", "12.0.0", "1.0.0"),
        ("0.3.5", "11.2.0-rc1", "11.2.0-rc2", "0.3.5"),
        ("0.4.0", "master", "11.3.0", "0.5.0"),
        ("0.4.0", "", "11.3.2", "0.4.1"),
    ],
)
def test_next_chart_version(base, base_app, new_app, expected):
    assert str(next_chart_version(ChartVersion.parse(base), base_app, Version.parse(new_app))) == expected


def test_read_chart():
    assert read_chart(CHART) == ("0.3.5", "11.1.4")
    assert read_chart("version: 0.1.0\n") == ("0.1.0", "")


@pytest.mark.parametrize("text", ["name: gitlab\n", "version: [\n", "- a list\n"])
def test_read_chart_refuses_files_without_a_version(text):
    with pytest.raises(ChartFileError):
        read_chart(text)


def test_update_chart_changes_only_the_two_values():
    updated = update_chart(CHART, ChartVersion.parse("0.3.6"), Version.parse("11.1.5"))

    assert updated == CHART.replace("version: 0.3.5", "version: 0.3.6").replace("appVersion: 11.1.4", "appVersion: 11.1.5")
    assert read_chart(updated) == ("0.3.6", "11.1.5")


def test_update_chart_keeps_quotes_and_adds_a_missing_app_version():
    text = "apiVersion: v1\nversion: '0.2.0'\nname: gitlab\n  version: nested-stays\n"

    updated = update_chart(text, ChartVersion.parse("0.3.0"), Version.parse("11.2.0-rc1"))

    assert updated == "apiVersion: v1\nversion: '0.3.0'\nappVersion: 11.2.0-rc1\nname: gitlab\n  version: nested-stays\n"


def test_update_chart_chart_version_only_leaves_app_version():
    assert update_chart(CHART, ChartVersion.parse("0.4.0")) == CHART.replace("0.3.5", "0.4.0")


def test_update_chart_without_a_version_line_is_an_error():
    with pytest.raises(ChartFileError, match="no top-level version"):
        update_chart("name: gitlab\n", ChartVersion.parse("0.3.0"))
