"""Several stacks, one ``config.gateway.json`` (issue 17): each stack's part kept on the controller.

A site has one ``config.gateway.json``, and two clusters (two Pulumi stacks, maybe in two
projects) may peer with its gateway. So each stack's whole rendered file (its *part*: the base
file plus its neighbours, filter and host names) is kept beside the live file, in
``.metallb-unifi-parts/<stack id>.json``, with ``<stack id>.claims.json``: what the stack holds on
the gateway (its AS, router id, pools, node addresses, host names; no secret), so that another
stack's install can check itself against it without that stack's config. The live file is every
part merged (:func:`compose`): one stack alone gets its part byte for byte, as before.

Every change runs under the site's lock (``.metallb-unifi.lock``, a symlink made by ``ln -s``,
which fails when it exists): read everything (:func:`parse_read`), plan in Python (this module's
pure ``plan_*`` functions: refusals happen here, before anything is written), upload what changes
into an area the SSH user owns, and commit (``commit.sh``: moves, each checked by sha256, after
checking the lock and the live file again). Two ``pulumi up``s of different stacks at the same
time take turns; neither loses its part. A run that dies leaves the lock; it expires at the time
its holder gave (its longest possible run), and the next run takes it over.

The state file keeps what the single-stack scripts kept (``components/unifi/scripts/common.sh``,
``read_state``): the sha256 installed (and the one before, across a crash between the two
writes), and the user's original; format 2 adds the stacks and the sha256 last provisioned, so a
stack's ``up`` provisions only when the gateway has not had this file yet. A state of format 1
(the release before) names one stack: that stack's next ``up`` takes it over; any other stack is
refused until then (its part and claims are not on the controller yet).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from components.artifacts.shared_gateway import SharedGatewayConflict, claims_conflicts
from components.artifacts.stack_claims import StackClaims
from components.artifacts.usg_gateway import MergeConflict, merge_base
from components.config.stack_names import stack_id
from components.unifi.drift import IN_SYNC, NOT_INSTALLED, Drift, classify_file
from components.unifi.errors import ControllerLockedError, RemoteCommandError, StacksConflictError
from components.unifi.kept_settings import owned_paths
from components.unifi.scripts import (
    PARTS_DIR,
    Frames,
    GatewayScriptError,
    commit_script,
    lock_script,
    parse_outcome,
    prepare_script,
    read_script,
    unlock_script,
)

STATE_FORMAT = 2
LIVE = "config.gateway.json"
STATE = ".metallb-unifi.state"


class Remote(Protocol):
    """What this module needs of an SSH session (``ssh.SshSession``)."""

    @property
    def user(self) -> str: ...

    def run_script(self, script: str, *, sudo: bool) -> Any: ...

    def upload(self, data: bytes, path: str) -> None: ...


class SiteRefusedError(RemoteCommandError):
    """The site's files are not as this program left them; nothing was changed."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the state file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteState:
    stacks: tuple[str, ...]  # stack names, sorted; format 1 names one
    installed: str  # sha256 of the live file as installed ("" never)
    previous: str  # the live file's sha256 before the last install, while it is under way
    original: str | None  # sha256 of the user's original, kept as the backup; None: there was none
    provisioned: str = ""  # sha256 of the live file the gateway was last provisioned with
    format: int = STATE_FORMAT

    @classmethod
    def parse(cls, text: str) -> SiteState:
        values: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key] = value
        try:
            format_ = int(values.get("format", "1"))
        except ValueError:
            format_ = 0
        original = values.get("original")
        if format_ not in (1, STATE_FORMAT) or original not in ("present", "absent") or not values.get("stack"):
            raise SiteRefusedError(f"{STATE} is damaged; fix or remove it by hand")
        stacks = tuple(sorted(values["stack"].split(","))) if format_ == STATE_FORMAT else (values["stack"],)
        return cls(
            stacks=stacks,
            installed=values.get("installed_sha256", ""),
            previous=values.get("previous_sha256", ""),
            original=values.get("original_sha256", "") if original == "present" else None,
            provisioned=values.get("provisioned_sha256", ""),
            format=format_,
        )

    def render(self) -> str:
        """Key=value lines, as ``read_state`` reads them (it ignores the keys it does not know)."""
        lines = [
            f"format={STATE_FORMAT}",
            f"stack={','.join(self.stacks)}",
            f"installed_sha256={self.installed}",
            f"previous_sha256={self.previous}",
            f"original={'absent' if self.original is None else 'present'}",
            f"original_sha256={self.original or ''}",
            f"provisioned_sha256={self.provisioned}",
        ]
        return "\n".join(lines) + "\n"


