"""Runs stopped from outside: SIGTERM, SIGHUP and Ctrl-C unwind (clones removed, one line
saying what was and was not pushed, exit 128 + the signal's number), and the clones that a
SIGKILL leaves behind are removed by the next run, while a live run's clone and anything
that is not a clone stay.

The real `invoke tag` and the real ChatOps entrypoint run as subprocesses, each with its
own TMPDIR; a pre-receive hook on EE's `gitlab` remote holds the run in the middle of its
pushes, after EE reached `dev`, until the test has signalled it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from release_tools.errors import Interrupted, stop_on_signals
from release_tools.git import OWNER_FILE, remove_stale_clones
from tests.chatops_support import ChatResult
from tests.repos import GIT_ENV

def _pushes(project: str, refs: str) -> str:
    return f"push {project} {refs} to dev; push {project} {refs} to gitlab"


#: What `tag 11.1.0` has done when it is held in the push of EE to `gitlab`, as the plan's
#: executor says it (the Slack steps are skipped: no SLACK_TAG_URL).
PROGRESS = (
    "done: push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to dev. "
    "cut off, may or may not have taken effect: push gitlab-ee 11-1-stable-ee, master, tag v11.1.0-ee to gitlab. "
    f"not done: {_pushes('omnibus-gitlab', '11-1-stable-ee, tag 11.1.0+ee.0')}; "
    f"{_pushes('gitlab-ce', '11-1-stable, master, tag v11.1.0, tag v11.2.0.pre')}; "
    f"{_pushes('omnibus-gitlab', '11-1-stable, master, tag 11.1.0+ce.0')}. "
    "Run the same command again to finish"
)


@pytest.fixture
def held(remotes, tmp_path):
    """EE's `gitlab` remote holds the next push; `held.started` appears when it does."""

    class Held:
        started = tmp_path / "push-started"
        release = tmp_path / "push-release"

        def wait(self, process: subprocess.Popen, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while not self.started.exists():
                if process.poll() is not None:
                    raise AssertionError(f"the run ended before its push was held:\n{process.communicate()}")
                if time.monotonic() > deadline:
                    raise AssertionError("the push was not held in time")
                time.sleep(0.05)

    remotes("ee", "gitlab").hold_next_push(Held.started, Held.release)
    return Held()


@pytest.fixture
def tmpdir_of_run(tmp_path):
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def clones(folder: Path) -> list[Path]:
    return sorted(folder.glob("release-tools-*"))


def stop(process: subprocess.Popen, held) -> None:
    """Let the held hook go and end whatever the run left running (its process group)."""
    held.release.touch()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_a_signal_mid_tag_removes_the_clones_and_says_what_was_and_was_not_pushed(
    invoke, config, remotes, held, tmpdir_of_run, signum
):
    process = invoke.start("-f", config, "tag", "11.1.0", env={"TMPDIR": str(tmpdir_of_run)})
    try:
        held.wait(process)
        assert len(clones(tmpdir_of_run)) == 3  # gitlab-ee, omnibus-gitlab, gitlab-ce: all prepared
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        stop(process, held)

    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum
    assert stderr.strip().splitlines()[-1] == f"Error: interrupted by {name}: {PROGRESS}"
    assert clones(tmpdir_of_run) == []
    assert "v11.1.0-ee" in remotes("ee", "dev").tags() and "v11.1.0-ee" not in remotes("ee", "gitlab").tags()
    assert "v11.1.0" not in remotes("ce", "dev").tags() and "11.1.0+ee.0" not in remotes("omnibus", "dev").tags()


def test_sigterm_while_preparing_says_nothing_was_pushed(invoke, config, remotes, tmpdir_of_run, tmp_path):
    # git itself is held this time: a `git` first on PATH that waits before cloning CE.
    started, release = tmp_path / "clone-started", tmp_path / "clone-release"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True, check=True).stdout.strip()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *gitlab-ce*clone*|*clone*gitlab-ce*) : > "{started}"; '
        f'while [ ! -e "{release}" ]; do sleep 0.1; done;; esac\n'
        f'exec "{real_git}" "$@"\n'
    )
    wrapper.chmod(0o755)
    before = remotes.digests()
    env = {"TMPDIR": str(tmpdir_of_run), "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}

    process = invoke.start("-f", config, "tag", "11.1.0", env=env)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), process.communicate()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        release.touch()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    assert process.returncode == 143
    # Stopped while planning: the plan never ran, so nothing was pushed.
    assert stderr.strip().splitlines()[-1] == (
        "Error: interrupted by SIGTERM: nothing more was pushed, created or posted; what was done is printed above"
    )
    assert clones(tmpdir_of_run) == []
    assert remotes.digests() == before


