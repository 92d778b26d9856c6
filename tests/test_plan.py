"""The plan/step engine on its own: states, the order of a run, stopping, verifying, asking, JSON."""

from __future__ import annotations

import json
import threading
import time

import pytest

from release_tools.errors import GitLabError
from release_tools.plan import (
    SCHEMA,
    Failure,
    Plan,
    Report,
    RunOptions,
    State,
    Status,
    Step,
    Target,
    execute,
    question,
)


class World:
    """What the steps change: a list of what was done, in order."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def action(self, name: str, fail: str | None = None, report: Report | str | None = None):
        def run():
            if fail:
                raise GitLabError(fail)
            self.done.append(name)
            return report

        return run


def plan_of(world: World, *specs: dict) -> Plan:
    plan = Plan("tag", "11.1.0")
    for spec in specs:
        name = spec.pop("name")
        plan.add(Step(spec.pop("kind", "git.push"), name, action=world.action(name, spec.pop("fail", None),
                                                                              spec.pop("report", None)), **spec))
    return plan


def test_a_dry_run_shows_the_plan_and_runs_nothing(capsys):
    world = World()
    plan = plan_of(world, {"name": "push to dev"}, {"name": "push to gitlab", "done": True})

    execute(plan, RunOptions(dry_run=True))

    assert world.done == []
    assert plan.status is Status.DRY_RUN
    assert [step.state for step in plan.steps] == [State.TO_DO, State.ALREADY_DONE]
    out = capsys.readouterr().out
    assert "· push to dev" in out and "✓ push to gitlab: already done" in out
    assert "Dry run: 1 step would be carried out; nothing was changed." in out
    assert plan.exit_status == 0


def test_a_real_run_does_what_is_not_done_in_order_and_skips_the_rest(capsys):
    world = World()
    plan = plan_of(
        world,
        {"name": "one"},
        {"name": "two", "done": True},
        {"name": "three", "report": Report("created", ("https://x/1",))},
        {"name": "four", "skip": "SLACK_TAG_URL is not set"},
    )

    execute(plan, RunOptions())

    assert world.done == ["one", "three"]
    assert [step.state for step in plan.steps] == [State.DONE, State.ALREADY_DONE, State.DONE, State.SKIPPED]
    assert plan.steps[2].result == "created" and plan.steps[2].urls == ("https://x/1",)
    assert plan.status is Status.DONE and plan.exit_status == 0
    out = capsys.readouterr().out
    assert "✓ three: created" in out
    assert "Done: 2 done, 1 already done, 1 skipped." in out


def test_the_first_failure_stops_the_plan_and_names_what_was_not_reached(capsys):
    world = World()
    plan = plan_of(world, {"name": "one"}, {"name": "two", "fail": "gitlab refused"}, {"name": "three"})

    execute(plan, RunOptions())

    assert world.done == ["one"]
    assert [step.state for step in plan.steps] == [State.DONE, State.FAILED, State.NOT_REACHED]
    assert plan.steps[1].reason == "gitlab refused"
    assert plan.status is Status.FAILED and plan.exit_status == 1
    out = capsys.readouterr().out
    assert "✗ two: gitlab refused" in out
    assert "Not reached: three" in out


def test_a_step_that_continues_lets_the_others_run_but_fails_the_run():
    world = World()
    plan = plan_of(world, {"name": "one", "fail": "no", "on_failure": Failure.CONTINUE}, {"name": "two"})

    execute(plan, RunOptions())

    assert world.done == ["two"]
    assert plan.exit_status == 1 and plan.status is Status.FAILED


def test_a_warning_step_fails_without_failing_the_run(capsys):
    world = World()
    plan = plan_of(world, {"name": "post to Slack", "fail": "Slack refused", "on_failure": Failure.WARN},
                   {"name": "two"})

    execute(plan, RunOptions())

    assert world.done == ["two"]
    assert plan.exit_status == 0
    assert "✗ post to Slack: Slack refused" in capsys.readouterr().err


def test_nothing_to_do_when_every_step_is_done():
    world = World()
    plan = plan_of(world, {"name": "one", "done": True})

    execute(plan, RunOptions(interactive=True), ask=lambda text: pytest.fail("asked with nothing to do"))

    assert plan.status is Status.NOTHING_TO_DO and world.done == []


def test_a_check_that_finds_the_change_missing_fails_the_step():
    world = World()
    plan = plan_of(world, {"name": "one"}, {"name": "two"})
    plan.steps[0].check = lambda: None
    plan.steps[1].check = lambda: "dev has v11.1.0 at 1234"

    execute(plan, RunOptions())

    assert plan.steps[0].state is State.DONE
    assert plan.steps[1].state is State.FAILED
    assert "not there when read back: dev has v11.1.0 at 1234" in plan.steps[1].reason
    assert plan.exit_status == 1


def test_problems_found_while_planning_fail_the_run_with_their_status():
    world = World()
    plan = plan_of(world, {"name": "one"})
    plan.problems.append("no pipeline for 11.1.0+ce.0")
    plan.problem_status = 3

    execute(plan, RunOptions())

    assert world.done == ["one"]
    assert plan.exit_status == 3


def test_problems_with_a_status_of_their_own_end_the_run_done_with_problems_not_failed(capsys):
    plan = plan_of(World(), {"name": "one"})
    plan.problems.append("!3 needs a manual pick")
    plan.problem_status = 3

    execute(plan, RunOptions())

    assert plan.status is Status.DONE
    assert capsys.readouterr().out.splitlines()[-1] == "Done, with 1 problem: 1 done."


@pytest.mark.parametrize("answer, expected", [(True, ["one"]), (False, [])], ids=["yes", "no"])
def test_an_interactive_run_asks_first(answer, expected):
    world = World()
    plan = plan_of(world, {"name": "one"})
    asked = []

    execute(plan, RunOptions(interactive=True), ask=lambda text: asked.append(text) or answer)

    assert world.done == expected
    assert len(asked) == 1
    assert plan.status is (Status.DONE if answer else Status.DECLINED)
    assert plan.exit_status == (0 if answer else 1)


def test_yes_and_non_interactive_runs_never_ask():
    for options in (RunOptions(interactive=True, assume_yes=True), RunOptions(interactive=False)):
        world = World()
        plan = plan_of(world, {"name": "one"})
        execute(plan, options, ask=lambda text: pytest.fail("asked"))
        assert world.done == ["one"]


def test_the_question_counts_tags_branches_and_remotes():
    plan = Plan("tag", "11.1.0")
    for remote in ("dev", "gitlab"):
        plan.add(Step("git.push", f"push to {remote}", Target(project="gitlab-ee", remote=remote,
                                                               refs=("refs/heads/11-1-stable-ee", "refs/tags/v11.1.0-ee"))))
    plan.add(Step("git.push", "push omnibus", Target(project="omnibus-gitlab", remote="dev",
                                                     refs=("refs/heads/11-1-stable-ee", "refs/tags/11.1.0+ee.0",
                                                           "refs/heads/master"))))

    assert question(plan) == "Push 2 tags and 2 branches to dev, gitlab? [y/N] "


def test_the_question_names_api_changes_and_their_instance():
    plan = Plan("patch_merge_request", "11.1.2")
    for kind in ("branch.create", "merge_request.create", "branch.create", "merge_request.create"):
        plan.add(Step(kind, kind, Target(instance="production")))
    plan.add(Step("issue.create", "done", Target(instance="production"), done=True))

    assert question(plan) == "Create 2 branches; open 2 merge requests on production? [y/N] "


def test_steps_of_one_group_run_at_the_same_time_and_report_in_order():
    barrier = threading.Barrier(3, timeout=5)
    order = []

    def play(name):
        def run():
            barrier.wait()  # all three must be running at once to get past this
            time.sleep(0.01 * (3 - int(name[-1])))
            order.append(name)
            return f"played {name}"
        return run

    plan = Plan("publish", "11.1.0", concurrency=4)
    for index in (1, 2, 3):
        plan.add(Step("job.play", f"job{index}", action=play(f"job{index}"), group="ee"))

    execute(plan, RunOptions())

    assert [step.result for step in plan.steps] == ["played job1", "played job2", "played job3"]
    assert order == ["job3", "job2", "job1"]


def test_an_interrupted_run_records_what_was_not_reached_and_re_raises():
    def interrupt():
        raise KeyboardInterrupt

    world = World()
    plan = plan_of(world, {"name": "one"})
    plan.add(Step("git.push", "two", action=interrupt))
    plan.add(Step("git.push", "three", action=world.action("three")))

    with pytest.raises(KeyboardInterrupt):
        execute(plan, RunOptions())

    assert world.done == ["one"]
    assert plan.status is Status.INTERRUPTED
    assert [step.state for step in plan.steps] == [State.DONE, State.FAILED, State.NOT_REACHED]
    assert plan.steps[1].reason == "interrupted while running"


def test_the_json_document_lists_every_step_with_its_state():
    world = World()
    plan = plan_of(world, {"name": "push to dev"}, {"name": "push to gitlab", "fail": "refused"}, {"name": "notify"})
    plan.steps[0].target = Target(project="gitlab-ee", remote="dev", refs=("refs/tags/v11.1.0-ee",))

    execute(plan, RunOptions())
    document = json.loads(json.dumps(plan.to_json()))

    assert document["schema"] == SCHEMA == 1
    assert document["status"] == "failed" and document["exit_status"] == 1
    assert [(s["summary"], s["state"]) for s in document["steps"]] == [
        ("push to dev", "done"),
        ("push to gitlab", "failed"),
        ("notify", "not_reached"),
    ]
    assert document["steps"][0]["target"] == {"project": "gitlab-ee", "remote": "dev", "refs": ["refs/tags/v11.1.0-ee"]}
    assert document["steps"][1]["reason"] == "refused"


def test_an_unexpected_exception_in_a_step_is_a_bug_and_propagates():
    def broken():
        raise ZeroDivisionError

    plan = Plan("tag")
    plan.add(Step("git.push", "one", action=broken))

    with pytest.raises(ZeroDivisionError):
        execute(plan, RunOptions())


def test_a_signal_during_a_step_says_what_was_done_cut_off_and_not_done():
    import signal

    from release_tools.errors import Interrupted

    def stopped():
        raise Interrupted(signal.SIGTERM)

    world = World()
    plan = plan_of(world, {"name": "push to dev"})
    plan.add(Step("git.push", "push to gitlab", action=stopped))
    plan.add(Step("slack.post", "announce", action=world.action("announce")))

    with pytest.raises(Interrupted) as caught:
        execute(plan, RunOptions())

    assert caught.value.plan is plan
    assert str(caught.value) == (
        "interrupted by SIGTERM: done: push to dev. cut off, may or may not have taken effect: push to gitlab. "
        "not done: announce. Run the same command again to finish"
    )
    assert plan.to_json()["status"] == "interrupted"


def test_a_long_plan_is_summed_up_for_chat_by_kind_and_state_keeping_failures_and_addresses():
    world = World()
    plan = Plan("cherry_pick", "11.1.2", headline="11.1.2: picked 30 into gitlab-ee")
    for number in range(30):
        plan.add(Step("note.create", f"comment on !{number}", action=world.action(str(number))))
    plan.add(Step("note.create", "comment on !99", action=world.action("99", fail="GitLab answered 500")))
    plan.add(Step("merge_request.update", "list the picks", action=world.action("list", report=Report("ok", ("https://mr/1",))),
                  on_failure=Failure.CONTINUE))
    plan.steps[30].on_failure = Failure.CONTINUE

    execute(plan, RunOptions())
    lines = plan.summary_lines()

    assert lines[0] == "11.1.2: picked 30 into gitlab-ee"
    assert "✗ comment on !99: GitLab answered 500" in lines
    assert "✓ post 30 comments: done" in lines
    assert "✓ update 1 merge request: done (https://mr/1)" in lines
    assert len(lines) < 10


def test_a_short_plan_lists_every_step():
    world = World()
    plan = plan_of(world, {"name": "one"}, {"name": "two"})

    execute(plan, RunOptions())

    assert plan.summary_lines() == ["✓ one", "✓ two", "Done: 2 done."]
