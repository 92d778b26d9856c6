"""Plans: every change a task makes, as plain data, and the one executor that runs them.

A task first reads the world and builds a `Plan`: an ordered list of `Step`s, each saying
what it changes (its `kind` and `Target`), whether the world has it already (`done`,
read from GitLab or the remotes, never from a local state file) and how to do it (its
`action`, which is not part of the data). `execute()` is the only code that runs plans:

1. it shows the plan: `✓` already done, `·` to do, `-` skipped (with why);
2. a dry run stops there, having changed nothing;
3. on a terminal outside CI it asks before changing anything, unless told yes;
4. it runs the steps not yet done, in order, saying `✓` or `✗` for each; the first
   failure stops the plan (unless the step says otherwise), and the steps after it are
   reported as not reached;
5. it re-reads what it changed (each done step's `check`) to confirm;
6. it leaves every step's state and result in the plan, which is what `--json` prints,
   what ChatOps replies with and what the exit status is made from.

Git plans keep their atomic pushes: one step per remote, pushing all of its refs at once.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import Interrupted, ReleaseToolsError
from .output import result, say

#: How many steps a chat summary lists one by one; a longer plan is counted by kind and state.
SUMMARY_LIMIT = 20
#: Step kinds whose addresses a counted summary still shows (the issue or merge request itself).
_LINKED_KINDS = ("issue.create", "issue.update", "merge_request.create", "merge_request.update")

#: The version of the JSON document `Plan.to_json()` makes (see README, "Machine-readable output").
SCHEMA = 1


class State(str, enum.Enum):
    """Where a step stands. Before a run: TO_DO, ALREADY_DONE, UNCHECKED or SKIPPED."""

    TO_DO = "to_do"  # planned; a dry run leaves it so
    ALREADY_DONE = "already_done"  # the world has it: not done again
    UNCHECKED = "unchecked"  # a dry run that could not look (no token): it may be done already
    SKIPPED = "skipped"  # not to be done in this run, for the reason given
    DONE = "done"  # this run did it
    FAILED = "failed"
    NOT_REACHED = "not_reached"  # an earlier step failed, or the run was interrupted


class Failure(str, enum.Enum):
    """What a step's failure does to the rest of the plan."""

    STOP = "stop"  # the steps after it are not reached; the run fails
    CONTINUE = "continue"  # the next steps still run; the run fails at the end
    WARN = "warn"  # reported, the run goes on and does not fail (a Slack message)


class Status(str, enum.Enum):
    """How a run of a plan ended."""

    DRY_RUN = "dry_run"
    NOTHING_TO_DO = "nothing_to_do"
    DONE = "done"
    FAILED = "failed"
    DECLINED = "declined"  # the user answered no: nothing was changed
    INTERRUPTED = "interrupted"
    ERROR = "error"  # planning failed: nothing was changed


@dataclass(frozen=True)
class Target:
    """What a step changes: on which instance or remote, in which project, which object."""

    project: str = ""
    instance: str = ""  # production, dev (API steps)
    remote: str = ""  # dev, gitlab (git steps)
    refs: tuple[str, ...] = ()  # branch and tag names (git) or the branch an API step creates
    issue: str = ""
    merge_request: str = ""
    job: str = ""
    user: str = ""
    group: str = ""
    channel: str = ""  # Slack

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value:
                data[item.name] = list(value) if isinstance(value, tuple) else value
        return data


@dataclass(frozen=True)
class Report:
    """What an action tells about the change it made: one line, and the addresses to see it."""

    text: str = ""
    urls: tuple[str, ...] = ()


Action = Callable[[], "Report | str | None"]


