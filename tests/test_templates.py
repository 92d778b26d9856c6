"""The issue templates: every version form they interpolate comes from the Version model,
and a missing value is an error rather than a silent gap."""

from __future__ import annotations

import re

import jinja2
import pytest

from release_tools import issues
from release_tools.templates import render
from release_tools.version import Version

VERSIONS = ["11.1.0", "11.1.3", "11.1.0-rc4", "11.10.12", "9.0.0-rc1", "11.1.3-ee"]
BUILDERS = ["monthly_issue", "patch_issue", "security_patch_issue"]


@pytest.mark.parametrize("text", VERSIONS)
@pytest.mark.parametrize("build", BUILDERS)
def test_every_template_renders_every_version_form(settings, build, text):
    version = Version.parse(text)
    spec = getattr(issues, build)(settings, version)

    body = spec.description(settings)

    assert "{{" not in body and "{%" not in body
    assert "\n\n\n" not in body, "template control lines left blank lines behind"
    assert body.endswith("\n")
    minor = f"{version.major}.{version.minor}"
    assert minor == version.milestone_name
    if spec.kind == "monthly":
        assert f'/milestone %"{minor}"' in body
        assert f"`{version.stable_branch()}`" in body and f"`{version.stable_branch(ee=True)}`" in body
        assert f"/chatops run tag {version.to_patch()}" in body
        assert f"-v {version.to_patch()}-ee.0" in body
        assert f"#f_release_{version.major}_{version.minor}" in body
    else:
        assert f"`{version.stable_branch()}`" in body and f"`{version.stable_branch(ee=True)}`" in body
        assert f"/commits/{version.to_omnibus(ee=True)}" in body
        assert f"/commits/{version.to_omnibus(ee=False)}" in body
        assert f"Pick into {minor}" in body or spec.kind == "security_patch"


@pytest.mark.parametrize("text", ["11.1.3", "11.1.0-rc4"])
def test_patch_and_rc_templates_name_their_deploy_versions(settings, text):
    version = Version.parse(text)
    body = issues.patch_issue(settings, version).description(settings)

    deploy = f"{version}.ee.0" if version.is_rc else f"{version}-ee.0"
    assert f"bin/takeoff-deploy -v {deploy} -w" in body
    assert f"invoke patch_merge_request {version}" in body
    assert ("/due in 7 days" in body) is (not version.is_rc)


def test_security_template_uses_the_previous_ee_tag_or_a_placeholder(settings):
    patch = issues.security_patch_issue(settings, Version.parse("11.1.2")).description(settings)
    monthly = issues.security_patch_issue(settings, Version.parse("11.1.0")).description(settings)

    assert "git diff -M v11.1.1-ee..11-1-stable-ee" in patch
    assert "git diff -M v<PREVIOUS_TAG>-ee..11-1-stable-ee" in monthly
    assert "/chatops run tag --security 11.1.2" in patch
    assert f"/commits/{Version.parse('11.1.2').to_omnibus()}" in patch


def test_links_follow_the_configured_instances(settings):
    body = issues.patch_issue(settings, Version.parse("11.1.3")).description(settings)

    dev = settings.instance("dev").url
    production = settings.instance("production").url
    assert f"]: {dev}/gitlab/gitlabhq/commits/11-1-stable\n" in body
    assert f"]: {production}/gitlab-org/gitlab-ee/commits/11-1-stable-ee\n" in body
    # Every reference-style link used is defined exactly once.
    used = set(re.findall(r"\]\[([\w-]+)\]", body))
    defined = re.findall(r"^\[([\w-]+)\]: ", body, flags=re.M)
    assert used == set(defined) and len(defined) == len(set(defined))


@pytest.mark.parametrize("template", ["monthly.md.j2", "patch.md.j2", "release_candidate.md.j2", "security_patch.md.j2"])
def test_a_missing_value_is_an_error_not_an_empty_string(settings, template):
    context = issues.release_context(settings, Version.parse("11.1.3"))
    del context["stable_branch"]

    with pytest.raises(jinja2.UndefinedError, match="stable_branch"):
        render(settings.templates_dir, template, **context)


def test_the_shipped_templates_are_the_packages(settings):
    from pathlib import Path

    import release_tools

    context = issues.release_context(settings, Version.parse("11.1.0"))
    shipped = Path(release_tools.__file__).parent / "templates" / "monthly.md.j2"

    assert settings.templates_dir is None  # package data, wherever the package is installed
    assert render(None, "monthly.md.j2", **context) == jinja2.Environment(
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True
    ).from_string(shipped.read_text()).render(**context)


def test_a_configured_templates_dir_replaces_the_shipped_templates_relative_to_the_project(tmp_path):
    from release_tools.config import Settings

    (tmp_path / "wording").mkdir()
    (tmp_path / "wording" / "monthly.md.j2").write_text("Acme release {{ version }}\n")

    settings = Settings.from_mapping({"env_file": "", "templates_dir": "wording"}, environ={}, project_dir=tmp_path)
    spec = issues.monthly_issue(settings, Version.parse("11.1.0"))

    assert settings.templates_dir == tmp_path / "wording"
    assert spec.description(settings) == "Acme release 11.1.0\n"
