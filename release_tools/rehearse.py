"""`rehearse VERSION`: a whole release, run for real in a sandbox of its own.

A fresh sandbox (or, with `--keep DIR` naming an earlier rehearsal's folder, the one it
left) serves both GitLab instances on 127.0.0.1, with bare remotes and a Slack of its own.
Each step of the release that VERSION calls for runs as a release manager would run it:
the real `release-tools -f DIR/sandbox.yaml TASK` command, in a process of its own, with
the sandbox's tokens and nothing of the caller's configuration. Between two commands the
sandbox does what people and GitLab do (the dev instance mirrors new branches, a reviewer
merges the preparation merge requests, runners run the played jobs).

After the steps, `status VERSION` must report every phase done; then every step runs a
second time and must change nothing (no mutating request, no push, no Slack post). The
first failure stops the rehearsal (exit status 1) with the command and its output, and
keeps the sandbox. A kept folder holds `sandbox.yaml`, `sandbox.env`, the remotes under
`remotes/<instance>/<project path>.git`, `requests.jsonl` (every API request: instance,
method, path, status), `slack.jsonl` and `sandbox.json` (the API side, to go on later).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ReleaseToolsError, quote_path
from .output import protect, say
from .version import Version

#: The variables of the caller's environment a step's command gets; nothing else (no token,
#: no switch such as TEST or SECURITY, no invoke or release-tools setting) reaches it.
PASSED_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "PYTHONPATH")
#: How long the sandbox's runners may take over the played jobs before `status` (seconds).
JOBS_TIMEOUT = 20.0
#: How many steps of the second run run at the same time.
AGAIN_CONCURRENCY = 4
#: Where a rehearsal's folder says what it rehearses (the version, and whether a security release).
KIND_FILE = "rehearsal.json"
#: How much of a failed command's output is shown (characters, from its end).
OUTPUT_LIMIT = 6000


@dataclass(frozen=True)
class Step:
    """One step of a rehearsal: a release-tools command (`args`), or what the sandbox does
    itself (`sandbox`, given the rehearsal, returns one line per change); `skip` says why
    a step is listed and not run; `after` is the sandbox's part right after the command."""

    name: str
    args: tuple[str, ...] = ()
    sandbox: Callable[[Rehearsal], list[str]] | None = None
    after: Callable[[Rehearsal], list[str]] | None = None
    skip: str = ""


@dataclass
class Outcome:
    """What one run of a step did."""

    step: str
    state: str  # done, skipped, failed
    seconds: float = 0.0
    requests: int = 0
    mutations: int = 0
    pushes: int = 0
    refs: int = 0  # refs created, moved or deleted on the remotes
    slack: int = 0
    text: str = ""  # what the command's plan says (`3 done, 1 already done`)
    sandbox: list[str] = field(default_factory=list)
    #: Whether the counts are this step's own (the second run counts all steps together).
    measured: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.mutations or self.pushes or self.refs or self.slack or self.sandbox)

    def line(self) -> str:
        if self.state == "skipped":
            return f"{self.step}: skipped ({self.text})"
        changes = [
            f"{self.mutations} mutating request{'s' if self.mutations != 1 else ''} of {self.requests}" if self.mutations else "",
            f"{self.refs} ref{'s' if self.refs != 1 else ''} changed" + (f" by {self.pushes} push{'es' if self.pushes != 1 else ''}" if self.pushes else "") if self.refs else "",
            f"{self.slack} Slack post{'s' if self.slack != 1 else ''}" if self.slack else "",
            *self.sandbox,
        ]
        changed = "; ".join(c for c in changes if c) or f"nothing changed ({self.requests} request{'s' if self.requests != 1 else ''})"
        what = f" ({self.text})" if self.text else ""
        return f"{self.step}: {self.state}{what} in {self.seconds:.1f} s" + (f"; {changed}" if self.measured else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step, "state": self.state, "seconds": round(self.seconds, 3), "requests": self.requests,
            "mutations": self.mutations, "pushes": self.pushes, "refs": self.refs, "slack": self.slack,
            "result": self.text or None, "sandbox": self.sandbox,
        }


