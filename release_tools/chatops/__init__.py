"""ChatOps: release tasks run from chat (`/chatops run tag 11.1.0`) through GitLab CI, as
one more caller of the task collection (`release_tools.cli.ns`).

GitLab runs the CI job named after the command in a chat pipeline, with the arguments in
`CHAT_INPUT` and the channel in `CHAT_CHANNEL`, and posts the job's `chat_reply` section
back to the channel. The entrypoint (`entrypoint.main`):

1. answers `--help` for a command from its task's docstring and `help=` (it runs nothing
   and makes no request);
2. identifies who runs the job (`identity`): through the API with the job's own
   CI_JOB_TOKEN rather than from variables anyone running a pipeline could set, and checks
   them against the release managers file, before anything else;
3. splits the arguments like a shell would, without ever handing them to one, and parses
   them with invoke's parser over the task's own arguments, as far as the policy table
   (`policy`) lets chat set them (`commands`);
4. calls the task through the collection with a Context configured as the command line
   would be, and replies with its plan's outcome (`reply`), or with one error line.

    python -m release_tools.chatops COMMAND     # arguments in CHAT_INPUT
    python -m release_tools.chatops             # the original's trigger style: TASK,
                                                # RELEASE_VERSION (comma-separated), RELEASE_USER
"""

from .entrypoint import main

__all__ = ["main"]