# --- what the read script printed ----------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One stack's part: its whole config.gateway.json and what it holds on the gateway."""

    content: bytes
    claims: StackClaims

    @property
    def id(self) -> str:
        return self.claims.id


@dataclass(frozen=True)
class Site:
    state: SiteState | None
    live: str | None  # sha256, None: absent
    backup: str | None
    files: Mapping[str, bytes] = field(default_factory=dict)  # the parts directory, by file name
    live_content: bytes | None = None  # the live file itself (read.sh and look.sh print it)

    def parts(self) -> dict[str, Part]:
        """The stacks' parts by stack id; a part without its claims (or the reverse) is refused."""
        ids = {name.removesuffix(".claims.json").removesuffix(".json") for name in self.files}
        parts: dict[str, Part] = {}
        for id_ in sorted(ids):
            content, raw = self.files.get(f"{id_}.json"), self.files.get(f"{id_}.claims.json")
            where = f"{PARTS_DIR}/{id_}"
            if content is None or raw is None:
                raise SiteRefusedError(
                    f"{where}.json or .claims.json is missing: remove the other one by hand, or remove the stack's "
                    f"part with `python -m components.unifi remove-part --stack STACK ...` (docs/several-clusters.md)"
                )
            try:
                claims = StackClaims.from_json(json.loads(raw))
            except ValueError as exc:
                raise SiteRefusedError(f"{where}.claims.json is damaged ({exc}); fix or remove that part") from None
            if claims.id != id_:
                raise SiteRefusedError(f"{where}.claims.json belongs to stack id {claims.id!r}, not {id_!r}")
            parts[id_] = Part(content, claims)
        return parts


def parse_read(stdout: bytes) -> Site:
    """The read script's output (``read.sh``, ``look.sh``: common.sh ``show_site``)."""
    try:
        frames = Frames(stdout)
        state = frames.shown("state")
        content = frames.shown("live")
        backup = _sha_or_none(frames.line(), "backup")
        return Site(
            None if state is None else SiteState.parse(state.decode("utf-8")),
            None if content is None else sha256_hex(content),
            backup,
            frames.parts(),
            content,
        )
    except (GatewayScriptError, UnicodeDecodeError) as exc:
        raise RemoteCommandError(f"the read script printed something unexpected ({exc})") from None


def _sha_or_none(fields: list[str], label: str) -> str | None:
    if len(fields) != 2 or fields[0] != label:
        raise GatewayScriptError(f"expected {label!r} in script output")
    return None if fields[1] == "absent" else fields[1]


# --- composing ------------------------------------------------------------------------------------


def compose(parts: Sequence[Part]) -> bytes:
    """The live file with every part: one part as it is; several merged by the merge that refuses
    two values for one path, written as the renderer writes a file (sorted keys, 4 spaces)."""
    ordered = sorted(parts, key=lambda p: p.id)
    if len(ordered) == 1:
        return ordered[0].content
    document: dict[str, Any] = {}
    for part in ordered:
        try:
            document = merge_base(document, json.loads(part.content))
        except MergeConflict as exc:
            others = ", ".join(str(p.claims) for p in ordered if p is not part)
            raise StacksConflictError(
                f"config.gateway.json: the part of {part.claims} conflicts with {others} at " + "; ".join(exc.conflicts)
            ) from None
        except ValueError:
            raise SiteRefusedError(f"{PARTS_DIR}/{part.id}.json is not JSON; fix or remove that part") from None
    return (json.dumps(document, indent=4, sort_keys=True) + "\n").encode()


def with_other_parts(
    installed: Mapping[str, Any], files: Mapping[str, bytes], own_id: str
) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """For the kept-settings check: ``installed`` merged with the other stacks' parts (as the live
    file will be), and the paths those stacks own. A setting of the user's original that another
    stack keeps or owns is not this stack's to keep. Parts that do not merge are left out here:
    the provision refuses them, naming both stacks."""
    document = dict(installed)
    owned: list[tuple[str, ...]] = []
    for id_, part in sorted(Site(None, None, None, files).parts().items()):
        if id_ == own_id:
            continue
        with contextlib.suppress(MergeConflict, ValueError):
            document = merge_base(document, json.loads(part.content))
        owned += _owned_by(part.claims)
    return document, owned