class StepFailed(Exception):
    """A step failed: the rehearsal stops there."""

    def __init__(self, step: str, command: str, output: str) -> None:
        super().__init__(step)
        self.step, self.command, self.output = step, command, output
        self.outcome: Outcome | None = None  # set by the step that failed


def previous_tag(version: Version) -> str:
    """The tag the sandbox seeds before `version` (the last RC before a final release,
    the previous RC or patch otherwise, the previous minor's last release before an RC1)."""
    from .sandbox.world import history, previous_minor

    before = history(version) or previous_minor(version)
    if not before:
        raise ReleaseToolsError(f"{version} has no release before it in a sandbox: rehearse a later version")
    return before[-1].tag()


def steps_for(version: Version, security: bool) -> list[Step]:
    """The steps of the release `version` calls for, in order."""
    from .sandbox import reviewer

    text = str(version)
    flag = ("--security",) if security else ()
    issue = Step("release issue", ("release_issue", *flag, text))
    tag = Step("tag", ("tag_security", text) if security else ("tag", text))
    qa = Step("QA issue", ("qa_issue", previous_tag(version), version.tag()))
    publish = Step("publish", ("publish", text))
    chart = Step(
        "chart", ("helm.tag_chart", "", text), skip="the chart has no dev remote: a security release does not tag it" if security else ""
    )
    if version.is_monthly:
        return [issue, tag, qa, publish, chart]
    prepare = Step("preparation", ("patch_merge_request", *flag, text), after=None if security else lambda r: r.mirror_preparation())
    picks = Step("cherry-picks", ("cherry_pick", *flag, text))
    review = Step("review", sandbox=lambda r: reviewer.merge_preparation(r.sandbox, version, security=security))
    made = [issue, prepare, picks, review, tag, qa, publish]
    return made + ([chart] if not version.is_rc else [])