@dataclass(eq=False)
class Step:
    """One change. `done`, `skip`, `result` and `urls` come from planning; the executor
    fills in `state`, `result`, `urls` and `reason` as it runs the step."""

    kind: str  # git.push, issue.create, issue.update, note.create, merge_request.create, ...
    summary: str  # `push 11-1-stable, tag v11.1.0 to dev`: what the step changes, as a verb phrase
    target: Target = Target()
    action: Action | None = field(default=None, repr=False)
    #: Re-reads the world after the action; returns what is wrong, or None.
    check: Callable[[], str | None] | None = field(default=None, repr=False)
    done: bool | None = False  # None: not looked up (a dry run without a token)
    skip: str = ""  # not to be run at all, and why
    details: tuple[str, ...] = ()  # shown under the step in the plan (commits, members)
    preview: str = ""  # shown in a dry run only (an issue's body)
    on_failure: Failure = Failure.STOP
    group: str = ""  # neighbouring steps of the same group may run at the same time
    state: State = State.TO_DO
    result: str = ""  # one line: what it did, or what is already there
    urls: tuple[str, ...] = ()
    reason: str = ""  # why it failed, or why it was skipped

    def __post_init__(self) -> None:
        if self.skip:
            self.state, self.reason = State.SKIPPED, self.skip
        elif self.done is None:
            self.state = State.UNCHECKED
        elif self.done:
            self.state = State.ALREADY_DONE

    @property
    def is_pending(self) -> bool:
        """Still to be done in a real run."""
        return self.state in (State.TO_DO, State.UNCHECKED)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "target": self.target.to_json(),
            "state": self.state.value,
            "result": self.result or None,
            "urls": list(self.urls),
            "reason": self.reason or None,
        }


