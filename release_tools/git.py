"""The git adapter: a local repository driven through the `git` command.

`Repository` is general purpose (releases, syncing remotes, upstream merges, Helm chart
tags, cherry-picks). Its rules:

- every git command is an argument list, never a shell string, so branch names, commit
  messages and URLs with quotes, spaces, `$()` or backticks are inert;
- paths are paths, never patterns (`GIT_LITERAL_PATHSPECS`): a file named `:(exclude)x`,
  `:!lib` or `*.rb` (a conflicting file, whatever a merge request named it) is that file;
- every command is echoed in cyan first (`[gitlab-ee] git push --atomic dev ...`), on one
  line (control characters escaped), with credentials in remote URLs replaced by `<hidden>`;
- a failing command raises GitError (PushError, MergeConflictError) carrying git's output;
  nothing is silently ignored, push results included;
- `Repository.clone()` is a context manager working in a fresh temporary directory that
  is removed afterwards, also when the block fails or the run is interrupted; a run killed
  outright (SIGKILL) leaves it behind, and the next clone removes it
  (`remove_stale_clones`);
- on a terminal, outside CI and without `--json` (`shows_progress`), clones, fetches and
  pushes show git's own progress on stderr as it comes, and their output is captured all
  the same for error messages; otherwise they are quiet.

Work can be done without a checkout: `ls_tree` and `read_objects` read files at any
commit, `write_history` writes commits and annotated tags in one `git fast-import`,
`merge_trees` and `commit_tree` merge without a working tree (see release_tools/refs.py).

Clones can be shallow (`depth`, or `shallow_exclude`: only the commits a branch has and
another has not), partial (`filter="blob:none"`) and sparse (`sparse=` a list of directories,
cone mode: files at the top level are always there). Later fetches reuse the
clone's filter, and `merge_base(..., deepen=True)` deepens a shallow clone until two
commits' histories meet, which is what a push to a second remote needs: a remote refuses
commits whose parents it does not have ("shallow update not allowed").
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from .output import redact, say
from .errors import GitError, MergeConflictError, PushError, one_line

__all__ = [
    "GitError",
    "Idents",
    "MergeConflictError",
    "MergeResult",
    "NewCommit",
    "NewTag",
    "PickResult",
    "PushError",
    "PushedRef",
    "RemoteRefs",
    "Repository",
    "TreeEntry",
    "environment",
    "identity",
    "idents",
    "list_remote_tags",
    "ls_remote",
    "redact_url",
    "remove_stale_clones",
]

#: Remote names that can be configured with `git clone -c remote.<name>.url=...`; others
#: (allowed by git, never seen in practice) are added with `git remote add` afterwards.
_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

#: The states `git status` gives unmerged paths.
_UNMERGED = ("DD", "AU", "UD", "UA", "DU", "AA", "UU")

#: Deepening steps for `merge_base(..., deepen=True)`; past the last one the clone is unshallowed.
DEEPEN_STEPS = (50, 500, 5000)

#: An echoed command is one line, cut after this many characters (a fetch of many commits by name).
ECHO_LIMIT = 4000

#: Every clone's temporary directory is named `release-tools-<name>-<random>` and holds this
#: file, saying which process made it, on which host and when (`pid=`, `host=`, `created=`).
CLONE_PREFIX = "release-tools-"
OWNER_FILE = ".release-tools-owner"

#: A clone older than this is stale even if its process id is in use again (ids are reused;
#: no run holds a clone that long: the CI jobs time out after 2 hours).
STALE_AFTER = 24 * 3600

#: The folders `remove_stale_clones` has swept in this process.
_swept: set[Path] = set()


def remove_stale_clones(parent: Path | str | None = None) -> list[Path]:
    """Remove the clones that killed runs left in `parent` (the temp folder by default).

    A clone is stale when its owner file names a process that is gone (on this host), or
    when it is older than STALE_AFTER. Only directories of this user that hold a valid
    owner file are considered: a live run's clone, someone else's, a symlink or anything
    without the file (another program's `release-tools-*` folder) is left alone.
    Returns the directories removed.
    """
    root = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = [entry for entry in os.scandir(root) if entry.name.startswith(CLONE_PREFIX)]
    except OSError:
        return []
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            owner = _read_owner(Path(entry.path) / OWNER_FILE)
        except OSError:
            continue
        if owner is not None and _is_stale(*owner):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _write_owner(workdir: Path) -> None:
    (workdir / OWNER_FILE).write_text(f"pid={os.getpid()}\nhost={socket.gethostname()}\ncreated={time.time():.0f}\n")


def _read_owner(path: Path) -> tuple[int, str, float] | None:
    """(pid, host, created) from an owner file, or None when it is missing or malformed."""
    if not path.is_file() or path.is_symlink():
        return None
    fields = dict(line.partition("=")[::2] for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    try:
        return int(fields["pid"]), fields["host"], float(fields["created"])
    except (KeyError, ValueError):
        return None


def _is_stale(pid: int, host: str, created: float) -> bool:
    if time.time() - created > STALE_AFTER:
        return True
    return host == socket.gethostname() and pid > 0 and not _is_running(pid)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def redact_url(text: str) -> str:
    """Hide the user and password part of every URL in `text` (and every known secret)."""
    return redact(text)


#: The environment git runs in, when a caller gave one (see `environment`); else the process's.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("git_environ", default=None)


@contextlib.contextmanager
def environment(environ: Mapping[str, str]) -> Iterator[None]:
    """Run every git command inside the block with `environ` instead of the process environment.

    An entrypoint that is handed its environment (the ChatOps `main(argv, environ)`) passes
    it on this way, so that git commits as the identity, and pushes through the SSH agent,
    that this environment names.
    """
    token = _ENVIRON.set(dict(environ))
    try:
        yield
    finally:
        _ENVIRON.reset(token)


def _environment() -> dict[str, str]:
    # Pass the caller's environment through (identity, SSH agent, proxies), but never let git
    # stop to ask for a password, keep its messages in English so they can be matched, and
    # take every path as it is (no pathspec magic or wildcards in a file's name).
    given = _ENVIRON.get()
    env = dict(os.environ if given is None else given)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C", "GIT_LITERAL_PATHSPECS": "1"})
    return env


def _run(
    args: Sequence[str],
    cwd: Path | str,
    label: str,
    *,
    check: bool = True,
    stdin: str | bytes | None = None,
    binary: bool = False,
    progress: bool = False,
):
    """Run `git <args>` in `cwd`, echoing it first; raise GitError on failure when `check`.

    `binary`: stdin and stdout are bytes. `progress`: git's stderr (its progress meter) is
    shown on the terminal as it comes, and captured all the same for error reporting.
    """
    # One line whatever the arguments hold: a file or branch name can have a line break in it.
    say(one_line(redact_url(f"[{label}] git {shlex.join(args)}"), ECHO_LIMIT), "cyan")
    argv = ["git", *args]
    if progress:
        completed = _run_with_progress(argv, cwd)
    else:
        completed = subprocess.run(
            argv,
            cwd=cwd,
            env=_environment(),
            input=stdin,
            capture_output=True,
            **({} if binary else {"text": True, "encoding": "utf-8", "errors": "replace"}),
        )
    if check and completed.returncode != 0:
        raise _error(GitError, args, completed)
    return completed


def shows_progress() -> bool:
    """Whether long clones, fetches and pushes show git's own progress: stderr is a terminal,
    this is not CI or a chat job, and stdout does not carry JSON."""
    from .output import json_mode

    environ = _ENVIRON.get()
    environ = os.environ if environ is None else environ
    if json_mode() or any(environ.get(name) for name in ("CI", "GITLAB_CI", "CHAT_CHANNEL")):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _quiet_or_progress() -> str:
    return "--progress" if shows_progress() else "--quiet"


def _run_with_progress(argv: Sequence[str], cwd: Path | str) -> subprocess.CompletedProcess:
    """Run a command whose stderr is copied to ours as it comes (git's progress meter redraws
    its line with carriage returns), credentials masked, and kept for error messages."""
    process = subprocess.Popen(
        list(argv), cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    captured: list[str] = []

    def copy() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        for chunk in iter(lambda: process.stderr.read1(4096), b""):  # type: ignore[union-attr]
            text = decoder.decode(chunk)
            captured.append(text)
            pending += text
            cut = max(pending.rfind("\r"), pending.rfind("\n")) + 1
            if cut:  # whole lines only: a URL is masked in one piece
                _show_progress(pending[:cut])
                pending = pending[cut:]
        captured.append(decoder.decode(b"", final=True))
        _show_progress(pending)

    reader = threading.Thread(target=copy, name="git-progress", daemon=True)
    reader.start()
    try:
        stdout = process.stdout.read()  # type: ignore[union-attr]
        returncode = process.wait()
    except BaseException:  # interrupted: the command does not outlive the run
        process.kill()
        process.wait()
        raise
    finally:
        reader.join(timeout=5)
    text = stdout.decode("utf-8", errors="replace")
    return subprocess.CompletedProcess(list(argv), returncode, text, "".join(captured))


def _show_progress(text: str) -> None:
    if not text:
        return
    try:
        sys.stderr.write(redact_url(text))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


_UNREADABLE_REMOTE = "fatal: Could not read from remote repository."


def _error(kind: type[GitError], args: Sequence[str], completed: subprocess.CompletedProcess, **extra) -> GitError:
    def text(value: str | bytes | None) -> str:
        return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value or ""

    output = redact_url(text(completed.stdout) + text(completed.stderr)).strip()
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # git's most telling line is its first `fatal:`/`error:` line, else its last line; when
    # that line only says the remote could not be read, the transport's line before it says
    # why (`ssh: Could not resolve hostname gitlab.com: ...`).
    telling = [line for line in lines if line.startswith(("fatal:", "error:"))][:1]
    reason = (telling or lines or [f"exit status {completed.returncode}"])[-1]
    if reason == _UNREADABLE_REMOTE and lines.index(reason) > 0:
        reason = lines[lines.index(reason) - 1]
    if output:
        say("\n".join("    " + line for line in output.splitlines()), err=True)
    return kind(f"git {args[0]} failed: {reason}", output, **extra)


def identity() -> tuple[str, str] | None:
    """The name and email git would commit with (config or GIT_AUTHOR_* variables), or None."""
    found = idents()
    if found is None:
        return None
    match = re.match(r"(.*?) <(.*?)>", found.author)
    assert match is not None  # idents() checked it
    return match[1].strip(), match[2]


@dataclass(frozen=True)
class Idents:
    """Who commits: git's author and committer lines (`Name <email> 1532100600 +0000`), as
    `git var` gives them from the configuration and the GIT_AUTHOR_*/GIT_COMMITTER_* variables."""

    author: str
    committer: str

    @property
    def name(self) -> str:
        return self.author.split(" <", 1)[0].strip()


def idents() -> Idents | None:
    """Whom git commits as now, or None when it does not know (no name or email)."""
    lines = []
    for variable in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        completed = _run(["var", variable], tempfile.gettempdir(), "git", check=False)
        line = completed.stdout.strip()
        match = re.match(r"(.*?) <(.*?)> \d+ [+-]\d{4}$", line)
        if completed.returncode != 0 or not match or not match[1].strip():
            return None
        lines.append(line)
    return Idents(*lines)


@dataclass(frozen=True)
class RemoteRefs:
    """What `git ls-remote` reports: branch tips, and tags with the commit each points to."""

    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> tag object (or commit, if lightweight)
    tag_commits: dict[str, str] = field(default_factory=dict)  # tag -> commit it points to


def ls_remote(url: str, *, branches: Iterable[str] = (), tags: Iterable[str] = (), label: str = "ls-remote") -> RemoteRefs:
    """Read the named branches and tags of a remote without cloning it (absent ones are left out).

    Raises GitError when the remote cannot be read.
    """
    branches, tags = list(branches), list(tags)
    patterns = [f"refs/heads/{name}" for name in branches]
    for name in tags:
        patterns += [f"refs/tags/{name}", f"refs/tags/{name}^{{}}"]
    output = _run(["ls-remote", "--", url, *patterns], tempfile.gettempdir(), label).stdout
    found: dict[str, str] = {}
    for line in output.splitlines():
        sha, _, ref = line.partition("\t")
        found[ref] = sha
    wanted_branches = set(branches)
    refs = RemoteRefs()
    for ref, sha in found.items():
        if ref.startswith("refs/heads/") and ref[len("refs/heads/") :] in wanted_branches:
            refs.branches[ref[len("refs/heads/") :]] = sha
    for name in tags:
        sha = found.get(f"refs/tags/{name}")
        if sha:
            refs.tags[name] = sha
            refs.tag_commits[name] = found.get(f"refs/tags/{name}^{{}}", sha)
    return refs


def list_remote_tags(url: str, pattern: str = "*", *, label: str = "ls-remote") -> dict[str, str]:
    """Every tag of a remote matching the glob `pattern`, with the commit each points to.

    Raises GitError when the remote cannot be read.
    """
    output = _run(["ls-remote", "--tags", "--", url, f"refs/tags/{pattern}"], tempfile.gettempdir(), label).stdout
    objects: dict[str, str] = {}
    commits: dict[str, str] = {}
    for line in output.splitlines():
        sha, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            commits[name[:-3]] = sha
        else:
            objects[name] = sha
    return {name: commits.get(name, sha) for name, sha in objects.items()}


@dataclass(frozen=True)
class PushedRef:
    """One line of `git push --porcelain`: `flag` is ` ` (fast-forward), `*` (new), `=` (up to date),
    `+` (forced), `-` (deleted) or `!` (rejected)."""

    flag: str
    source: str
    destination: str
    summary: str


@dataclass(frozen=True)
class TreeEntry:
    """A file in a tree: its mode (`100644`, `100755`, `120000`) and its blob."""

    mode: str
    object: str


@dataclass(frozen=True)
class NewCommit:
    """A commit `write_history` makes: on `ref`, after `parent` (an object name, or the index
    of an earlier commit of the same call), with `changes`: path -> (mode, content), or None
    to delete the file."""

    ref: str
    parent: str | int
    message: str
    changes: Mapping[str, tuple[str, bytes] | None]


@dataclass(frozen=True)
class NewTag:
    """An annotated tag `write_history` makes, on an object name or an index of its commits."""

    name: str
    target: str | int
    message: str


def _message(text: str) -> bytes:
    """A commit or tag message as `git commit` stores it: ending in exactly one newline."""
    return (text.rstrip("\n") + "\n").encode("utf-8")


def _fast_import_path(path: str) -> bytes:
    """A path as `git fast-import` reads it: C-style quoted when it needs to be."""
    if not any(character in path for character in '"\\\n') and not path.startswith(" "):
        return path.encode("utf-8")
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'.encode("utf-8")


@dataclass(frozen=True)
class MergeResult:
    """What `Repository.merge` did: `up_to_date`, `merged` or `conflicts` (with the files)."""

    status: str
    conflicts: tuple[str, ...] = ()
    output: str = ""

    @property
    def up_to_date(self) -> bool:
        return self.status == "up_to_date"


@dataclass(frozen=True)
class PickResult:
    """What `Repository.cherry_pick` did: `picked` (a new commit on the branch), `empty` (the
    branch has the change already) or `conflicts` (with the files); the last two leave the
    branch as it was."""

    status: str
    conflicts: tuple[str, ...] = ()

    @property
    def picked(self) -> bool:
        return self.status == "picked"


class Repository:
    """A local git repository with named remotes; see the module docstring for the rules."""

    def __init__(self, path: Path | str, remotes: Iterable[tuple[str, str]] = (), name: str | None = None) -> None:
        self.path = Path(path)
        self.remotes: dict[str, str] = dict(remotes)
        self.name = name or self.path.name
        self._filter: str | None = None

    def __repr__(self) -> str:
        return f"Repository({str(self.path)!r}, name={self.name!r})"

    # -- construction ---------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def clone(
        cls,
        remotes: Sequence[tuple[str, str]],
        *,
        branch: str | None = None,
        depth: int | None = None,
        filter: str | None = None,
        sparse: Sequence[str] | None = None,
        tags: bool = True,
        checkout: bool = True,
        name: str | None = None,
        parent: Path | str | None = None,
        shallow_exclude: str | None = None,
    ) -> Iterator[Repository]:
        """Clone the first (canonical) remote into a new temporary directory, add the others.

        `branch` clones just that branch; `depth`, `filter` and `tags=False` make the clone
        shallow, partial and tagless; `shallow_exclude` (a branch of the remote) leaves out
        every commit that branch has; `sparse` checks out only the top-level files and the
        listed directories; `checkout=False` checks out nothing (work done with explicit
        refs and objects, see `write_history`). The directory is removed when the block
        ends, however it ends. Raises GitError when the clone fails.
        """
        if not remotes:
            raise GitError("nothing to clone: the project has no remote")
        canonical, url = remotes[0]
        name = name or _repository_name(url)
        _sweep(parent)
        workdir = Path(tempfile.mkdtemp(prefix=f"{CLONE_PREFIX}{name}-", dir=parent))
        try:
            _write_owner(workdir)
            path = workdir / name
            args = ["clone", _quiet_or_progress(), "--origin", canonical]
            # The other remotes are configured as the clone starts (one command, not one each).
            later = [(remote, remote_url) for remote, remote_url in remotes[1:] if not _REMOTE_NAME.fullmatch(remote)]
            for remote, remote_url in remotes[1:]:
                if _REMOTE_NAME.fullmatch(remote):
                    args += ["-c", f"remote.{remote}.url={remote_url}"]
                    args += ["-c", f"remote.{remote}.fetch=+refs/heads/*:refs/remotes/{remote}/*"]
            if not checkout:
                args.append("--no-checkout")
            if branch is not None:
                args += ["--branch", branch, "--single-branch"]
            if depth is not None:
                args.append(f"--depth={depth}")
            if shallow_exclude is not None:
                args.append(f"--shallow-exclude={shallow_exclude}")
            if filter is not None:
                args.append(f"--filter={filter}")
            if not tags:
                args.append("--no-tags")
            if sparse is not None:
                args.append("--sparse")
            _run([*args, "--", url, str(path)], workdir, name, progress=args[1] == "--progress")
            repo = cls(path, remotes, name)
            repo._filter = filter
            for remote, remote_url in later:
                repo.git("remote", "add", "--", remote, remote_url)
            if sparse:
                repo.git("sparse-checkout", "set", "--cone", "--", *sparse)
            yield repo
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    # -- running git ------------------------------------------------------------------

    def git(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        """Run `git <args>` here and return its standard output; raises GitError on failure."""
        return _run(args, self.path, self.name, check=check, stdin=stdin).stdout

    def _try(self, *args: str) -> subprocess.CompletedProcess:
        return _run(args, self.path, self.name, check=False)

    # -- refs and history -------------------------------------------------------------

    def rev_parse(self, ref: str) -> str | None:
        """The object name `ref` resolves to, or None."""
        completed = self._try("rev-parse", "--verify", "--quiet", "--end-of-options", ref)
        if completed.returncode != 0:
            return None
        return completed.stdout.strip() or None

    def head(self) -> str:
        """The commit HEAD points to; raises GitError in an empty repository."""
        return self.git("rev-parse", "--verify", "HEAD").strip()

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        completed = self._try("symbolic-ref", "--quiet", "--short", "HEAD")
        if completed.returncode != 0:
            return None
        return completed.stdout.strip() or None

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository").strip() == "true"

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is in the (locally known) history of `descendant`."""
        completed = self._try("merge-base", "--is-ancestor", ancestor, descendant)
        if completed.returncode in (0, 1):
            return completed.returncode == 0
        raise _error(GitError, ["merge-base"], completed)

    def merge_base(self, first: str, second: str, *, deepen: bool = False) -> str | None:
        """The best common ancestor of two commits, or None when none is known.

        With `deepen`, a shallow clone fetches more history from every remote it fetched
        from (50, 500, 5000 more commits, then all of it) until the two histories meet.
        """
        steps: list[int | None] = [*DEEPEN_STEPS, None] if deepen else []
        while True:
            completed = self._try("merge-base", first, second)
            if completed.returncode == 0:
                return completed.stdout.strip()
            if completed.returncode != 1:
                raise _error(GitError, ["merge-base"], completed)
            if not steps or not self.is_shallow():
                return None
            self.deepen(steps.pop(0))

    def deepen(self, commits: int | None) -> None:
        """Fetch `commits` more history for every remote branch fetched so far (None: all of it)."""
        for remote in self.remotes:
            refspecs = [
                f"+refs/heads/{ref.removeprefix(f'refs/remotes/{remote}/')}:{ref}"
                for ref in self.git("for-each-ref", "--format=%(refname)", f"refs/remotes/{remote}/").split()
                if not ref.endswith("/HEAD")
            ]
            # One remote's full history can complete the clone; git refuses to unshallow it twice.
            if refspecs and self.is_shallow():
                if commits is None:
                    self.fetch(remote, *refspecs, unshallow=True)
                else:
                    self.fetch(remote, *refspecs, deepen=commits)

    def log(
        self,
        revision: str = "HEAD",
        *,
        paths: Sequence[str] = (),
        format: str = "%H",
        max_count: int | None = None,
        no_merges: bool = False,
        full_history: bool = False,
    ) -> list[str]:
        """One string per commit, formatted with `format` (`%s` subject, `%B` message, `%an` author),
        newest first (author date order).

        With `paths`, git follows only one side of a merge that kept that side's version of
        them; `full_history` follows every side (who changed a file on *either* branch)."""
        args = ["log", "--author-date-order", f"--format={format}%x00", "--no-color"]
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if no_merges:
            args.append("--no-merges")
        if full_history:
            args.append("--full-history")
        output = self.git(*args, "--end-of-options", revision, "--", *paths)
        return [entry.strip("\n") for entry in output.split("\0")[:-1]]

    # -- remotes ----------------------------------------------------------------------

    def ls_remote(self, remote: str, *, branches: Iterable[str] = (), tags: Iterable[str] = ()) -> RemoteRefs:
        """`ls_remote()` for one of this repository's remotes, by name."""
        return ls_remote(self.remotes[remote], branches=branches, tags=tags, label=self.name)

    def fetch(
        self,
        remote: str,
        *refspecs: str,
        depth: int | None = None,
        deepen: int | None = None,
        unshallow: bool = False,
        tags: bool = False,
        shallow_exclude: str | None = None,
    ) -> None:
        """Fetch `refspecs` (e.g. `+refs/heads/x:refs/remotes/dev/x`, or commits by name) from
        `remote`; `shallow_exclude` (a branch of the remote) leaves out the commits it has.

        A partial clone fetches with its own filter. Raises GitError.
        """
        args = ["fetch", _quiet_or_progress()]
        args.append("--tags" if tags else "--no-tags")
        if depth is not None:
            args.append(f"--depth={depth}")
        if shallow_exclude is not None:
            args.append(f"--shallow-exclude={shallow_exclude}")
        if deepen is not None:
            args.append(f"--deepen={deepen}")
        if unshallow:
            args.append("--unshallow")
        if self._filter:
            args.append(f"--filter={self._filter}")
        _run([*args, "--", remote, *refspecs], self.path, self.name, progress=args[1] == "--progress")

    def fetch_objects(self, remote: str, objects: Iterable[str]) -> None:
        """Fetch objects (e.g. blobs a partial clone lacks) by name from `remote`.

        A partial clone fetches missing blobs on demand, but only from one promisor remote
        per batch: when a merge needs blobs that only a second remote has, fetch them first.
        Raises GitError.
        """
        names = sorted(set(objects))
        if not names:
            return
        args = ["-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if self._filter:
            args.append(f"--filter={self._filter}")
        self.git(*args, "--stdin", "--", remote, stdin="\n".join(names) + "\n")

    def ref_values(self, *patterns: str) -> dict[str, str]:
        """Full ref name -> object name, of every ref matching `patterns` (`refs/remotes/`,
        `refs/tags/v1.0`), in one `git for-each-ref`."""
        output = self.git("for-each-ref", "--format=%(objectname) %(refname)", *patterns)
        return {ref: name for name, _, ref in (line.partition(" ") for line in output.splitlines()) if ref}

    def ls_tree(self, revision: str, paths: Sequence[str] = ()) -> dict[str, TreeEntry]:
        """The files at `revision` under `paths` (files or folders, at any depth): path ->
        TreeEntry. Trees are always in the clone, blobless or not, so this fetches nothing."""
        output = self.git("ls-tree", "-r", "-z", "--end-of-options", revision, "--", *paths)
        entries = {}
        for record in output.split("\0"):
            meta, _, path = record.partition("\t")
            parts = meta.split(" ")
            if path and len(parts) == 3 and parts[1] == "blob":
                entries[path] = TreeEntry(parts[0], parts[2])
        return entries

    def read_objects(self, names: Iterable[str]) -> dict[str, bytes]:
        """The contents of objects, by name, in one `git cat-file --batch`. A partial clone
        fetches those it lacks one by one: fetch them first (`fetch_objects`) when they are
        many. Raises GitError when one does not exist."""
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        request = "\n".join(names).encode() + b"\n"
        output = _run(["cat-file", "--batch"], self.path, self.name, stdin=request, binary=True).stdout
        found: dict[str, bytes] = {}
        position = 0
        for name in names:
            end = output.index(b"\n", position)
            header = output[position:end].decode("utf-8", errors="replace").split(" ")
            if len(header) != 3:
                raise GitError(f"git cat-file failed: {name} is not in {self.name}")
            size = int(header[2])
            found[name] = output[end + 1 : end + 1 + size]
            position = end + 1 + size + 1
        return found

    def write_history(
        self, commits: Sequence[NewCommit], tags: Sequence[NewTag], who: Idents
    ) -> tuple[list[str], list[str]]:
        """Write `commits` (in order; each on its ref, its parent an object name or the index
        of an earlier commit) and annotated `tags`, without a checkout, in one `git
        fast-import`; return the commits' and the tags' object names. Refs are set as given,
        whatever they pointed to. Raises GitError.
        """
        stream = bytearray()

        def data(text: bytes) -> None:
            stream.extend(b"data %d\n" % len(text) + text + b"\n")

        def point(target: str | int) -> bytes:
            return f":{target + 1}".encode() if isinstance(target, int) else target.encode()

        for index, commit in enumerate(commits):
            stream.extend(f"commit {commit.ref}\nmark :{index + 1}\n".encode())
            stream.extend(f"author {who.author}\ncommitter {who.committer}\n".encode())
            data(_message(commit.message))
            stream.extend(b"from " + point(commit.parent) + b"\n")
            for path, change in commit.changes.items():
                if change is None:
                    stream.extend(b"D " + _fast_import_path(path) + b"\n")
                else:
                    mode, content = change
                    stream.extend(f"M {mode} inline ".encode() + _fast_import_path(path) + b"\n")
                    data(content)
        for index, tag in enumerate(tags, start=len(commits)):
            stream.extend(f"tag {tag.name}\nmark :{index + 1}\nfrom ".encode() + point(tag.target) + b"\n")
            stream.extend(f"tagger {who.committer}\n".encode())
            data(_message(tag.message))
        stream.extend(b"done\n")
        marks = self.path / ".git" / "release-tools-marks"
        _run(
            ["fast-import", "--quiet", "--done", "--force", "--date-format=raw", f"--export-marks={marks}"],
            self.path,
            self.name,
            stdin=bytes(stream),
            binary=True,
        )
        names = dict(line.split(" ", 1) for line in marks.read_text(encoding="ascii").splitlines())
        marks.unlink()
        written = [names[f":{index + 1}"].strip() for index in range(len(commits) + len(tags))]
        return written[: len(commits)], written[len(commits) :]

    def merge_trees(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        """Merge two commits without a working tree (`git merge-tree --write-tree`): the merged
        tree, and the paths that conflict (empty when it merged cleanly)."""
        completed = self._try("merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs)
        if completed.returncode not in (0, 1):
            raise _error(GitError, ["merge-tree"], completed)
        lines = [line for line in completed.stdout.split("\n") if line]
        return lines[0], lines[1:] if completed.returncode == 1 else []

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A new commit of `tree` with `parents` (`git commit-tree`); no ref moves."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, "-F", "-", stdin=_message(message).decode("utf-8")).strip()

    def changed_blobs(self, old: str, new: str) -> list[str]:
        """The blobs `new` has at the paths that differ from `old` (added or modified files)."""
        return [after for _, after in self.changed_files(old, new).values() if after]

    def changed_files(self, old: str, new: str) -> dict[str, tuple[str, str]]:
        """path -> (blob in `old`, blob in `new`) of every file that differs ("" where absent);
        submodules left out."""
        output = self.git("diff-tree", "-r", "-z", "--no-abbrev", "--no-renames", old, new, "--")
        records = output.split("\0")
        changed = {}
        for meta, path in zip(records[::2], records[1::2]):
            parts = meta.lstrip(":").split(" ")
            if len(parts) >= 5 and "160000" not in parts[:2]:
                changed[path] = tuple("" if set(blob) == {"0"} else blob for blob in parts[2:4])
        return changed  # type: ignore[return-value]

    def fetch_branch(self, remote: str, branch: str, *, depth: int | None = None) -> str:
        """Fetch `branch` from `remote` into `refs/remotes/<remote>/<branch>`; return its tip."""
        ref = f"refs/remotes/{remote}/{branch}"
        self.fetch(remote, f"+refs/heads/{branch}:{ref}", depth=depth)
        return self.git("rev-parse", "--verify", ref).strip()

    def push(self, remote: str, refspecs: Sequence[str], *, atomic: bool = True, force: bool = False) -> list[PushedRef]:
        """Push `refspecs` to `remote`, all or nothing when `atomic`; return what git reported.

        Raises PushError naming the refused refs and git's reason (hook output included).
        """
        args = ["push", "--porcelain"]
        progress = shows_progress()
        if progress:
            args.append("--progress")
        if atomic:
            args.append("--atomic")
        if force:
            args.append("--force")
        args += ["--", remote, *refspecs]
        completed = _run(args, self.path, self.name, check=False, progress=progress)
        pushed = _parse_porcelain(completed.stdout)
        refused = [ref for ref in pushed if ref.flag == "!"]
        if completed.returncode != 0 or refused:
            detail = "; ".join(f"{ref.destination} {ref.summary}" for ref in refused)
            error = _error(PushError, args, completed)
            message = f"git push to {remote} failed: {detail}" if detail else str(error)
            raise PushError(message, error.output)
        return pushed

    def push_to_all_remotes(self, refspecs: Sequence[str], *, atomic: bool = True) -> dict[str, list[PushedRef]]:
        """Push `refspecs` to every remote in order; the first refusal raises PushError."""
        return {remote: self.push(remote, refspecs, atomic=atomic) for remote in self.remotes}

    def pull(self, remote: str, branch: str, *, depth: int | None = None, ff_only: bool = False) -> MergeResult:
        """Fetch `branch` from `remote` and merge it into the checked-out branch.

        Raises MergeConflictError (after aborting the merge) when the two conflict.
        """
        tip = self.fetch_branch(remote, branch, depth=depth)
        result = self.merge(tip, ff_only=ff_only, message=f"Merge branch '{branch}' of {remote}")
        if result.status == "conflicts":
            self._try("merge", "--abort")
            raise MergeConflictError(
                f"Conflicts were found when pulling {branch} from {remote}: {', '.join(result.conflicts)}",
                result.output,
                result.conflicts,
            )
        return result

    def pull_from_all_remotes(self, branch: str, *, depth: int | None = None) -> dict[str, MergeResult]:
        """`pull(remote, branch)` from every remote in order."""
        return {remote: self.pull(remote, branch, depth=depth) for remote in self.remotes}

    # -- branches and the working tree ----------------------------------------------

    def checkout(self, branch: str, *, start: str | None = None, force: bool = False) -> None:
        """Check out `branch`; with `start`, create (or reset) it there first."""
        args = ["checkout", "--quiet"]
        if force:
            args.append("--force")
        if start is not None:
            args += ["-B", branch, start]
        else:
            args.append(branch)
        self.git(*args, "--")

    def set_branch(self, branch: str, commit: str) -> None:
        """Point `branch` at `commit` (creating it), updating the working tree if it is checked out."""
        if self.current_branch() == branch:
            self.git("reset", "--quiet", "--hard", commit, "--")
        else:
            self.git("branch", "--force", "--", branch, commit)

    def read_file(self, path: str, ref: str | None = None) -> str | None:
        """A file's text from the working tree, or at `ref`; None when it does not exist."""
        if ref is None:
            file = self.path / path
            return file.read_text(encoding="utf-8") if file.is_file() else None
        completed = self._try("cat-file", "blob", f"{ref}:{path}")
        if completed.returncode == 0:
            return completed.stdout
        if self.rev_parse(ref) is None:
            raise _error(GitError, ["cat-file"], completed)
        return None

    def write_file(self, path: str, text: str) -> None:
        """Write a file of the working tree (creating its folders)."""
        file = self.path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    def list_files(self, folder: str, ref: str = "HEAD") -> list[str]:
        """Every file under `folder` at `ref`, at any depth, sorted."""
        output = self.git("ls-tree", "-r", "-z", "--name-only", "--end-of-options", ref, "--", folder.rstrip("/") + "/")
        return sorted(name for name in output.split("\0") if name)

    def remove_files(self, paths: Sequence[str]) -> None:
        """Remove files from the working tree and stage their removal."""
        if paths:
            self.git("rm", "--quiet", "--", *paths)

    def status(self, short: bool = True) -> str:
        return self.git("status", "--porcelain" if short else "--long")

    def conflicts(self) -> list[tuple[str, str]]:
        """`(state, path)` of every unmerged path, state as `git status --short` shows it:
        `UU` both modified, `AA` both added, `DU` deleted by us, `UD` deleted by them, ..."""
        found = []
        entries = iter(self.git("status", "--porcelain=v1", "-z", "--untracked-files=no").split("\0"))
        for entry in entries:
            state, path = entry[:2], entry[3:]
            if state[:1] in ("R", "C"):
                next(entries, None)  # a rename or copy is followed by its source path
            elif state in _UNMERGED:
                found.append((state, path))
        return found

    def conflicted_files(self) -> list[str]:
        """Paths with unresolved merge conflicts."""
        return [name for name in self.git("diff", "--name-only", "--diff-filter=U", "-z").split("\0") if name]

    # -- commits, tags, merges --------------------------------------------------------

    def commit(
        self,
        message: str,
        paths: Sequence[str] = (),
        *,
        all: bool = False,
        amend: bool = False,
        no_edit: bool = False,
        author: str | None = None,
    ) -> str | None:
        """Stage `paths` (or every tracked change with `all`) and commit them.

        Returns the new commit, or None when nothing changed (no empty commits).
        Raises GitError (e.g. no git identity).
        """
        if paths:
            self.git("add", "--", *paths)
        args = ["commit", "--quiet"]
        if all:
            args.append("--all")
        if amend:
            args.append("--amend")
        if author:
            args.append(f"--author={author}")
        if no_edit:
            args.append("--no-edit")
        else:
            args.append("--file=-")
        completed = _run(args, self.path, self.name, check=False, stdin=None if no_edit else message)
        if completed.returncode != 0:
            if not amend and re.search(r"^(nothing to commit|nothing added to commit|no changes added to commit)", completed.stdout, re.M):
                return None
            raise _error(GitError, args, completed)
        return self.head()

    def tag(self, name: str, message: str, ref: str = "HEAD") -> str:
        """Create the annotated tag `name` on `ref`; return the tag object. Raises GitError."""
        self.check_ref_name(f"refs/tags/{name}")
        self.git("tag", "--annotate", "--file=-", "--", name, ref, stdin=message)
        return self.git("rev-parse", "--verify", f"refs/tags/{name}").strip()

    def check_ref_name(self, ref: str) -> None:
        """Raise GitError unless `ref` is a valid reference name."""
        if self._try("check-ref-format", ref).returncode != 0:
            raise GitError(f"{ref!r} is not a valid git reference name")

    def cherry_pick(self, commits: Sequence[str], *, mainline: int | None = None) -> dict[str, PickResult]:
        """Apply `commits`, in order, onto the checked-out branch (one `git cherry-pick` for
        all of them), each as a new commit whose message ends with `(cherry picked from
        commit <commit>)`; `mainline` picks a merge commit's changes against that parent
        (`-m 1`: what the merge brought into its first parent's branch; a commit that is no
        merge is picked as it is).

        One that conflicts, or that would change nothing, is skipped (the branch, index
        and working tree as before it) and the next one goes on. Returns each commit's
        PickResult. Raises GitError for anything else (an unknown commit), having undone
        the whole sequence.
        """
        if not commits:
            return {}
        args = ["cherry-pick", "-x", *(["-m", str(mainline)] if mainline else []), "--end-of-options", *commits]
        stops: dict[str, PickResult] = {}
        completed = self._try(*args)
        while completed.returncode != 0:
            stopped = self.rev_parse("CHERRY_PICK_HEAD")
            conflicts = tuple(self.conflicted_files()) if stopped else ()
            # Stopped with nothing staged and no conflict: the branch has these changes already.
            empty = bool(stopped) and not conflicts and self._try("diff", "--cached", "--quiet").returncode == 0
            if not (conflicts or empty):
                self._try("cherry-pick", "--abort")
                raise _error(GitError, args, completed)
            stops[stopped or ""] = PickResult("conflicts", conflicts) if conflicts else PickResult("empty")
            completed = self._try("cherry-pick", "--skip")
        return {commit: stops.get(commit, PickResult("picked")) for commit in commits}

    def merge(
        self,
        ref: str,
        *,
        no_ff: bool = False,
        ff_only: bool = False,
        message: str | None = None,
        log: bool = False,
    ) -> MergeResult:
        """Merge `ref` into the checked-out branch (the original's `merge <up> <into>` made the
        target a second merge head). Conflicts are returned, not raised, and left in place
        so the caller can resolve, commit or abort them (`git("merge", "--abort")`)."""
        args = ["merge", "--no-edit", "--log" if log else "--no-log"]
        if no_ff:
            args.append("--no-ff")
        if ff_only:
            args.append("--ff-only")
        if message is not None:
            args += ["-m", message]
        completed = self._try(*args, "--end-of-options", ref)
        output = redact_url(completed.stdout + completed.stderr)
        if completed.returncode == 0:
            status = "up_to_date" if re.search(r"Already up[ -]to[ -]date", output) else "merged"
            return MergeResult(status, output=output)
        conflicts = tuple(self.conflicted_files())
        if conflicts:
            return MergeResult("conflicts", conflicts, output)
        raise _error(GitError, args, completed)


def _sweep(parent: Path | str | None) -> None:
    """`remove_stale_clones(parent)`, once per folder and process, saying what it removed."""
    root = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    if root in _swept:
        return
    _swept.add(root)
    for path in remove_stale_clones(root):
        say(f"Removed {path}: a clone left behind by a run that was killed", "yellow")


def _repository_name(url: str) -> str:
    """`git@host:group/gitlab-ee.git` -> `gitlab-ee`."""
    tail = re.split(r"[/:\\]", url.rstrip("/"))[-1]
    tail = tail.removesuffix(".git") or "repository"
    return re.sub(r"[^A-Za-z0-9._-]", "_", tail)


def _parse_porcelain(output: str) -> list[PushedRef]:
    pushed = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            source, _, destination = parts[1].partition(":")
            pushed.append(PushedRef(parts[0], source, destination, parts[2]))
    return pushed