def command_for(args: tuple[str, ...]) -> list[str]:
    """The `release-tools` command installed with this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "release-tools"
    if beside.is_file():
        return [str(beside), *args]
    found = shutil.which("release-tools")
    if found:
        return [found, *args]
    return [sys.executable, "-c", "from release_tools.cli import main; main()", *args]


def shown(args: list[str] | tuple[str, ...]) -> str:
    import shlex

    return " ".join(shlex.quote(arg) for arg in args)


class Rehearsal:
    """One rehearsal of `version` in the sandbox folder `root` (see the module docstring)."""

    def __init__(self, version: Version, root: Path, *, security: bool = False) -> None:
        self.version = version.to_ce()
        self.root = root
        self.security = security
        self.steps = steps_for(self.version, security)
        self.sandbox: Any = None
        self.pushes = 0
        #: The JSON document of each step's last command, by step name.
        self.documents: dict[str, Any] = {}

    # -- the sandbox ------------------------------------------------------------------------

    def open(self) -> None:
        """Create the sandbox in `root`, or load the one a rehearsal of the same version left."""
        from .sandbox import Sandbox, reviewer, saved
        from .sandbox.webhooks import SlackWebhooks
        from .sandbox.world import PUSHED_PATH

        if saved.state_path(self.root).is_file():
            kept = saved.load(self.root)
            was = _kept_kind(self.root)
            if kept.version != self.version or was.get("security", self.security) != self.security:
                kept.stop()
                what = f"{kept.version}{' (security)' if was.get('security') else ''}"
                wanted = f"{self.version}{' (security)' if self.security else ''}"
                raise ReleaseToolsError(f"{quote_path(self.root)} holds a rehearsal of {what}, not of {wanted}: name another folder")
            self.sandbox = kept
            say(f"Going on with the sandbox kept in {self.root}")
        else:
            self.sandbox = Sandbox.create(self.root, self.version)
            (self.root / KIND_FILE).write_text(json.dumps({"version": str(self.version), "security": self.security}) + "\n")
            fixes = reviewer.seed_security_fixes(self.sandbox) if self.security else 0
            say(f"Sandbox for {self.version} seeded in {self.root}" + (f" ({fixes} security fixes merged on dev)" if fixes else ""))
        protect(*self.sandbox.tokens.values())
        self.slack = SlackWebhooks(self.sandbox)
        pushed = self.sandbox.server.hooks[PUSHED_PATH]

        def count_push(body: Any) -> Any:
            self.pushes += 1
            return pushed(body)

        self.sandbox.server.hooks[PUSHED_PATH] = count_push
        self.config = self._write_configuration()
        (self.root / "home").mkdir(exist_ok=True)
        self.sandbox.server.request_log = self.root / "requests.jsonl"  # one line per request, appended
        self.sandbox.start()

    def close(self) -> None:
        from .sandbox import saved

        if self.sandbox is None:
            return
        self.sandbox.stop()
        saved.save(self.sandbox)

    def _write_configuration(self) -> Path:
        """sandbox.yaml and sandbox.env, the Slack webhooks pointing at the sandbox too."""
        import yaml

        config, _ = self.sandbox.write_configuration()
        tree = self.sandbox.tree()
        tree["slack"] = self.slack.urls()
        config.write_text(yaml.safe_dump({"release_tools": tree}, sort_keys=False))
        return config

    def environ(self) -> dict[str, str]:
        """A step's environment: the sandbox's tokens, its first release manager as the git
        identity, a home of its own (no user configuration of invoke or git), SECURITY for
        a security release."""
        first = next(iter(self.sandbox.managers))
        email = f"{first.username}@sandbox.example.com"
        made = {name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ}
        made.update(
            HOME=str(self.root / "home"), NO_COLOR="1",
            GIT_AUTHOR_NAME=first.name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=first.name, GIT_COMMITTER_EMAIL=email,
            **self.sandbox.environ(),
        )
        if self.security:
            made["SECURITY"] = "true"
        return made

    # -- what the sandbox does between commands ---------------------------------------------------

    def mirror_preparation(self) -> list[str]:
        from .sandbox import reviewer

        branches = reviewer.preparation_branches(self.sandbox, self.version, security=False)
        mirrored = [branch for key, branch in branches if reviewer.mirror_to_dev(self.sandbox, key, branch)]
        return [f"dev mirrored {', '.join(mirrored)}"] if mirrored else []

    def run_jobs(self) -> None:
        """Wait until the sandbox's runners have finished the played jobs (they ran while the
        steps after `publish` did), as `status` expects."""
        from .sandbox.pipelines import advance_jobs

        dev = self.sandbox.dev
        deadline = time.monotonic() + JOBS_TIMEOUT
        while True:
            with dev.lock:
                advance_jobs(dev)
                busy = [job for job in dev.table("jobs") if job["status"] in ("pending", "running")]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise StepFailed("publish", "(the sandbox's runners)", f"{len(busy)} played jobs did not finish within {JOBS_TIMEOUT:.0f} s")
            time.sleep(0.05)

    # -- running steps --------------------------------------------------------------------------

    def refs(self) -> dict[tuple[str, str], dict[str, str]]:
        """Every ref of every remote: (project, remote) -> ref name -> object."""
        return {(key, remote): read_refs(bare.path) for key, remote, bare in self.sandbox.remotes()}

    def snapshot(self) -> tuple[dict[Any, dict[str, str]], int, int, dict[str, int]]:
        """What the world holds now: the remotes' refs, Slack posts, pushes, logged requests."""
        marks = {name: len(instance.log) for name, instance in self.sandbox.instances.items()}
        return self.refs(), len(self.slack.posts()), self.pushes, marks

    def account(self, outcome: Outcome, since: tuple[dict[Any, dict[str, str]], int, int, dict[str, int]]) -> None:
        """What changed since the `snapshot()` `since`, into `outcome`."""
        before, posts, pushes, marks = since
        after = self.refs()
        for name, instance in self.sandbox.instances.items():
            with instance.lock:
                made = instance.log[marks[name] :]
            outcome.requests += len(made)
            outcome.mutations += sum(1 for request in made if request.method not in ("GET", "HEAD"))
        outcome.refs = sum(_changed_refs(before.get(where, {}), refs) for where, refs in after.items())
        outcome.pushes = self.pushes - pushes
        outcome.slack = len(self.slack.posts()) - posts

    def run_step(self, step: Step, *, measure: bool = True) -> Outcome:
        """Run `step`; with `measure`, count what it changed. A failure raises StepFailed,
        which carries the step's outcome."""
        outcome = Outcome(step.name, "skipped" if step.skip else "done", text=step.skip, measured=measure)
        if step.skip:
            return outcome
        since = self.snapshot() if measure else None
        started = time.monotonic()
        try:
            if step.sandbox is not None:
                outcome.sandbox = step.sandbox(self)
                outcome.state = "done" if outcome.sandbox else "already done"
                outcome.text = "by the sandbox"
            else:
                outcome.text = self.command(step.name, step.args)
                if all(s.get("state") in ("already_done", "skipped") for s in self.documents[step.name].get("steps", [])):
                    outcome.state = "already done"
            if step.after is not None:
                outcome.sandbox += step.after(self)
        except StepFailed as failure:
            outcome.state = "failed"
            failure.outcome = outcome
            raise
        finally:
            outcome.seconds = time.monotonic() - started
            if since is not None:
                self.account(outcome, since)
        return outcome

    def again(self, report: RehearsalReport) -> None:
        """Every step a second time, side by side (they read, and must change nothing): no
        mutating request, no ref of any remote, no push, no Slack post, between the first
        step's start and the last one's end."""
        since, started = self.snapshot(), time.monotonic()
        with ThreadPoolExecutor(max_workers=AGAIN_CONCURRENCY) as pool:
            futures = [pool.submit(self.run_step, step, measure=False) for step in self.steps]
            for future in futures:
                try:
                    outcome = future.result()
                except StepFailed as failure:
                    report.second.append(failure.outcome)
                    raise
                report.second.append(outcome)
                say(("- " if outcome.state == "skipped" else "✓ ") + outcome.line())
        total = Outcome("the second run", "done", seconds=time.monotonic() - started)
        self.account(total, since)
        report.again = total
        if total.changed:
            acted = [o.step for o in report.second if o.state not in ("already done", "skipped")]
            raise StepFailed(
                ", ".join(acted) or "the second run", "(every step again)",
                f"the second run changed something: {total.line()}",
            )

    def command(self, name: str, args: tuple[str, ...]) -> str:
        """Run one release-tools command against the sandbox; its plan's outcome in a few words."""
        argv = command_for(("-f", str(self.config), *args[:1], "--json", *args[1:]))
        completed = subprocess.run(
            argv, cwd=self.root, env=self.environ(), stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        line = shown(["release-tools", "-f", str(self.config), *args])
        if completed.returncode != 0:
            # Its progress and errors are on stderr; stdout holds the JSON document, of which
            # the error (when planning failed) is the part worth showing.
            try:
                error = json.loads(completed.stdout).get("error") or ""
            except (ValueError, AttributeError):
                error = completed.stdout
            output = completed.stderr + (f"Error: {error}\n" if error and error not in completed.stderr else "")
            raise StepFailed(name, f"{line} (exit status {completed.returncode})", output[-OUTPUT_LIMIT:])
        try:
            document = json.loads(completed.stdout)
        except ValueError:
            raise StepFailed(name, line, "its output is not the JSON document of a plan:\n" + completed.stdout[-OUTPUT_LIMIT:]) from None
        self.documents[name] = document
        return _states(document)

    # -- the whole rehearsal ---------------------------------------------------------------------

    def run(self) -> RehearsalReport:
        started = time.monotonic()
        report = RehearsalReport(self.version, self.root, self.security)
        public = None
        try:
            self.open()
            report.seed_seconds = time.monotonic() - started
            public = {where: refs for where, refs in self.refs().items() if where[1] == "gitlab"}
            log_marks = {name: len(instance.log) for name, instance in self.sandbox.instances.items()}
            say(f"Rehearsing the {_kind(self.version, self.security)} {self.version}: {len(self.steps)} steps")
            for step in self.steps:
                try:
                    outcome = self.run_step(step)
                except StepFailed as failure:
                    report.first.append(failure.outcome)
                    raise
                report.first.append(outcome)
                say(("- " if outcome.state == "skipped" else "✓ ") + outcome.line())
            checking = time.monotonic()
            self.run_jobs()  # the runners worked on the played jobs meanwhile, as GitLab's do
            report.status = self.check_status()
            report.status_seconds = time.monotonic() - checking
            for phase in report.status:
                say(f"  {phase}")
            say("Each step again, side by side: nothing may change")
            self.again(report)
            if self.security:
                report.untouched = self.check_public(public, log_marks)
                say(f"✓ {report.untouched}")
        except StepFailed as failure:
            report.failed = failure
            report.kept = True
        finally:
            report.seconds = time.monotonic() - started
            report.pushes = self.pushes
            self.close()
        return report

    def check_status(self) -> list[str]:
        """`status VERSION` must say every phase is done."""
        args = ("status", *(("--security",) if self.security else ()), str(self.version))
        self.command("status", args)
        phases = self.documents["status"].get("phases", [])
        skipped = {step.name for step in self.steps if step.skip}
        late = [p for p in phases if p.get("state") != "done" and p.get("title") not in skipped]
        if late or not phases:
            lines = "\n".join(f"{p.get('title')}: {p.get('state')}: {'; '.join(p.get('problems') or p.get('facts') or [])}" for p in phases)
            raise StepFailed("status", shown(["release-tools", "-f", str(self.config), *args]), "not every phase is done:\n" + lines)
        return [
            f"status: {p['title']}: " + ("done" if p.get("state") == "done" else f"{p.get('state', '').replace('_', ' ')} (its step is skipped)")
            for p in phases
        ]

    def check_public(self, public: dict[Any, Any], marks: dict[str, int]) -> str:
        """A security release leaves the public remotes and projects as they were: no ref of
        a gitlab remote moved, no mutating request reached a public project of gitlab.com,
        and every issue it made there is confidential."""
        now = {where: refs for where, refs in self.refs().items() if where[1] == "gitlab"}
        moved = [f"{key} ({remote})" for (key, remote), refs in now.items() if public.get((key, remote)) != refs]
        production = self.sandbox.production
        public_paths = {self.sandbox.path(p.key, "gitlab") for p in self.sandbox.projects if "gitlab" in p.paths and p.key != "release_tasks"}
        with production.lock:
            made = [r for r in production.log[marks["production"] :] if r.method not in ("GET", "HEAD")]
            issues = [i for i in production.table("issues")]
        touched = sorted({path for r in made for path in public_paths if r.path.startswith(f"/projects/{path}/")})
        open_issues = [i["web_url"] for i in issues if not i.get("confidential")]
        problems = [
            *([f"public remotes changed: {', '.join(moved)}"] if moved else []),
            *([f"public projects changed: {', '.join(touched)}"] if touched else []),
            *([f"issues that are not confidential: {', '.join(open_issues)}"] if open_issues else []),
        ]
        if problems:
            raise StepFailed("security check", "(the sandbox)", "; ".join(problems))
        return f"the public remotes and projects are untouched; the {len(issues)} issues on gitlab.com are confidential"


def read_refs(repository: Path) -> dict[str, str]:
    """The refs of a bare repository and the objects they name, read from its files as git
    keeps them (a loose ref wins over its packed line), with no git process: a rehearsal
    compares every remote before and after each step."""
    refs = {}
    packed = repository / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line and not line.startswith(("#", "^")):
                sha, _, name = line.partition(" ")
                refs[name] = sha
    folder = repository / "refs"
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith(".lock"):
            text = path.read_text().strip()
            if not text.startswith("ref:"):
                refs[path.relative_to(repository).as_posix()] = text
    return refs


def _kept_kind(root: Path) -> dict[str, Any]:
    """What a kept folder was a rehearsal of (`rehearsal.json`), as far as it says."""
    try:
        kind = json.loads((root / KIND_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return kind if isinstance(kind, dict) else {}


def _changed_refs(before: dict[str, str], after: dict[str, str]) -> int:
    return sum(1 for name in set(before) | set(after) if before.get(name) != after.get(name))


def _states(document: dict[str, Any]) -> str:
    """`3 done, 1 already done, 2 skipped`: the states of a plan's steps."""
    counts: dict[str, int] = {}
    for step in document.get("steps", []):
        state = str(step.get("state", "")).replace("_", " ")
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{count} {state}" for state, count in counts.items()) or "nothing to do"


def _kind(version: Version, security: bool) -> str:
    if security:
        return "security release"
    return "monthly release" if version.is_monthly else "release candidate" if version.is_rc else "patch release"


@dataclass
class RehearsalReport:
    """How a rehearsal went: what `--json` prints, and the exit status."""

    version: Version
    root: Path
    security: bool
    first: list[Outcome] = field(default_factory=list)
    second: list[Outcome] = field(default_factory=list)
    again: Outcome | None = None  # what the second run changed, all steps together
    status: list[str] = field(default_factory=list)
    untouched: str = ""
    failed: StepFailed | None = None
    kept: bool = False
    seconds: float = 0.0
    seed_seconds: float = 0.0  # creating (or loading) and starting the sandbox
    status_seconds: float = 0.0
    pushes: int = 0

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> list[str]:
        ran = [o for o in self.first if o.state not in ("skipped", "failed")]
        requests = sum(o.requests for o in self.first) + (self.again.requests if self.again else 0)
        mutations = sum(o.mutations for o in self.first)
        refs = sum(o.refs for o in self.first)
        lines = [
            f"Rehearsed {self.version}{' (security)' if self.security else ''}: {len(ran)} step{'s' if len(ran) != 1 else ''} run, "
            f"{sum(1 for o in self.first if o.state == 'skipped')} skipped; {requests} requests ({mutations} mutating); "
            f"{self.pushes} pushes ({refs} refs); {self.seconds:.1f} s"
        ]
        if self.again is not None and not self.failed:
            lines.append(
                f"The second run of every step changed nothing: {self.again.requests} requests, none mutating; no push, no ref moved, no Slack post."
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1, "task": "rehearse", "subject": str(self.version), "security": self.security,
            "status": "failed" if self.failed else "done", "exit_status": self.exit_status,
            "steps": [o.to_json() for o in self.first], "again": [o.to_json() for o in self.second],
            "again_changes": self.again.to_json() if self.again else None,
            "phases": self.status, "folder": str(self.root) if self.kept else None,
            "seconds": round(self.seconds, 3), "seed_seconds": round(self.seed_seconds, 3),
            "status_seconds": round(self.status_seconds, 3), "pushes": self.pushes,
            "error": f"{self.failed.step} failed: {self.failed.command}" if self.failed else None,
        }


def rehearse(version: Version, *, security: bool = False, keep: str = "") -> RehearsalReport:
    """Rehearse the release of `version` (see the module docstring); the report's
    `exit_status` is 1 when a step failed."""
    if security and not version.is_patch:
        raise ReleaseToolsError(f"a security release is a patch release: {version} is not (rehearse X.Y.Z with Z > 0)")
    if version.rc == 1 and version.patch == 0:
        # Its stable branch is cut by tagging it, so it has no preparation merge requests,
        # which `status` asks every RC for: the rehearsal could not end with every phase done.
        raise ReleaseToolsError(f"a first RC has no preparation merge requests to rehearse: rehearse {version.to_rc(2)} or a later RC")
    previous_tag(version.to_ce())  # a version the sandbox has nothing before fails first
    root = Path(keep).absolute() if keep else Path(tempfile.mkdtemp(prefix="rehearsal-"))
    if keep and root.exists() and not root.is_dir():
        raise ReleaseToolsError(f"{quote_path(root)} is not a folder")
    rehearsal = Rehearsal(version, root, security=security)
    report = rehearsal.run()
    report.kept = report.kept or bool(keep)
    if report.failed is not None:
        failure = report.failed
        say(f"✗ {failure.step} failed: {failure.command}")
        for line in failure.output.rstrip("\n").splitlines():
            say(f"    {line}")
    for line in report.summary():
        say(line)
    if report.kept:
        say(f"The sandbox is kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
        say("The sandbox is removed: rehearse with --keep DIR to look inside it afterwards")
    return report
