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


# -- the plan as JSON, a failure mid-plan, the re-run ---------------------------------------------


STEP = "push charts/gitlab 0-3-stable, master, tag v0.3.2 to gitlab"


def test_json_of_a_dry_run_a_real_run_and_a_rerun(invoke, config, remotes):
    helm = remotes("helm", "gitlab")
    before = helm.digest()

    dry = json.loads(invoke("-f", config, "helm.tag_chart", "--json", "--dry-run", "0.3.2", "").stdout)
    assert helm.digest() == before
    first = json.loads(invoke("-f", config, "helm.tag_chart", "--json", "0.3.2", "").stdout)
    after_first = helm.digest()
    second = json.loads(invoke("-f", config, "helm.tag_chart", "--json", "0.3.2", "").stdout)

    def steps(document):
        return [(step["kind"], step["summary"], step["state"]) for step in document["steps"]]

    assert (dry["task"], dry["status"], steps(dry)) == ("helm.tag_chart", "dry_run", [("git.push", STEP, "to_do")])
    assert dry["steps"][0]["target"] == {
        "project": "charts/gitlab",
        "remote": "gitlab",
        "refs": ["refs/heads/0-3-stable", "refs/heads/master", "refs/tags/v0.3.2"],
    }
    assert (first["status"], steps(first)) == ("done", [("git.push", STEP, "done")])
    assert (second["status"], steps(second)) == ("nothing_to_do", [("git.push", STEP, "already_done")])
    assert helm.digest() == after_first and "v0.3.2" in helm.tags()


def test_a_refused_push_is_the_failed_step_in_text_and_json(invoke, config, remotes):
    remotes("helm", "gitlab").refuse_next_push("pushes are frozen")

    text = invoke("-f", config, "helm.tag_chart", "0.3.2", "")
    remotes("helm", "gitlab").refuse_next_push("pushes are frozen")
    document = json.loads(invoke("-f", config, "helm.tag_chart", "--json", "0.3.2", "").stdout)

    assert text.returncode == 1
    assert f"\n✗ {STEP}: git push to gitlab failed: refs/heads/0-3-stable [remote rejected]" in text.stdout
    assert text.stdout.endswith("Failed: 1 failed.\n")
    assert (document["status"], document["exit_status"], document["steps"][0]["state"]) == ("failed", 1, "failed")
    assert "v0.3.2" not in remotes("helm", "gitlab").tags()


@pytest.mark.parametrize(
    "text, detail",
    [
        ("version: [\n", "Chart.yaml on master is not valid YAML: expected the node content, but found '<stream end>' (line 2, column 1)"),
        ("version: 0.3.1\x07\n", "Chart.yaml on master is not valid YAML: unacceptable character #x0007: special characters are not allowed"),
        ("- version: 0.3.1\n", "Chart.yaml on master holds a list, not a mapping with a top-level version"),
        ("name: gitlab\n", "Chart.yaml on master has no top-level version"),
        ("version: {major: 0}\n", "version in Chart.yaml on master is a mapping, not text"),
        ("version: [" * 2000 + "\n", "Chart.yaml on master is nested too deeply to be read"),
    ],
    ids=["syntax", "control-character", "list", "no-version", "mapping-version", "deep"],
)
def test_a_malformed_chart_yaml_is_one_line_naming_it_and_pushes_nothing(invoke, config, remotes, tmp_path, text, detail):
    remotes("helm", "gitlab").commit("master", {"Chart.yaml": text}, "Break Chart.yaml", tmp_path)
    before = remotes.digests()

    result = invoke("-f", config, "helm.tag_chart", "", "11.2.0")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"Error: {detail}"
    assert "Traceback" not in result.stderr
    assert remotes.digests() == before