def _owned_by(claims: StackClaims) -> list[tuple[str, ...]]:
    """What a stack owns in the file, from its claims: each service's host name (and every
    discovered name: the names that are host-name keys), its BGP instance and its filter (the
    IPv6 prefix-list6 and import route-map while a BGP pool of the stack holds IPv6 addresses)."""
    hosts = [name for name, key in claims.host_names if not key.endswith("(its alias)") and ".aliases[" not in key]
    return owned_paths(claims.asn, hosts, claims.filter_names, ipv6=claims.bgp_v6)


# --- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """``commit.sh`` steps, the files they move into place, and what the site is afterwards."""

    expect_live: str | None
    steps: tuple[str, ...] = ()
    uploads: Mapping[str, bytes] = field(default_factory=dict)
    live_after: str | None = None
    state_after: SiteState | None = None

    @property
    def live_changed(self) -> bool:
        return self.live_after != self.expect_live


class _Steps:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.uploads: dict[str, bytes] = {}

    def put(self, name: str, dest: str, data: bytes) -> None:
        self.uploads[name] = data
        self.steps.append(f"put {name} {dest} {sha256_hex(data)}")

    def add(self, step: str) -> None:
        self.steps.append(step)


def site_drift(site: Site) -> Drift:
    """The live file against the installed one (components/unifi/drift.py): in sync, the stacks'
    part to put back, or the user's change to keep. A site without a state holds no stack's file."""
    state = site.state
    if state is None:
        return NOT_INSTALLED
    if site.live == state.installed:
        return IN_SYNC
    if site.live is not None and site.live_content is None:
        raise ValueError("the live file's content is needed to tell whose change it is")
    known = {state.previous: "the file before the last install"} if state.previous else {}
    if state.original is not None:
        known[state.original] = "your original"
    expected: bytes | None = None
    owned: list[tuple[str, ...]] = []
    parts = list(site.parts().values()) if state.format == STATE_FORMAT else []
    if parts:
        with contextlib.suppress(StacksConflictError, SiteRefusedError):
            composed = compose(parts)
            if sha256_hex(composed) == state.installed:
                expected = composed
        for part in parts:
            owned += _owned_by(part.claims)
    return classify_file(site.live_content, installed=state.installed, known=known, expected=expected, owned=owned)


def _refuse_drift(site: Site, stack: str) -> None:
    state = site.state
    if state is None:
        if site.backup is not None and site.backup != site.live:
            raise SiteRefusedError(
                f"the backup {LIVE}.metallb-unifi-original exists but {STATE} does not; nothing changed. If {LIVE} "
                f"is your original, remove the backup; otherwise put the backup back as {LIVE}; then run again"
            )
        return
    drift = site_drift(site)
    if drift.kind == "kept":
        raise SiteRefusedError(
            f"{LIVE} was changed outside metallb-unifi ({drift.what}), so stack {stack!r} does not overwrite it; "
            f"nothing changed. Compare it with {LIVE}.metallb-unifi-original (your original, if any). To keep your "
            f"settings: put them in the file metallb-unifi:gateway.baseConfigFile names, or, to keep the current file "
            f"as your new original, remove {STATE}, that backup and {PARTS_DIR}, then run pulumi up for every stack "
            f"again. To drop the change: copy the backup over it (or remove it if there is no backup), then run again"
        )


def _legacy_parts(site: Site, stack: str) -> dict[str, Part]:
    """The parts a format-2 site holds; a format-1 state is this stack's own install or refused."""
    state = site.state
    if state is None or state.format == STATE_FORMAT:
        return site.parts()
    if state.stacks != (stack,):
        raise StacksConflictError(
            f"{LIVE} is installed by stack {state.stacks[0]!r} with an older release of metallb-unifi, which kept no "
            f"part of it for other stacks; nothing changed. Run `pulumi up` of stack {state.stacks[0]!r} with this "
            f"release once, then run this stack's again"
        )
    return {}


