"""`invoke tag`, `tag_security`, their legacy aliases and `sync`, run as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.slack_receiver import WEBHOOK_PATH


def test_list_shows_the_tagging_tasks_and_their_aliases(invoke):
    result = invoke("--list", "--list-format", "json")

    tasks = {t["name"]: t for t in json.loads(result.stdout)["tasks"]}
    assert tasks["tag"]["aliases"] == ["release"] and tasks["tag"]["help"]
    assert tasks["tag_security"]["aliases"] == ["security_release"]
    assert tasks["sync"]["help"]


@pytest.mark.parametrize("name", ["tag", "tag_security", "sync"])
def test_help_documents_the_switches(invoke, name):
    out = invoke("--help", name).stdout

    for flag in ("--dry-run", "--skip-ce", "--skip-ee", "--skip-omnibus"):
        assert flag in out
    assert "CE=false" in out and "OG=false" in out


def test_tag_releases_every_edition_and_announces_it_without_leaking_the_webhook(invoke, config, remotes, slack):
    result = invoke("-f", config, "tag", "11.1.0", env={"SLACK_TAG_URL": slack.url})

    assert result.returncode == 0, result.stderr
    for remote in ("dev", "gitlab"):
        assert f"\n✓ push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to {remote}: " in result.stdout
        assert f"\n✓ push gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre to {remote}: " in result.stdout
    assert "\n✓ announce 11.1.0-ee on Slack: posted: _Rita Release_ tagged `11.1.0-ee`\n" in result.stdout
    assert result.stdout.endswith("Read back 8 changes.\nDone: 10 done.\n")
    assert [p["text"] for p in slack.posts] == ["_Rita Release_ tagged `11.1.0-ee`", "_Rita Release_ tagged `11.1.0`"]
    assert WEBHOOK_PATH not in result.output and "canary-slack-secret" not in result.output
    assert "v11.1.0" in remotes("ce", "gitlab").tags()


def test_release_alias_dry_run_changes_nothing(invoke, config, remotes, slack):
    before = remotes.digests()

    result = invoke("-f", config, "release", "11.1.0", env={"TEST": "true", "SLACK_TAG_URL": slack.url})

    assert result.returncode == 0, result.stderr
    for remote in ("dev", "gitlab"):
        assert f"\n  · push gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre to {remote}\n" in result.stdout
    assert result.stdout.endswith("Dry run: 10 steps would be carried out; nothing was changed.\n")
    assert remotes.digests() == before and slack.posts == []


def test_security_release_alias_touches_only_dev(invoke, config, remotes):
    public = {p: remotes(p, "gitlab").digest() for p in ("ce", "ee", "omnibus")}

    result = invoke("-f", config, "security_release", "11.1.1", "--skip-omnibus")

    assert result.returncode == 0, result.stderr
    assert {p: remotes(p, "gitlab").digest() for p in public} == public
    assert "v11.1.1" in remotes("ce", "dev").tags() and "v11.1.1-ee" in remotes("ee", "dev").tags()
    assert "Security release: using only the dev remotes!" in result.stdout


@pytest.mark.parametrize("bad", ["v11.1.0", "11.1.0.rc1", "wow"])
def test_bad_version_is_one_line_and_touches_nothing(invoke, config, remotes, bad):
    before = remotes.digests()

    result = invoke("-f", config, "tag", bad)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Version number must be in the following format") and result.stderr.count("\n") == 1
    assert remotes.digests() == before


def test_environment_configuration_and_legacy_skip_switches(invoke, remotes):
    before = {key: digest for key, digest in remotes.digests().items() if not key.startswith("ee/")}

    result = invoke("tag", "11.1.1", env={**remotes.env(), "CE": "false", "OG": "false"})

    assert result.returncode == 0, result.stderr
    assert "Skipping release for CE" in result.stdout and "Skipping omnibus-gitlab for EE" in result.stdout
    assert {key: digest for key, digest in remotes.digests().items() if not key.startswith("ee/")} == before
    assert "v11.1.1-ee" in remotes("ee", "gitlab").tags()


def test_a_refused_push_exits_1_naming_the_failed_step_gits_reason_and_what_was_not_reached(invoke, config, remotes):
    remotes("ce", "gitlab").refuse_next_push("branch is protected")

    result = invoke("-f", config, "tag", "11.1.1", "--skip-ee")

    assert result.returncode == 1
    assert "\n✓ push gitlab-ce 11-1-stable, master, tag v11.1.1 to dev: " in result.stdout
    assert (
        "\n✗ push gitlab-ce 11-1-stable, master, tag v11.1.1 to gitlab: "
        "git push to gitlab failed: refs/heads/11-1-stable [remote rejected] (pre-receive hook declined); "
    ) in result.stdout
    assert result.stdout.endswith(
        "Not reached: push omnibus-gitlab 11-1-stable, master, tag 11.1.1+ce.0 to dev; "
        "push omnibus-gitlab 11-1-stable, master, tag 11.1.1+ce.0 to gitlab\n"
        "Failed: 1 done, 1 skipped, 1 failed, 2 not reached.\n"
    )
    assert "GL-HOOK-ERR: branch is protected" in result.stderr  # what the remote said


def test_sync_dry_run(invoke, config, remotes, tmp_path):
    remotes("ce", "gitlab").commit("master", {"x.rb": "x\n"}, "Ahead", tmp_path)
    before = remotes.digests()

    result = invoke("-f", config, "sync", "--dry-run", "--skip-ee", "--skip-omnibus")

    assert result.returncode == 0, result.stderr
    assert "\n  · push gitlab-ce master to dev\n  ✓ push gitlab-ce master to gitlab: already done\n" in result.stdout
    assert remotes.digests() == before


# -- the date changelogs are written for (release_tools.date, SOURCE_DATE_EPOCH) --------------


@pytest.mark.parametrize(
    "how, env, day",
    [
        ("SOURCE_DATE_EPOCH", {"SOURCE_DATE_EPOCH": "1532100600"}, "2018-07-20"),  # 2018-07-20 15:30 UTC
        ("release_tools.date", {"INVOKE_RELEASE_TOOLS_DATE": "2018-07-25"}, "2018-07-25"),
        ("both: the setting wins", {"INVOKE_RELEASE_TOOLS_DATE": "2018-07-25", "SOURCE_DATE_EPOCH": "1532100600"}, "2018-07-25"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_the_changelog_header_is_dated_by_the_date_that_was_set(invoke, config, remotes, how, env, day):
    result = invoke("-f", config, "tag", "11.1.1", "--skip-ee", "--skip-omnibus", env=env)

    assert result.returncode == 0, result.stderr
    assert f"Dated {day}" in result.stdout
    for name in ("dev", "gitlab"):
        for branch in ("11-1-stable", "master"):
            assert f"\n## 11.1.1 ({day})\n" in remotes("ce", name).show(branch, "CHANGELOG.md")


def test_a_monthly_release_dated_before_the_22nd_is_dated_the_22nd(invoke, tmp_path, remotes):
    config = tmp_path / "dated.yaml"
    config.write_text(remotes.yaml() + "  date: 2018-07-10\n")  # an unquoted YAML date

    result = invoke("-f", str(config), "tag", "11.1.0", "--skip-ee", "--skip-omnibus")

    assert result.returncode == 0, result.stderr
    assert "\n## 11.1.0 (2018-07-22)\n" in remotes("ce", "gitlab").show("11-1-stable", "CHANGELOG.md")


@pytest.mark.parametrize(
    "env, named",
    [
        ({"SOURCE_DATE_EPOCH": "yesterday"}, "SOURCE_DATE_EPOCH must be a whole number of seconds"),
        ({"INVOKE_RELEASE_TOOLS_DATE": "2018-02-30"}, "release_tools.date must be a date YYYY-MM-DD"),
    ],
    ids=["SOURCE_DATE_EPOCH", "release_tools.date"],
)
def test_a_malformed_date_is_one_line_before_any_clone(invoke, config, remotes, env, named):
    before = remotes.digests()

    result = invoke("-f", config, "tag", "11.1.1", env=env)

    assert result.returncode == 1
    assert result.stdout == ""  # no git command was run, not even a clone
    assert result.stderr.startswith(f"Error: {named}") and result.stderr.count("\n") == 1
    assert remotes.digests() == before


@pytest.mark.parametrize("switch", [{"SECURITY": "true"}, {"INVOKE_RELEASE_TOOLS_SECURITY": "1"}], ids=["SECURITY", "setting"])
def test_sync_in_security_mode_is_refused_in_one_line_saying_why(invoke, config, remotes, switch):
    before = remotes.digests()

    result = invoke("-f", config, "sync", env=switch)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: sync makes master the same on the dev and the public remotes, and a security release uses only "
        "the dev remotes, so sync does not run in security mode: unset SECURITY (or release_tools.security)\n"
    )
    assert remotes.digests() == before


def test_a_failed_slack_post_is_a_warning_on_stderr_and_the_release_goes_on(invoke, config, remotes, slack):
    slack.fail(500)

    result = invoke("-f", config, "tag", "11.1.1", "--skip-omnibus", env={"SLACK_TAG_URL": slack.url})

    assert result.returncode == 0, result.stderr
    warning = "✗ announce 11.1.1-ee on Slack: Slack refused the message (500 Internal Server Error): check SLACK_TAG_URL\n"
    assert warning in result.stderr
    assert result.stdout.endswith("Done: 5 done, 1 failed.\n")  # a warning: the exit status is 0
    assert "v11.1.1" in remotes("ce", "gitlab").tags()


# -- git's own progress, on a terminal only ----------------------------------------------------


@pytest.fixture
def on_terminal(tmp_path, config, fake_gitlab, fake_dev):
    """Run `invoke -f CONFIG ARGS` with stdin, stdout and stderr on a pseudo-terminal."""
    import os

    from tests.repos import GIT_ENV
    from tests.test_boundary import run_on_terminal

    home = tmp_path / "terminal-home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **GIT_ENV}

    def run(*args: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
        return run_on_terminal(["-f", config, *args], None, {**env, **(extra or {})})

    return run


#: What git's progress meters say while cloning and pushing.
CLONE_PROGRESS, PUSH_PROGRESS = "Receiving objects:", "Writing objects:"


def test_on_a_terminal_clones_and_pushes_show_gits_progress(on_terminal, remotes):
    status, printed = on_terminal("tag", "11.1.1", "--skip-ee", "--skip-omnibus", "--yes")

    assert status == 0, printed
    assert CLONE_PROGRESS in printed and PUSH_PROGRESS in printed
    assert "v11.1.1" in remotes("ce", "gitlab").tags()


def test_with_progress_on_a_terminal_a_refused_push_still_names_gits_reason(on_terminal, remotes):
    remotes("ce", "gitlab").refuse_next_push("branch is protected")

    status, printed = on_terminal("tag", "11.1.1", "--skip-ee", "--skip-omnibus", "--yes")

    assert status == 1
    assert PUSH_PROGRESS in printed
    assert "✗ push gitlab-ce 11-1-stable, master, tag v11.1.1 to gitlab: git push to gitlab failed: " in printed
    assert "GL-HOOK-ERR: branch is protected" in printed


@pytest.mark.parametrize("how", [{"extra": {"CI": "true"}}, {"args": ("--json",)}], ids=["CI", "--json"])
def test_in_ci_and_with_json_git_stays_quiet_even_on_a_terminal(on_terminal, remotes, how):
    status, printed = on_terminal("tag", "11.1.1", "--skip-ee", "--skip-omnibus", "--yes", *how.get("args", ()),
                                  extra=how.get("extra"))

    assert status == 0, printed
    assert CLONE_PROGRESS not in printed and PUSH_PROGRESS not in printed
    assert "v11.1.1" in remotes("ce", "gitlab").tags()


def test_without_a_terminal_git_stays_quiet(invoke, config, remotes):
    result = invoke("-f", config, "tag", "11.1.1", "--skip-ee", "--skip-omnibus")

    assert result.returncode == 0, result.stderr
    assert CLONE_PROGRESS not in result.output and PUSH_PROGRESS not in result.output


# -- the plan as JSON, failures mid-plan, re-runs, invoke's own dry run --------------------------


def kinds_and_states(document):
    return [(step["kind"], step["summary"], step["state"]) for step in document["steps"]]


def test_json_of_a_dry_run_lists_every_step_and_pushes_nothing(invoke, config, remotes):
    before = remotes.digests()

    result = invoke("-f", config, "tag", "--dry-run", "--json", "11.1.0")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["task"], document["subject"], document["status"], document["dry_run"]) == ("tag", "11.1.0", "dry_run", True)
    steps = kinds_and_states(document)
    assert len(steps) == 10 and steps[0] == ("git.push", "push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to dev", "to_do")
    assert steps[4] == ("slack.post", "announce 11.1.0-ee on Slack", "skipped")
    assert document["steps"][6]["target"] == {
        "project": "gitlab-org/gitlab-ce",
        "remote": "gitlab",
        "refs": ["refs/heads/11-1-stable", "refs/heads/master", "refs/tags/v11.1.0", "refs/tags/v11.2.0.pre"],
    }
    assert "Plan for tag 11.1.0:" in result.stderr  # progress goes to stderr
    assert remotes.digests() == before


def test_json_of_a_real_run_then_a_rerun_that_finds_every_step_done_and_changes_nothing(invoke, config, remotes, slack):
    env = {"SLACK_TAG_URL": slack.url}

    first = json.loads(invoke("-f", config, "tag", "--json", "11.1.0", env=env).stdout)
    after_first, posts = remotes.digests(), len(slack.posts)
    second = json.loads(invoke("-f", config, "tag", "--json", "11.1.0", env=env).stdout)

    assert (first["status"], first["exit_status"]) == ("done", 0)
    assert {step["state"] for step in first["steps"]} == {"done"} and posts == 2
    assert all(step["result"] for step in first["steps"])
    assert (second["status"], second["exit_status"]) == ("nothing_to_do", 0)
    assert {step["state"] for step in second["steps"]} == {"already_done"}
    assert [s["summary"] for s in second["steps"]] == [s["summary"] for s in first["steps"]]
    assert remotes.digests() == after_first and len(slack.posts) == posts  # nothing changed, nothing posted


def test_a_push_refused_mid_plan_is_the_failed_step_in_json_and_the_rest_not_reached(invoke, config, remotes):
    remotes("omnibus", "gitlab").refuse_next_push("pushes are frozen")

    result = invoke("-f", config, "tag", "--json", "11.1.0")

    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["status"], document["exit_status"]) == ("failed", 1)
    states = [(step["summary"], step["state"]) for step in document["steps"]]
    assert [state for _, state in states] == ["done", "done", "done", "failed"] + ["skipped"] + ["not_reached"] * 4 + ["skipped"]
    assert states[3][0] == "push omnibus-gitlab 11-1-stable-ee, tag 11.1.0+ee.0 to gitlab"
    assert document["steps"][3]["reason"].startswith("git push to gitlab failed: refs/heads/11-1-stable-ee [remote rejected]")
    assert "✗ push omnibus-gitlab 11-1-stable-ee, tag 11.1.0+ee.0 to gitlab: git push to gitlab failed" in result.stderr
    assert "Not reached: push gitlab-ce 11-1-stable, master, tag v11.1.0, tag v11.2.0.pre to dev; " in result.stderr
    assert "v11.1.0" not in remotes("ce", "dev").tags() and "11.1.0+ee.0" in remotes("omnibus", "dev").tags()


def test_json_of_tag_security_targets_only_dev_and_its_real_run_leaves_the_public_remotes_as_they_were(invoke, config, remotes):
    public = {name: digest for name, digest in remotes.digests().items() if name.endswith("/gitlab")}

    dry = json.loads(invoke("-f", config, "tag_security", "--dry-run", "--json", "11.1.1").stdout)
    real = json.loads(invoke("-f", config, "tag_security", "--json", "11.1.1").stdout)

    pushes = [step for document in (dry, real) for step in document["steps"] if step["kind"] == "git.push"]
    assert (dry["security"], real["security"], real["status"]) == (True, True, "done")
    assert len(pushes) == 2 * 4 and {step["target"]["remote"] for step in pushes} == {"dev"}  # EE, CE, omnibus twice
    assert "v11.1.1" in remotes("ce", "dev").tags()
    assert {name: digest for name, digest in remotes.digests().items() if name.endswith("/gitlab")} == public


@pytest.mark.parametrize("flag", ["-R", "--dry"])
def test_invokes_own_dry_run_of_tag_pushes_nothing(invoke, config, remotes, slack, flag):
    before = remotes.digests()

    result = invoke(flag, "-f", config, "tag", "11.1.0", env={"SLACK_TAG_URL": slack.url})

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("Dry run: 10 steps would be carried out; nothing was changed.\n")
    assert remotes.digests() == before and slack.posts == []


def test_json_of_sync_and_of_its_rerun(invoke, config, remotes, tmp_path):
    remotes("ee", "dev").commit("master", {"x.rb": "x\n"}, "Ahead on dev", tmp_path)
    before = remotes.digests()

    dry = json.loads(invoke("-f", config, "sync", "--dry-run", "--json").stdout)
    assert remotes.digests() == before
    first = json.loads(invoke("-f", config, "sync", "--json").stdout)
    after_first = remotes.digests()
    second = json.loads(invoke("-f", config, "sync", "--json").stdout)

    pending = ("git.push", "push gitlab-ee master to gitlab")
    assert (dry["status"], kinds_and_states(dry)[1]) == ("dry_run", (*pending, "to_do"))
    assert (first["status"], kinds_and_states(first)[1]) == ("done", (*pending, "done"))
    assert [state for _, _, state in kinds_and_states(first)] == ["already_done", "done"] + ["already_done"] * 4
    assert second["status"] == "nothing_to_do" and {s["state"] for s in second["steps"]} == {"already_done"}
    assert remotes.digests() == after_first
    assert remotes("ee", "gitlab").sha("master") == remotes("ee", "dev").sha("master")
