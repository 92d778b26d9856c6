"""release-tools as an installed tool: the wheel built from this checkout, installed into a
fresh virtualenv with nothing but its declared dependencies, and both console scripts run
from a folder outside the checkout.

Offline: the wheel is built without build isolation (setuptools and wheel come from the
test extra), and the dependencies are installed, by pip resolving the wheel's own
`Requires-Dist`, from wheels made of the distributions this virtualenv has installed
(`wheel_of_installed`). Nothing else of this virtualenv (pytest, the checkout) is visible
to the fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_quick_start import quick_start_commands

#: What the copy the wheel is built from leaves out of the checkout.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", ".ci", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


def pip_environment() -> dict[str, str]:
    """pip with no configuration of this machine: no index, no extra links, no cache."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    environ.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return environ


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependencies(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distributions `name` needs, directly or not (extras left out)."""
    from packaging.requirements import Requirement

    found: dict[str, importlib.metadata.Distribution] = {}
    wanted = [name]
    while wanted:
        distribution = importlib.metadata.distribution(wanted.pop())
        key = canonical(distribution.metadata["Name"])
        if key in found:
            continue
        found[key] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    found.pop(canonical(name))
    return list(found.values())


def wheel_of_installed(distribution: importlib.metadata.Distribution, into: Path) -> Path:
    """A wheel of an installed distribution: its files in site-packages and its metadata,
    with a new RECORD (scripts outside site-packages are left out: pip writes them anew
    from the entry points)."""
    tags = [line.split(":", 1)[1].strip() for line in distribution.read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    # The compressed tag set of the file name: `py2.py3-none-any` for py2-none-any and py3-none-any.
    tag = "-".join(".".join(dict.fromkeys(part)) for part in zip(*(tag.split("-") for tag in tags)))
    name = re.sub(r"[-_.]+", "_", distribution.metadata["Name"])
    path = into / f"{name}-{distribution.version}-{tag}.whl"
    records = []
    record_name = None
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in distribution.files or []:
            text = file.as_posix()
            parts = text.split("/")
            if parts[0] == ".." or "__pycache__" in parts:
                continue
            if parts[0].endswith(".dist-info") and parts[-1] in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                if parts[-1] == "RECORD":
                    record_name = text
                continue
            data = Path(distribution.locate_file(file)).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            archive.writestr(text, data)
            records.append(f"{text},sha256={digest},{len(data)}")
        assert record_name, f"{name} has no RECORD"
        archive.writestr(record_name, "\n".join([*records, f"{record_name},,"]) + "\n")
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built from a copy of its files."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(source)],
        env=pip_environment(), check=True, capture_output=True, timeout=300,
    )
    [built] = wheels.glob("release_tools-*.whl")
    return built


@pytest.fixture(scope="module")
def tool(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv (`python3 -m venv`) with the wheel `pip install`ed; its bin/."""
    work = tmp_path_factory.mktemp("installed")
    wheelhouse = work / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy(wheel, wheelhouse)
    for distribution in dependencies("release-tools"):
        wheel_of_installed(distribution, wheelhouse)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
         "--no-index", "--find-links", str(wheelhouse), "release-tools"],
        env=pip_environment(), check=True, capture_output=True, timeout=300,
    )
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """An empty folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def run(argv: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    """A command as a user runs it on a fresh machine: an empty HOME, none of this shell's
    configuration variables or tokens."""
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    environ = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **variables}
    return subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def test_the_wheel_holds_the_templates_the_example_and_both_console_scripts(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))

    templates = {path.name for path in (ROOT / "release_tools" / "templates").glob("*.j2")}
    assert {f"release_tools/templates/{name}" for name in templates} <= names
    assert "monthly.md.j2" in templates
    assert "release_tools/examples/release_managers.yml" in names
    assert "release-tools = release_tools.cli:main" in entry_points
    assert "release-tools-chatops = release_tools.chatops:main" in entry_points


def test_the_installed_package_is_the_fresh_virtualenvs_not_the_checkout(tool, elsewhere):
    result = run([str(tool / "python"), "-c", "import release_tools, sys; print(release_tools.__file__); import pytest"], elsewhere)

    assert not result.stdout.strip().startswith(str(ROOT / "release_tools"))
    assert result.stdout.strip().startswith(str(tool.parent))
    assert "No module named 'pytest'" in result.stderr  # only the declared dependencies came along


def test_release_tools_lists_its_tasks_and_says_its_version_from_an_empty_folder(tool, elsewhere):
    from release_tools import __version__

    listed = run([str(tool / "release-tools"), "--list"], elsewhere)
    version = run([str(tool / "release-tools"), "--version"], elsewhere)

    assert listed.returncode == 0, listed.stderr
    tasks = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.startswith("  ") and line.split()}
    assert {"monthly_issue", "tag", "release_managers.sync", "helm.tag_chart"} <= tasks
    assert (version.returncode, version.stdout) == (0, f"release-tools {__version__}\n")


def test_the_quick_start_rehearses_a_monthly_release_from_an_empty_folder_and_leaves_nothing(tool, elsewhere):
    # The README's first line, as written: make a virtualenv, install the checkout, rehearse.
    *install, rehearsal = quick_start_commands()[0].split(" && ")
    assert install == ["python3 -m venv .venv", ".venv/bin/pip install ."]
    command, *arguments = shlex.split(rehearsal)
    assert command == ".venv/bin/release-tools"
    scratch = elsewhere.parent / "tmp"
    scratch.mkdir()

    result = run([str(tool / "release-tools"), *arguments], elsewhere, TMPDIR=str(scratch))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ tag: done" in result.stdout and "✓ chart: already done" in result.stdout
    assert "status: packages: done" in result.stdout
    assert "The second run of every step changed nothing" in result.stdout
    assert result.stdout.endswith("The sandbox is removed: rehearse with --keep DIR to look inside it afterwards\n")
    # The sandbox was removed with the rehearsal's temporary folder; nothing else was written.
    assert list(elsewhere.iterdir()) == [] and list(scratch.iterdir()) == []


def test_an_installed_run_reads_the_release_managers_file_relative_to_the_working_directory(tool, elsewhere):
    missing = run([str(tool / "release-tools"), "release_managers.auth", "rita"], elsewhere)
    (elsewhere / "config").mkdir()
    (elsewhere / "config" / "release_managers.yml").write_text("Rita Release:\n  gitlab.com: rita\n")
    found = run([str(tool / "release-tools"), "release_managers.auth", "rita"], elsewhere)

    assert (missing.returncode, missing.stderr) == (
        1, f"Error: Release managers file {str(elsewhere / 'config' / 'release_managers.yml')!r} not found: "
        "create it or set release_tools.release_managers_file\n",
    )
    assert (found.returncode, found.stdout) == (0, "rita (Rita Release) is an authorized release manager.\n")


def test_release_tools_chatops_answers_help_from_an_empty_folder(tool, elsewhere):
    result = run([str(tool / "release-tools-chatops"), "--help"], elsewhere)

    assert result.returncode == 0, result.stderr
    assert "chat_reply" in result.stdout
    assert "release_issue" in result.stdout and "tag" in result.stdout


def test_an_installed_chatops_job_refuses_the_shipped_example_before_any_request(tool, elsewhere):
    # Copied as the example says, but not edited: its fictional usernames are anyone's to take.
    (elsewhere / "config").mkdir()
    shutil.copy(ROOT / "release_tools" / "examples" / "release_managers.yml", elsewhere / "config")
    variables = {"CHAT_INPUT": "11.1.0", "TEST": "true", "GITLAB_USER_LOGIN": "ada-example",
                 # Nothing listens there: a request would fail, not hang.
                 "INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL": "http://127.0.0.1:9"}

    result = run([str(tool / "release-tools-chatops"), "release_issue"], elsewhere, **variables)

    assert result.returncode == 1
    assert "lists ada-example, one of the shipped example's fictional people" in result.stdout


def test_an_installed_run_reads_the_working_directorys_invoke_yaml_and_keeps_its_own_executor(tool, elsewhere):
    # Another project's file may name its own executor; release-tools checks with its own.
    (elsewhere / "invoke.yaml").write_text(
        "tasks:\n  executor_class: elsewhere.Executor\nrelease_tools:\n  labels:\n    release: Acme Release\n"
    )
    result = run([str(tool / "release-tools"), "monthly_issue", "11.1.0"], elsewhere, TEST="true")
    (elsewhere / "invoke.yaml").write_text("release_tools:\n  lables: {}\n")
    typo = run([str(tool / "release-tools"), "monthly_issue", "11.1.0"], elsewhere, TEST="true")

    assert result.returncode == 0, result.stderr
    assert "label Acme Release" in result.stdout
    assert (typo.returncode, typo.stderr) == (1, "Error: release_tools.lables is not a setting; did you mean release_tools.labels?\n")
