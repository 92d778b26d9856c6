"""The `invoke` command line as users run it: listing, help, exit codes, dry runs,
configuration layers and tokens. Each test runs the real CLI as a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.config_cases import BAD_CONFIGURATIONS
from tests.conftest import PRODUCTION_TOKEN, RELEASE_TASKS, ROOT
from release_tools.sandbox import add_milestone

ISSUE_TASKS = ["monthly_issue", "patch_issue", "security_patch_issue", "release_issue"]


def test_list_shows_every_task_with_a_one_line_help(invoke):
    result = invoke("--list", "--list-format", "json")

    assert result.returncode == 0
    import json

    tasks = {t["name"]: t["help"] for t in json.loads(result.stdout)["tasks"]}
    for name in ISSUE_TASKS:
        assert tasks[name], f"{name} has no help line"


@pytest.mark.parametrize("name", ISSUE_TASKS)
def test_help_documents_every_argument(invoke, name):
    result = invoke("--help", name)

    assert result.returncode == 0
    assert "--version=STRING" in result.stdout
    assert "--dry-run" in result.stdout and "TEST=true" in result.stdout


#: How an issue task's dry run starts: the plan, what it would create and where, filed how.
MONTHLY_DRY_RUN = (
    "Plan for monthly_issue 11.1.0:\n"
    "  Dry run without GITLAB_API_PRIVATE_TOKEN: GitLab was not asked whether the issue exists.\n"
    '  ? create the monthly release issue "Release 11.1" in gitlab-org/release/tasks: not looked up\n'
    "      public; label Release; milestone 11.1\n"
)
SECURITY_DRY_RUN = (
    "Plan for release_issue 11.1.2 (security release: dev only):\n"
    '  · create the confidential security release issue "Release 11.1.2" in gitlab-org/release/tasks\n'
    "      confidential; labels Release, security; milestone 11.1\n"
)
DRY_RUN_END = "Dry run: 1 step would be carried out; nothing was changed.\n"


def test_dry_run_with_test_variable_prints_the_issue_and_makes_no_request(invoke, fake_gitlab, fake_dev):
    result = invoke("monthly_issue", "11.1.0", env={"TEST": "true"}, tokens=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(MONTHLY_DRY_RUN + "\n# Release 11.1\n\n## Kick-off")
    assert "/milestone %\"11.1\"" in result.stdout
    assert result.stdout.endswith(DRY_RUN_END)
    assert fake_gitlab.requests() == [] and fake_dev.requests() == []


def test_dry_run_flag_works_like_the_test_variable(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("release_issue", "--dry-run", "--security", "11.1.2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(SECURITY_DRY_RUN + "\n# Release 11.1.2\n\n## Ground rules")
    # With a token, a dry run looks (the issue, the milestone) and writes nothing.
    assert fake_gitlab.log != [] and fake_gitlab.mutations() == []


def test_invokes_own_dry_run_is_a_dry_run_of_the_task(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("-R", "monthly_issue", "11.1.0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(DRY_RUN_END)
    assert fake_gitlab.mutations() == [] and fake_gitlab.table("issues") == []


def test_a_dry_run_with_a_token_fails_where_the_real_run_would(invoke, fake_gitlab):
    result = invoke("monthly_issue", "--dry-run", "11.1.0")  # no milestone 11.1

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Milestone 11.1 not found in gitlab-org/release/tasks")
    assert fake_gitlab.mutations() == []


@pytest.mark.parametrize(
    "switch", [{"SECURITY": "true"}, {"INVOKE_RELEASE_TOOLS_SECURITY": "1"}], ids=["SECURITY", "setting"]
)
def test_release_issue_in_security_mode_is_the_confidential_issue_not_a_public_patch_issue(invoke, fake_gitlab, switch):
    # A public "Release 11.1.2" patch issue would announce the security release.
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    result = invoke("release_issue", "11.1.2", env={"TEST": "true", **switch})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(SECURITY_DRY_RUN + "\n# Release 11.1.2\n\n## Ground rules")


@pytest.mark.parametrize("name", ISSUE_TASKS)
@pytest.mark.parametrize("bad", ["wow", "v11.1.0", "11.1.0.rc1", "11.1.0-rc"])
def test_bad_version_exits_1_with_one_line_and_no_request(invoke, fake_gitlab, name, bad):
    result = invoke(name, bad)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Version number must be in the following format: X.Y.Z-rc1 or X.Y.Z")
    assert fake_gitlab.log == []


def test_missing_version_argument_is_refused(invoke, fake_gitlab):
    result = invoke("patch_issue")

    assert result.returncode != 0
    assert "version" in result.stderr
    assert fake_gitlab.log == []


def test_real_run_creates_then_finds_the_issue(invoke, fake_gitlab):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")

    first = invoke("patch_issue", "11.1.0-rc2")
    second = invoke("patch_issue", "11.1.0-rc2")

    url = fake_gitlab.table("issues")[0]["web_url"]
    assert first.returncode == 0, first.stderr
    step = 'create the release candidate issue "Release 11.1.0-rc2" in gitlab-org/release/tasks'
    assert first.stdout.endswith(f"✓ {step}: {url}\nRead back 1 change.\nDone: 1 done.\n")
    assert f"  ✓ {step}: already done; {url}\n" in second.stdout
    assert second.stdout.endswith("Nothing to do: every step is done already.\n")
    assert len(fake_gitlab.table("issues")) == 1


def test_wrong_token_is_one_line_naming_the_variable_not_the_token(invoke, fake_gitlab):
    result = invoke("monthly_issue", "11.1.0", env={"GITLAB_API_PRIVATE_TOKEN": "nope-" + PRODUCTION_TOKEN[::-1]})

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "(401 Unauthorized)" in result.stderr and "check GITLAB_API_PRIVATE_TOKEN" in result.stderr
    assert PRODUCTION_TOKEN[::-1] not in result.output
    assert fake_gitlab.mutations() == []


def test_missing_token_is_one_line_and_no_request(invoke, fake_gitlab):
    result = invoke("monthly_issue", "11.1.0", tokens=False)

    assert result.returncode == 1
    assert result.stderr == (
        "Error: GITLAB_API_PRIVATE_TOKEN is not set: export it or put it in the .env file "
        f"(needed to talk to {fake_gitlab.url.split('//')[1]})\n"
    )
    assert fake_gitlab.log == []


def test_token_can_come_from_the_env_file(invoke, fake_gitlab, tmp_path):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    (workdir / ".env").write_text(f"GITLAB_API_PRIVATE_TOKEN={PRODUCTION_TOKEN}\n")

    result = invoke("monthly_issue", "11.1.0", tokens=False, cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert fake_gitlab.table("issues") and "Done: 1 done." in result.stdout


def test_configuration_file_given_with_f_overrides_the_defaults(invoke, fake_gitlab, tmp_path):
    from release_tools.sandbox import add_project

    add_project(fake_gitlab, "acme/release-tasks")
    add_milestone(fake_gitlab, "acme", "11.1", group=True)
    config = tmp_path / "release.yaml"
    config.write_text(
        "release_tools:\n"
        "  projects:\n"
        "    release_tasks:\n"
        "      path: acme/release-tasks\n"
        "  milestone_group: acme\n"
        "  labels:\n"
        "    release: Shipping\n"
    )

    result = invoke("-f", str(config), "monthly_issue", "11.1.0")

    assert result.returncode == 0, result.stderr
    [issue] = fake_gitlab.table("issues")
    assert issue["web_url"].endswith("/acme/release-tasks/issues/1")
    assert issue["labels"] == ["Shipping"]


def test_user_configuration_and_environment_variables_override_the_defaults(invoke, fake_gitlab, tmp_path):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    (tmp_path / "home" / ".invoke.yaml").write_text("release_tools:\n  labels:\n    release: FromHome\n")

    from_home = invoke("monthly_issue", "11.1.0")
    from_env = invoke("patch_issue", "11.1.1", env={"INVOKE_RELEASE_TOOLS_LABELS_RELEASE": "FromEnv"})

    assert from_home.returncode == 0 and from_env.returncode == 0, from_home.stderr + from_env.stderr
    assert [i["labels"] for i in fake_gitlab.table("issues")] == [["FromHome"], ["FromEnv"]]


@pytest.mark.parametrize(
    "user_file, env, error",
    [
        ("release_tools:\n  labels: Release\n", {}, "Error: release_tools.labels must be a mapping of settings, not 'Release'"),
        ("release_tools:\n  api:\n    timeout:\n      read: 5\n", {},
         "Error: release_tools.api.timeout must be a single value or a list, not {'read': 5}"),
        ("", {"INVOKE_RELEASE_TOOLS_API_TIMEOUT": "soon"},
         "Error: INVOKE_RELEASE_TOOLS_API_TIMEOUT must be a whole number, not 'soon'"),
    ],
    ids=["value-for-mapping", "mapping-for-value", "variable-of-wrong-type"],
)
def test_configuration_invoke_cannot_merge_is_one_line_not_a_traceback(invoke, fake_gitlab, tmp_path, user_file, env, error):
    (tmp_path / "home" / ".invoke.yaml").write_text(user_file)

    result = invoke("monthly_issue", "11.1.0", env={"TEST": "true", **env})

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == error + "\n"


@pytest.mark.parametrize("text, variables, error", BAD_CONFIGURATIONS)
@pytest.mark.parametrize("named_by", ["-f", "INVOKE_RUNTIME_CONFIG"])
def test_a_bad_runtime_configuration_is_one_line_before_any_request(invoke, fake_gitlab, fake_dev, tmp_path, named_by,
                                                                    text, variables, error):
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")  # so that a run that went on would succeed
    path = tmp_path / "release.yaml"
    if text is not None:
        path.write_text(text)
    flag = ["-f", str(path)] if named_by == "-f" else []
    env = {**variables, **({"INVOKE_RUNTIME_CONFIG": str(path)} if named_by != "-f" else {})}

    result = invoke(*flag, "monthly_issue", "11.1.0", env=env)

    source = "given with -f" if named_by == "-f" else "named by INVOKE_RUNTIME_CONFIG"
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Error: " + error.format(path=str(path), source=source) + "\n"
    assert fake_gitlab.requests() == [] and fake_dev.requests() == []


def _imported_modules(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    code = (
        "import sys\n"
        "from invoke.main import program\n"
        f"program.run(['invoke', '--search-root', {str(ROOT)!r}, *{list(argv)!r}], exit=False)\n"
        "print(' '.join(m for m in ('gitlab', 'jinja2', 'requests') if m in sys.modules), file=sys.stderr)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "", **(env or {})}, timeout=60
    )
    return set(completed.stderr.strip().splitlines()[-1].split()) if completed.stderr.strip() else set()


def test_listing_tasks_imports_neither_python_gitlab_nor_jinja2():
    assert _imported_modules("--list") == set()


def test_dry_run_does_not_import_python_gitlab():
    assert _imported_modules("monthly_issue", "11.1.0", env={"TEST": "1"}) == {"jinja2"}


def _arguments(name: str):
    """The task's invoke Arguments, leaving the task as it was (invoke's get_arguments
    pops each help text it uses)."""
    import copy

    import tasks

    task = copy.copy(tasks.ns[name])
    task.help = dict(task.help)
    return task.get_arguments()


def _short_flags() -> dict[str, set[str]]:
    """Short flag -> the long flags it stands for, over every task."""
    import tasks

    meanings: dict[str, set[str]] = {}
    for name in tasks.ns.task_names:
        for argument in _arguments(name):
            for short in (n for n in argument.names if len(n) == 1):
                meanings.setdefault(short, set()).add(argument.name)
    return meanings


def test_a_short_flag_means_the_same_thing_in_every_task():
    # `invoke tag -s` is a security release; it must not skip CE in `tag_security` or `sync`.
    ambiguous = {short: longs for short, longs in _short_flags().items() if len(longs) > 1}

    assert ambiguous == {}


def test_every_task_documents_itself_and_every_argument():
    import tasks

    for name in tasks.ns.task_names:
        assert (tasks.ns[name].__doc__ or "").strip(), f"{name} has no docstring"
        undocumented = [a.name for a in _arguments(name) if not (a.help or "").strip()]
        assert undocumented == [], f"{name}: no help for {undocumented}"


def test_help_shows_the_order_of_positional_arguments():
    # invoke's own usage line hides them ("helm.tag_chart [--options]"), and swapping
    # helm.tag_chart's VERSION and GITLAB_VERSION still gives two valid versions.
    import tasks

    for name in tasks.ns.task_names:
        positional = [a.name.upper() for a in _arguments(name) if a.positional]
        if not positional:
            continue
        usage = [line.strip() for line in tasks.ns[name].__doc__.splitlines() if line.strip().startswith("Usage:")]
        assert usage, f"{name}: no Usage line in its docstring"
        words = [word.strip(",.") for word in usage[0].split()]
        assert words[1:3] == ["invoke", name.replace("-", "_")], usage[0]
        assert [w for w in words if w in positional] == positional, usage[0]


def test_the_declared_dependencies_are_exactly_what_the_code_imports():
    import ast
    import importlib.metadata
    import re
    import tomllib

    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {re.split(r"[<>=!~ ;\[]", line.strip())[0].lower() for line in requirements}
    modules = set()
    for path in [ROOT / "tasks.py", *(ROOT / "release_tools").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"release_tools", "tasks"}

    assert {distributions[module][0].lower() for module in third_party} == declared


@pytest.mark.parametrize("ci", [{"CI": "true"}, {"GITLAB_CI": ""}, {"CI_JOB_TOKEN": "x"}], ids=["CI", "GITLAB_CI", "job-token"])
def test_in_ci_an_instance_moved_off_this_machine_by_a_variable_gets_no_token(invoke, fake_gitlab, ci):
    # A scheduled or tag job sends its tokens to the instances: a pipeline variable must not
    # be able to send them elsewhere.
    add_milestone(fake_gitlab, RELEASE_TASKS, "11.1")
    evil = {"INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": "https://gitlab.attacker.example"}

    refused = invoke("monthly_issue", "11.1.0", env={**ci, **evil})
    on_this_machine = invoke("monthly_issue", "11.1.0", env=ci)  # the fake, on 127.0.0.1

    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "Error: Refusing to run: release_tools.instances.production.url is 'https://gitlab.attacker.example', set by a "
        "variable, ~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set; set it in this "
        "checkout's invoke.yaml\n"
    )
    assert on_this_machine.returncode == 0, on_this_machine.stderr
    assert len(fake_gitlab.table("issues")) == 1
