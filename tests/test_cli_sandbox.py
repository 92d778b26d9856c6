"""`release-tools sandbox`: the sandbox in the foreground, run as a user would run it, and
real tasks run against it from another process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

from release_tools.sandbox.serve import READY
from tests.repos import GIT_ENV
from tests.test_sandbox import RELEASE_TOOLS


def environment(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **GIT_ENV}


class Foreground:
    """`release-tools sandbox ARGS` started in a session of its own; its stdout read line by line."""

    def __init__(self, tmp_path, *args: str) -> None:
        self.process = subprocess.Popen(
            [RELEASE_TOOLS, "sandbox", *args], cwd=tmp_path, env=environment(tmp_path),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if line == text:
                return
        self.stop()
        raise AssertionError(f"no {text!r} line; saw {self.seen}, stderr {self.process.stderr.read()}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> tuple[int, str, str]:
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        rest = []
        while (line := self.lines.get(timeout=5)) is not None:
            rest.append(line)
        self.seen += rest
        return returncode, "\n".join(self.seen), self.process.stderr.read()


def test_the_sandbox_serves_a_real_task_and_stops_on_sigint_leaving_its_folder(tmp_path):
    folder = tmp_path / "sandbox"
    running = Foreground(tmp_path, "--dir", str(folder))
    running.wait_for(READY)

    config = folder / "sandbox.yaml"
    assert f"  release-tools -f '{config}' monthly_issue 11.1.0" in running.seen
    task = subprocess.run(
        [RELEASE_TOOLS, "-f", str(config), "monthly_issue", "11.1.0"],
        cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=120,
    )
    returncode, stdout, stderr = running.stop(signal.SIGINT)

    assert task.returncode == 0, task.stdout + task.stderr
    assert "✓ create the monthly release issue \"Release 11.1\" in gitlab-org/release/tasks" in task.stdout
    assert returncode == 0, stderr
    assert stdout.splitlines()[-1] == f"Stopped; the folder stays: '{folder}'"
    assert stderr == ""
    assert sorted(p.name for p in folder.iterdir()) == [
        "release_managers.yml", "remotes", "requests.jsonl", "sandbox.env", "sandbox.yaml",
    ]
    logged = [json.loads(line) for line in (folder / "requests.jsonl").read_text().splitlines()]
    assert {"instance": "gitlab.com", "method": "POST", "path": "/gitlab.com/api/v4/projects/gitlab-org%2Frelease%2Ftasks/issues",
            "status": 201} in logged
    assert all(set(line) == {"instance", "method", "path", "status"} for line in logged)
    assert {line["instance"] for line in logged} == {"gitlab.com"}  # the monthly issue asks nothing of dev
    tokens = dict(line.split("=", 1) for line in (folder / "sandbox.env").read_text().splitlines())
    for token in tokens.values():
        assert token not in stdout + stderr + task.stdout + task.stderr


def test_sigterm_stops_the_sandbox_cleanly_too(tmp_path):
    running = Foreground(tmp_path, "--dir", str(tmp_path / "sandbox"), "--version", "11.1.2")
    running.wait_for(READY)

    returncode, stdout, stderr = running.stop(signal.SIGTERM)

    assert returncode == 0, stderr
    assert "Sandbox of 11.1.2: http://127.0.0.1:" in stdout
    assert "  release-tools -f" in stdout and "patch_issue 11.1.2" in stdout
    assert not (tmp_path / "sandbox" / "sandbox.url").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--version", "eleven"], "Error: Version number must be in the following format"),
        (["--dir", "{taken}"], "is not empty: the sandbox needs a folder of its own"),
    ],
)
def test_bad_input_is_one_line_and_seeds_nothing(tmp_path, args, message):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    args = [a.replace("{taken}", str(taken)) for a in args]

    completed = subprocess.run(
        [RELEASE_TOOLS, "sandbox", *args], cwd=tmp_path, env=environment(tmp_path), capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert len(completed.stderr.splitlines()) == 1 and message in completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "taken"]
    assert os.listdir(taken) == ["notes.txt"]