@dataclass(eq=False)
class Plan:
    """A task's changes in order, with what planning found; after `execute()`, its outcome."""

    task: str  # `tag`, `release_managers.sync`
    subject: str = ""  # what it is about: the version, `master`
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts planning found, shown with the plan
    #: Found while planning, not fatal to the other steps (a missing pipeline): the run fails at the end.
    problems: list[str] = field(default_factory=list)
    security: bool = False
    #: The confirmation question; made from the steps when empty.
    question: str = ""
    #: How many steps of one group run at the same time.
    concurrency: int = 4
    #: One line saying what the run is about, first in chat replies (`11.1.2: picked 7 into gitlab-ee`).
    headline: str = ""
    #: The exit status when problems were found (cherry_pick: 3, some picks need a hand).
    problem_status: int = 1
    dry_run: bool = False
    status: Status | None = None
    error: str = ""

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def pending(self) -> list[Step]:
        return [step for step in self.steps if step.is_pending]

    @property
    def title(self) -> str:
        return " ".join(part for part in (self.task, self.subject) if part)

    @property
    def exit_status(self) -> int:
        """0 for a dry run or a run that did everything; 1 when it failed; `problem_status` for problems."""
        if self.status in (Status.FAILED, Status.DECLINED, Status.INTERRUPTED, Status.ERROR):
            return 1
        if any(step.state is State.FAILED and step.on_failure is not Failure.WARN for step in self.steps):
            return 1
        if self.problems:
            return self.problem_status
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "task": self.task,
            "subject": self.subject or None,
            "dry_run": self.dry_run,
            "security": self.security,
            "status": self.status.value if self.status else None,
            "exit_status": self.exit_status,
            "steps": [step.to_json() for step in self.steps],
            "headline": self.headline or None,
            "notes": list(self.notes),
            "problems": list(self.problems),
            "error": self.error or None,
        }

    # -- what chat replies with ------------------------------------------------------

    def summary_lines(self, limit: int = SUMMARY_LIMIT) -> list[str]:
        """The outcome in a few lines (what chat replies with): the headline and notes, one
        line per step, problems, how it ended. A plan of more than `limit` steps keeps its
        failed steps whole and counts the others by kind and state, with the addresses of
        what they made or found (GitLab turns a long chat reply into a link)."""
        lines = ([self.headline] if self.headline else []) + list(self.notes)
        shown = [step for step in self.steps if step.state is not State.NOT_REACHED]
        if len(shown) <= limit:
            lines += [step_line(step) for step in shown]
        else:
            lines += [step_line(step) for step in shown if step.state is State.FAILED][:limit]
            groups: dict[tuple[str, State], list[Step]] = {}
            for step in shown:
                if step.state is not State.FAILED:
                    groups.setdefault((step.kind, step.state), []).append(step)
            for (kind, state), steps in groups.items():
                verb, noun = _PHRASES.get(kind, ("carry out", "step"))
                word = _STATE_WORDS.get(state, {State.DONE: "done", State.TO_DO: "to do"}.get(state, state.value))
                urls = [url for step in steps for url in step.urls if kind in _LINKED_KINDS]
                lines.append(f"{_MARKS[state]} {verb} {_plural(len(steps), noun)}: {word}" + (f" ({', '.join(urls)})" if urls else ""))
        missed = [step.summary for step in self.steps if step.state is State.NOT_REACHED]
        if missed:
            shown_missed = "; ".join(missed[:limit]) + (f"; and {len(missed) - limit} more" if len(missed) > limit else "")
            lines.append("Not reached: " + shown_missed)
        lines += [f"Problem: {problem}" for problem in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems (see the job log)")
        lines.append(ending(self))
        return lines


@dataclass(frozen=True)
class RunOptions:
    """How `execute()` runs a plan: decided at the task boundary, from flags and the terminal."""

    dry_run: bool = False
    assume_yes: bool = False
    interactive: bool = False  # stdin and stdout are a terminal, outside CI and chat: ask first
    json: bool = False


class PlanFailed(ReleaseToolsError):
    """Raised by `check_done()`: a plan ended without doing everything it set out to."""


# -- showing ---------------------------------------------------------------------------------

_MARKS = {
    State.TO_DO: "·",
    State.UNCHECKED: "?",
    State.ALREADY_DONE: "✓",
    State.SKIPPED: "-",
    State.DONE: "✓",
    State.FAILED: "✗",
    State.NOT_REACHED: "·",
}

_STATE_WORDS = {
    State.ALREADY_DONE: "already done",
    State.UNCHECKED: "not looked up",
    State.SKIPPED: "skipped",
    State.NOT_REACHED: "not reached",
}


def step_line(step: Step) -> str:
    """`✓ push v11.1.0 to dev: already done (…)`: a step with its state and result."""
    text = f"{_MARKS[step.state]} {step.summary}"
    extra = [word for word in (_STATE_WORDS.get(step.state),) if word]
    if step.state is State.FAILED and step.reason:
        extra.append(step.reason)
    elif step.reason and step.state is State.SKIPPED:
        extra.append(step.reason)
    if step.result:
        extra.append(step.result)
    return text + (": " + "; ".join(extra) if extra else "")


def show(plan: Plan, dry_run: bool) -> None:
    """Print the plan before anything happens."""
    security = " (security release: dev only)" if plan.security else ""
    say(f"Plan for {plan.title}{security}:", "blue")
    for note in plan.notes:
        say(f"  {note}")
    for step in plan.steps:
        colour = "green" if step.state is State.ALREADY_DONE else ("yellow" if step.state is State.SKIPPED else None)
        say(f"  {step_line(step)}", colour)
        for line in step.details:
            say(f"      {line}")
        if dry_run and step.preview and step.is_pending:
            say()
            say(step.preview.rstrip("\n"))
            say()
    for problem in plan.problems:
        say(f"  Problem: {problem}", "red", err=True)


def ending(plan: Plan) -> str:
    """The last line of a run: how it ended, counted."""
    count = _counts(plan.steps)
    if plan.status is Status.DRY_RUN:
        pending = len(plan.pending())
        if not pending:
            return "Dry run: nothing would change, everything is done already."
        return f"Dry run: {_plural(pending, 'step')} would be carried out; nothing was changed."
    if plan.status is Status.NOTHING_TO_DO:
        if plan.problems:
            return f"Nothing left to do, but {_plural(len(plan.problems), 'problem')} {'was' if len(plan.problems) == 1 else 'were'} found."
        return "Nothing to do: every step is done already." if plan.steps else "Nothing to do."
    if plan.status is Status.DECLINED:
        return "Not confirmed: nothing was changed."
    if plan.status is Status.INTERRUPTED:
        return f"Interrupted: {count}."
    if plan.status is Status.ERROR:
        return f"Error: {plan.error}"
    if plan.exit_status == 1:
        return f"Failed: {count}."
    if plan.problems:  # left for a person, with an exit status of their own (cherry_pick: 3)
        return f"Done, with {_plural(len(plan.problems), 'problem')}: {count}."
    return f"Done: {count}."


def interruption(plan: Plan) -> str:
    """What an interrupted run did and did not do, in one line."""
    done = [step.summary for step in plan.steps if step.state is State.DONE]
    cut = [step.summary for step in plan.steps if step.state is State.FAILED and step.reason == "interrupted while running"]
    missed = [step.summary for step in plan.steps if step.state is State.NOT_REACHED]
    parts = [f"done: {'; '.join(done)}" if done else "nothing was done"]
    if cut:
        parts.append(f"cut off, may or may not have taken effect: {'; '.join(cut)}")
    if missed:
        parts.append(f"not done: {'; '.join(missed)}")
    return ". ".join(parts) + ". Run the same command again to finish"


def _counts(steps: Sequence[Step]) -> str:
    order = (State.DONE, State.ALREADY_DONE, State.SKIPPED, State.FAILED, State.NOT_REACHED)
    words = {State.DONE: "done", State.ALREADY_DONE: "already done", State.SKIPPED: "skipped",
             State.FAILED: "failed", State.NOT_REACHED: "not reached"}
    parts = [f"{sum(1 for s in steps if s.state is state)} {words[state]}" for state in order
             if any(s.state is state for s in steps)]
    return ", ".join(parts) or "no steps"


# -- asking -------------------------------------------------------------------------------

#: How the question names each kind of step: (verb, noun).
_PHRASES = {
    "issue.create": ("create", "issue"),
    "issue.update": ("update", "issue"),
    "note.create": ("post", "comment"),
    "merge_request.create": ("open", "merge request"),
    "merge_request.update": ("update", "merge request"),
    "branch.create": ("create", "branch"),
    "job.play": ("play", "job"),
    "member.add": ("add", "group member"),
    "member.remove": ("remove", "group member"),
    "label.update": ("relabel", "merge request"),
    "slack.post": ("post", "Slack message"),
}


def question(plan: Plan) -> str:
    """`Push 3 tags and 2 branches to dev, gitlab? [y/N]`: what saying yes will change."""
    if plan.question:
        return plan.question
    pending = plan.pending()
    clauses: list[str] = []
    pushes = [step for step in pending if step.kind == "git.push"]
    if pushes:
        refs = {ref for step in pushes for ref in step.target.refs}
        tags = sum(1 for ref in refs if ref.startswith("refs/tags/"))
        counted = [_plural(tags, "tag") if tags else "", _plural(len(refs) - tags, "branch") if len(refs) > tags else ""]
        remotes = list(dict.fromkeys(step.target.remote for step in pushes))
        clauses.append(f"push {' and '.join(part for part in counted if part) or 'refs'} to {', '.join(remotes)}")
    verbs: dict[str, dict[str, int]] = {}
    places: list[str] = []
    for step in pending:
        if step.kind == "git.push":
            continue
        verb, noun = _PHRASES.get(step.kind, ("carry out", step.kind))
        nouns = verbs.setdefault(verb, {})
        nouns[noun] = nouns.get(noun, 0) + 1
        place = step.target.instance
        if place and place not in places:
            places.append(place)
    for verb, nouns in verbs.items():
        clauses.append(f"{verb} " + " and ".join(_plural(count, noun) for noun, count in nouns.items()))
    text = "; ".join(clauses) or f"carry out {_plural(len(pending), 'step')}"
    where = f" on {', '.join(places)}" if places else ""
    return f"{text[0].upper()}{text[1:]}{where}? [y/N] "


def _plural(count: int, noun: str) -> str:
    """`1 tag`, `2 tags`, `2 branches`."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}{'es' if noun.endswith(('ch', 'sh', 's')) else 's'}"


def ask_terminal(text: str) -> bool:
    """Ask on the terminal (the question on stderr: stdout may carry JSON); only `y`/`yes` is yes."""
    sys.stderr.write(text)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:  # end of input
        sys.stderr.write("\n")
        return False
    return answer.strip().lower() in ("y", "yes")


# -- running -------------------------------------------------------------------------------


def execute(plan: Plan, options: RunOptions, *, ask: Callable[[str], bool] = ask_terminal) -> Plan:
    """Run `plan` as the module docstring says; return it with every step's outcome.

    Never raises for a failed step (its state says it); KeyboardInterrupt (Ctrl-C, or a
    SIGTERM the task boundary turned into one) is re-raised once the plan records it.
    """
    plan.dry_run = options.dry_run
    show(plan, options.dry_run)
    if options.dry_run:
        plan.status = Status.DRY_RUN
        result(ending(plan), "yellow")
        return plan
    if not plan.pending():
        plan.status = Status.NOTHING_TO_DO
        _report_missed(plan)
        result(ending(plan), "red" if plan.problems else "green")
        return plan
    if options.interactive and not options.assume_yes and not ask(question(plan)):
        plan.status = Status.DECLINED
        result(ending(plan), "yellow")
        return plan

    try:
        stopped = _run_steps(plan)
    except (KeyboardInterrupt, Interrupted) as stop:
        plan.status = Status.INTERRUPTED
        for step in plan.steps:
            if step.is_pending:
                step.state, step.reason = State.NOT_REACHED, "interrupted"
        _report_missed(plan)
        result(ending(plan), "red")
        # The boundary's one line says what was done, and the JSON document shows the plan.
        stop.plan = plan  # type: ignore[attr-defined]
        if isinstance(stop, Interrupted) and not stop.progress:
            stop.progress = interruption(plan)
        raise
    if not stopped:
        _verify(plan)
    _report_missed(plan)
    plan.status = Status.FAILED if plan.exit_status == 1 else Status.DONE
    result(ending(plan), "red" if plan.exit_status else "green")
    return plan


def _run_steps(plan: Plan) -> bool:
    """Run the pending steps; True when a failure stopped the plan."""
    for batch in _batches(plan.steps):
        runnable = [step for step in batch if step.is_pending]
        if not runnable:
            continue
        for step in _run_batch(runnable, plan.concurrency):
            _say_step(step)
            if step.state is State.FAILED and step.on_failure is Failure.STOP:
                for later in plan.steps:
                    if later.is_pending:
                        later.state = State.NOT_REACHED
                return True
    return False


def _batches(steps: Sequence[Step]) -> Iterator[list[Step]]:
    """Neighbouring steps of the same group together; every other step on its own."""
    batch: list[Step] = []
    for step in steps:
        if batch and (not step.group or step.group != batch[-1].group):
            yield batch
            batch = []
        batch.append(step)
    if batch:
        yield batch


def _run_batch(steps: list[Step], concurrency: int) -> Iterator[Step]:
    """Run steps (at most `concurrency` at a time when there are several); yield each, in order."""
    if len(steps) == 1 or concurrency <= 1:
        for step in steps:
            _run_one(step)
            yield step
            if step.state is State.FAILED and step.on_failure is Failure.STOP:
                return
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(steps)), thread_name_prefix="step") as pool:
        futures = [pool.submit(_run_one, step) for step in steps]
        for step, future in zip(steps, futures):
            future.result()
            yield step


def _run_one(step: Step) -> None:
    if step.action is None:
        raise AssertionError(f"step {step.summary!r} has nothing to run")
    try:
        report = step.action()
    except ReleaseToolsError as error:
        step.state, step.reason = State.FAILED, str(error)
        return
    except (KeyboardInterrupt, Interrupted):
        # It may or may not have taken effect: a re-run reads the world and knows.
        step.state, step.reason = State.FAILED, "interrupted while running"
        raise
    step.state = State.DONE
    if isinstance(report, Report):
        step.result = report.text or step.result
        step.urls = report.urls or step.urls
    elif isinstance(report, str) and report:
        step.result = report


def _say_step(step: Step) -> None:
    colour = {State.DONE: "green", State.FAILED: "yellow" if step.on_failure is Failure.WARN else "red"}
    line = step_line(step)
    if step.state is State.FAILED and step.on_failure is Failure.WARN:
        say(line, colour[State.FAILED], err=True)
    result(line, colour.get(step.state))


def _verify(plan: Plan) -> None:
    """Re-read what this run changed; a step whose change is not there after all has failed."""
    checked = 0
    for step in plan.steps:
        if step.state is State.DONE and step.check is not None:
            try:
                problem = step.check()
            except ReleaseToolsError as error:
                problem = f"cannot be checked: {error}"
            checked += 1
            if problem:
                step.state, step.reason = State.FAILED, f"not there when read back: {problem}"
                result(step_line(step), "red")
    if checked:
        say(f"Read back {_plural(checked, 'change')}.")


def _report_missed(plan: Plan) -> None:
    missed = [step.summary for step in plan.steps if step.state is State.NOT_REACHED]
    if missed:
        result("Not reached: " + "; ".join(missed), "yellow")
    for problem in plan.problems:
        result(f"Problem: {problem}", "red")


def check_done(plan: Plan) -> Plan:
    """Raise PlanFailed when the plan did not do everything (for callers that need an error)."""
    if plan.exit_status:
        raise PlanFailed(ending(plan))
    return plan


def steps_of(plan: Plan, kind: str) -> list[Step]:
    return [step for step in plan.steps if step.kind == kind]


def merge_plans(task: str, subject: str, plans: Iterable[Plan]) -> Plan:
    """One plan from several (each edition's), in order."""
    merged = Plan(task, subject)
    for part in plans:
        merged.steps += part.steps
        merged.notes += part.notes
        merged.problems += part.problems
        merged.security = merged.security or part.security
    return merged