def _write_live(steps: _Steps, site: Site, state: SiteState, composed: bytes) -> SiteState:
    """State first (the new sha and the one before: a crash in between is not a hand edit), the
    file, then the state settled."""
    sha = sha256_hex(composed)
    if site.live == sha:
        state = replace(state, installed=sha, previous="")
        steps.put("state.txt", STATE, state.render().encode())
        return state
    during = replace(state, installed=sha, previous=site.live or "")
    steps.put("state-1.txt", STATE, during.render().encode())
    steps.put("live.json", LIVE, composed)
    settled = replace(during, previous="")
    steps.put("state-2.txt", STATE, settled.render().encode())
    return settled


def plan_install(site: Site, own: Part) -> Plan:
    """Put ``own`` in (or leave it, when it is there already) and compose the live file; refuses,
    before any step, a hand-edited live file, an older release's install of another stack, and
    every conflict with another stack's claims."""
    stack = own.claims.stack
    _refuse_drift(site, stack)
    others = {id_: part for id_, part in _legacy_parts(site, stack).items() if id_ != own.id}
    conflicts = claims_conflicts([own.claims, *(part.claims for part in others.values())])
    if conflicts:
        raise StacksConflictError(SharedGatewayConflict(conflicts).report())
    parts = [own, *others.values()]
    composed = compose(parts)
    sha = sha256_hex(composed)
    old = site.state
    state = SiteState(
        stacks=tuple(sorted(p.claims.stack for p in parts)),
        installed=old.installed if old else "",
        previous="",
        original=old.original if old else site.live,
        provisioned=old.provisioned if old else "",
    )
    steps = _Steps()
    stored = site.files if old is not None and old.format == STATE_FORMAT else {}
    claims = (json.dumps(own.claims.to_json(), indent=2, sort_keys=True) + "\n").encode()
    if stored.get(f"{own.id}.json") != own.content:
        steps.put("part.json", f"{PARTS_DIR}/{own.id}.json", own.content)
    if stored.get(f"{own.id}.claims.json") != claims:
        steps.put("claims.json", f"{PARTS_DIR}/{own.id}.claims.json", claims)
    if old is None:
        steps.add("keep-original")  # copies the live file, if any, once
    if old is not None and not steps.steps and old == replace(state, installed=old.installed) and site.live == sha:
        return Plan(site.live, live_after=site.live, state_after=old)
    state = _write_live(steps, site, state, composed)
    return Plan(site.live, tuple(steps.steps), steps.uploads, sha, state)


def plan_remove(site: Site, stack: str) -> Plan:
    """Take ``stack``'s part out: compose the others' parts, or put the user's original back (or
    remove the file, if there was none) when no stack is left. Nothing to do without a state."""
    state = site.state
    if state is None:
        return Plan(site.live, live_after=site.live)
    if state.format != STATE_FORMAT and state.stacks != (stack,):
        raise SiteRefusedError(
            f"{LIVE} is managed by stack {state.stacks[0]!r} (see {STATE}), not {stack!r}; nothing changed"
        )
    _refuse_drift(site, stack)
    own = stack_id(stack)
    parts = site.parts() if state.format == STATE_FORMAT else {}
    steps = _Steps()
    for name in (f"{own}.json", f"{own}.claims.json"):
        if name in site.files:
            steps.add(f"remove {PARTS_DIR}/{name}")
    others = [part for id_, part in parts.items() if id_ != own]
    if others:
        remaining = replace(state, stacks=tuple(sorted(p.claims.stack for p in others)), format=STATE_FORMAT)
        if remaining == state and not steps.steps:
            return Plan(site.live, live_after=site.live, state_after=state)
        settled = _write_live(steps, site, remaining, compose(others))
        return Plan(site.live, tuple(steps.steps), steps.uploads, settled.installed, settled)
    if state.original is not None:
        if site.backup is not None or site.live != state.original:  # else: back already (a run stopped half-way)
            steps.add(f"restore-original {state.original}")
    elif site.live is not None:
        steps.add("remove-live")
    steps.add(f"remove {STATE}")
    steps.add("remove-parts-dir")
    return Plan(site.live, tuple(steps.steps), steps.uploads, state.original, None)


def plan_provisioned(site: Site, sha: str) -> Plan:
    """Record that the gateway was provisioned with the live file ``sha``."""
    if site.state is None or site.live != sha or site.state.provisioned == sha:
        return Plan(site.live, live_after=site.live, state_after=site.state)
    steps = _Steps()
    state = replace(site.state, provisioned=sha, format=STATE_FORMAT)
    steps.put("state.txt", STATE, state.render().encode())
    return Plan(site.live, tuple(steps.steps), steps.uploads, site.live, state)