def test_sigterm_mid_tag_through_chatops_replies_with_what_was_pushed(chat_job, remotes, held, tmpdir_of_run):
    environ = chat_job.environ("11.1.0", **remotes.env(), **GIT_ENV, TMPDIR=str(tmpdir_of_run))
    process = subprocess.Popen(
        [sys.executable, "-m", "release_tools.chatops", "tag"],
        cwd=chat_job.workdir, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        held.wait(process)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        stop(process, held)

    result = ChatResult(process.returncode, stdout.decode(), stderr.decode())
    assert result.returncode == 143
    assert result.reply[-1] == f"Error: interrupted by SIGTERM: {PROGRESS}"
    assert clones(tmpdir_of_run) == []


def owner_file(folder: Path, pid: int, *, host: str | None = None, age: float = 0) -> Path:
    folder.mkdir()
    (folder / OWNER_FILE).write_text(f"pid={pid}\nhost={host or socket.gethostname()}\ncreated={time.time() - age:.0f}\n")
    return folder


def test_after_a_sigkill_the_next_run_removes_the_stale_clones_and_keeps_a_live_runs(
    invoke, config, remotes, held, tmpdir_of_run
):
    process = invoke.start("-f", config, "tag", "11.1.0", env={"TMPDIR": str(tmpdir_of_run)})
    try:
        held.wait(process)
        os.killpg(process.pid, signal.SIGKILL)  # the run, its git and the hook: nothing can clean up
        process.wait(timeout=30)
    finally:
        stop(process, held)
    left_behind = clones(tmpdir_of_run)
    assert len(left_behind) == 3
    live = owner_file(tmpdir_of_run / "release-tools-gitlab-ee-live", os.getpid())  # this test is alive
    elsewhere = owner_file(tmpdir_of_run / "release-tools-gitlab-ce-elsewhere", 2**22 + 1, host="another-host")
    reused = owner_file(tmpdir_of_run / "release-tools-omnibus-gitlab-old", os.getpid(), age=2 * 24 * 3600)
    not_ours = tmpdir_of_run / "release-tools-bench-clone-v1-20000-5000"
    not_ours.mkdir()
    (not_ours / "data").write_text("a benchmark's cache\n")

    second = invoke("-f", config, "tag", "11.1.0", env={"TMPDIR": str(tmpdir_of_run)})

    assert second.returncode == 0, second.stderr
    assert clones(tmpdir_of_run) == sorted([live, elsewhere, not_ours])
    for path in [*left_behind, reused]:
        assert f"Removed {path}: a clone left behind by a run that was killed\n" in second.stdout
    assert "v11.1.0" in remotes("ce", "gitlab").tags() and "v11.1.0-ee" in remotes("ee", "gitlab").tags()


def test_only_this_users_marked_clones_are_candidates(tmp_path):
    gone = owner_file(tmp_path / "release-tools-a-1", 2**22 + 1)  # above any pid_max default: no such process
    malformed = tmp_path / "release-tools-b-2"
    malformed.mkdir()
    (malformed / OWNER_FILE).write_text("pid=yes\n")
    target = owner_file(tmp_path / "elsewhere", 2**22 + 1)
    link = tmp_path / "release-tools-c-3"
    link.symlink_to(target)
    other_name = owner_file(tmp_path / "clone-d-4", 2**22 + 1)

    removed = remove_stale_clones(tmp_path)

    assert removed == [gone]
    assert malformed.exists() and target.exists() and link.is_symlink() and other_name.exists()


def test_stop_on_signals_raises_interrupted_once_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)

    with pytest.raises(Interrupted) as raised:
        with stop_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at once and raises

    assert (raised.value.signum, raised.value.exit_code) == (signal.SIGTERM, 143)
    assert str(raised.value) == (
        "interrupted by SIGTERM: nothing more was pushed, created or posted; what was done is printed above"
    )
    assert signal.getsignal(signal.SIGTERM) is before