# --- over SSH ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteJob:
    """Where the site's files are and how to change them."""

    site_dir: str
    stack: str
    sudo: bool
    owner: str | None = None  # None: the site directory's owner
    hold_s: int = 1800  # the longest this run can hold the lock (the lock expires after it)
    wait_s: float = 1800.0  # how long to wait for another run's lock
    poll_s: float = 2.0


def run_checked(remote: Remote, name: str, script: str, *, sudo: bool) -> str:
    """Run a controller-side script; a non-zero exit becomes one line with its stderr message
    (the scripts never print file contents on stderr, so the message holds no secret)."""
    result = remote.run_script(script, sudo=sudo)
    if result.exit_code != 0:
        message = " ".join(result.stderr.split()) or "no message"
        raise RemoteCommandError(f"the {name} script on {remote} exited {result.exit_code}: {message}")
    return str(result.stdout)


def _holder(job: SiteJob, remote: Remote) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._:@,()/+-")
    stack = "".join(c if c in allowed else "-" for c in job.stack)[:80]
    return f"stack {stack} as {remote.user}"


def acquire_lock(
    remote: Remote,
    job: SiteJob,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Take the site's lock (waiting up to ``job.wait_s`` while another run holds it); its token."""
    if job.owner is not None:  # an install: a new site's directory is made as the controller makes it
        run_checked(remote, "prepare", prepare_script(site_dir=job.site_dir, owner=job.owner), sudo=job.sudo)
    token = secrets.token_hex(16)
    script = lock_script(
        site_dir=job.site_dir,
        owner=job.owner,
        upload_user=remote.user,
        token=token,
        hold_s=job.hold_s,
        holder=_holder(job, remote),
    )
    deadline = clock() + job.wait_s
    waiting_for = None
    while True:
        outcome = (run_checked(remote, "lock", script, sudo=job.sudo).strip().splitlines() or [""])[-1]
        word, _, rest = outcome.partition(" ")
        if word == "locked":
            return token
        if word == "taken-over":
            say(f"took over {job.site_dir}'s lock from {rest}: its time ran out")
            return token
        if word == "retry":  # given back while the script looked: try again at once, within the wait
            if clock() < deadline:
                continue
            seconds, holder = "0", "another run"
        elif word == "held":
            seconds, _, holder = rest.partition(" ")
        else:
            raise RemoteCommandError(f"the lock script printed {outcome[:60]!r}")
        if clock() >= deadline:
            raise ControllerLockedError(
                f"{job.site_dir} is locked by {holder} (for up to {seconds} s more): another stack's pulumi up is "
                f"changing config.gateway.json; run again when it is done"
            )
        if holder != waiting_for:
            say(f"waiting: {holder} holds {job.site_dir}'s lock (for up to {seconds} s more)")
            waiting_for = holder
        sleep(job.poll_s)


def release_lock(remote: Remote, job: SiteJob, token: str) -> None:
    run_checked(remote, "unlock", unlock_script(site_dir=job.site_dir, token=token), sudo=job.sudo)


def read_site(remote: Remote, job: SiteJob, token: str) -> Site:
    stdout = run_checked(remote, "read", read_script(site_dir=job.site_dir, token=token), sudo=job.sudo)
    return parse_read(stdout.encode("utf-8"))


def commit(remote: Remote, job: SiteJob, token: str, plan: Plan) -> bool:
    """Upload the plan's files and carry out its steps; True if the live file changed."""
    if not plan.steps:
        return False
    incoming = f"{job.site_dir}/.metallb-unifi-incoming"
    for name, data in plan.uploads.items():
        remote.upload(data, f"{incoming}/{name}")
    try:
        script = commit_script(
            site_dir=job.site_dir, owner=job.owner, token=token, expect_live=plan.expect_live, plan=list(plan.steps)
        )
    except GatewayScriptError as exc:  # a bug: the plans only make valid steps
        raise RemoteCommandError(str(exc)) from None
    try:
        return parse_outcome(run_checked(remote, "commit", script, sudo=job.sudo))
    except GatewayScriptError as exc:
        raise RemoteCommandError(f"the commit script on {remote}: {exc}") from None
