"""Human in the loop: who holds a desktop, and a person's answers to an agent's requests.

Each session has a :class:`Gate` (on the session's event loop). It knows who has control — the agent (programs:
``Desktop`` calls, REST batches, MCP tools) or a person who took over — and the approvals waiting for a person's
answer. Pages (the widget, the full-page viewer, the class page) learn of changes by long-polling
:meth:`Gate.watch` and answer with :meth:`Gate.decide`; a person's own input (a viewer's RFB stream) never passes
here and never waits.

The policy that decides what needs a person's approval is ``Desktop``'s (:func:`verdicts`): a callable or a
built-in, evaluated where the program runs; only its "ask" reaches the gate (:meth:`Gate.ask`).

A policy:

- ``None``: every action goes through (the default);
- a callable ``(action: dict) -> bool | "always" | "ask"``: True sends it, False denies it, ``"always"`` sends
  it and every later action of its kind, ``"ask"`` asks a person;
- ``"ask"``: a person approves every action except ``wait`` and ``move``;
- ``"deny-typing"``: keys are refused (``type``, ``press``, ``key_down``, ``key_up``), the rest goes through;
- a dict of rules by action kind, ``{"type": "ask", "press": "deny", "*": "allow"}`` (``"*"``: the others;
  default ``"allow"``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .actions import ACTIONS
from .errors import DesktopNotFoundError, InvalidInputError, LimitError

__all__ = ["Gate", "verdicts", "check_policy", "DECISIONS", "MAX_PENDING", "MAX_ASK_WAIT", "MAX_WATCH", "MAX_CONTROL_WAIT"]

DECISIONS = ("approve", "always", "deny")
VERDICTS = ("allow", "deny", "ask", "always")
MAX_PENDING = 16  # approvals waiting at once, per desktop
MAX_ASK_WAIT = 3600.0  # seconds an approval may wait for its answer
MAX_WATCH = 60.0  # seconds a page's long-poll waits for a change
MAX_CONTROL_WAIT = 24 * 3600.0  # seconds an agent's action may wait for a person to hand the desktop back
MAX_ASKED = 100  # actions one approval shows
KEYS = frozenset({"type", "press", "key_down", "key_up"})
HARMLESS = frozenset({"wait", "move"})


def check_policy(policy: Any) -> Any:
    """``policy`` if it is one (see the module's docstring), else InvalidInputError saying what one is."""
    if policy is None or callable(policy) or policy in ("ask", "deny-typing"):
        return policy
    if isinstance(policy, Mapping):
        for kind, verdict in policy.items():
            if kind != "*" and kind not in ACTIONS:
                raise InvalidInputError(f"approve: unknown action kind {kind!r} in the rules; the kinds are {', '.join(ACTIONS)} and '*'")
            if verdict not in ("allow", "deny", "ask"):
                raise InvalidInputError(f"approve: the rule for {kind!r} must be 'allow', 'deny' or 'ask', not {verdict!r}")
        return dict(policy)
    raise InvalidInputError(
        "approve must be None, a callable (action) -> True | False | 'always' | 'ask', 'ask', 'deny-typing', or "
        f"rules by action kind such as {{'type': 'ask', '*': 'allow'}}; not {policy!r:.80}"
    )


def _verdict(policy: Any, action: Mapping[str, Any]) -> str:
    kind = action.get("action")
    if policy is None:
        return "allow"
    if policy == "ask":
        return "allow" if kind in HARMLESS else "ask"
    if policy == "deny-typing":
        return "deny" if kind in KEYS else "allow"
    if isinstance(policy, Mapping):
        return str(policy.get(kind, policy.get("*", "allow")))
    answer = policy(dict(action))
    if answer is True:
        return "allow"
    if answer is False:
        return "deny"
    if answer in ("always", "ask"):
        return str(answer)
    raise InvalidInputError(f"the approve callable answered {answer!r:.80} for {dict(action)!r:.200}; it answers True, False, 'always' or 'ask'")


def verdicts(policy: Any, actions: Sequence[Mapping[str, Any]], allowed: set[str]) -> list[str]:
    """Each action's verdict under ``policy`` ("allow", "deny", "ask", "always"); kinds in ``allowed`` (approved
    "always" before) are "allow"."""
    return ["allow" if a.get("action") in allowed else _verdict(policy, a) for a in actions]


class _Pending:
    def __init__(self, request: int, actions: list[dict[str, Any]], timeout: float, source: str) -> None:
        self.request = request
        self.actions = actions
        self.asked = time.time()
        self.deadline = self.asked + timeout
        self.source = source
        self.answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "actions": self.actions, "asked": self.asked, "deadline": self.deadline, "source": self.source}


class Gate:
    """Who holds one desktop, and the approvals waiting for a person (all methods on the session's loop).

    ``on_event(kind, detail)`` hears each request, decision and change of control (the session notes them in its
    recording)."""

    def __init__(self, on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.holder = "agent"
        self.by: str | None = None  # the person holding it
        self.since = time.time()
        self.version = 0
        self.pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.on_event = on_event
        self.watchers = 0  # pages long-polling watch now
        self.last_watch = 0.0  # when one last did (monotonic)

    # ------------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "by": self.by,
            "since": self.since,
            "version": self.version,
            "pending": [p.to_dict() for p in self.pending.values()],
            "watched": self.watched(),  # a page watches (or did within a minute): someone can answer
        }

    def _bump(self, kind: str, detail: dict[str, Any]) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        if self.on_event is not None:
            try:
                self.on_event(kind, detail)
            except Exception:  # noqa: BLE001 - an audit hook must not break control
                pass

    async def watch(self, version: int = -1, timeout: float = 30.0) -> dict[str, Any]:
        """The state once its version differs from ``version`` (at once if it does), or after ``timeout`` s."""
        _seconds("timeout", timeout, MAX_WATCH)
        self.watchers += 1
        try:
            if version == self.version:
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.watchers -= 1
            self.last_watch = time.monotonic()
        return self.state()

    def watched(self, within: float = 60.0) -> bool:
        """Someone (a page) is watching, or did within ``within`` seconds."""
        return self.watchers > 0 or time.monotonic() - self.last_watch < within

    # ------------------------------------------------------------------ control

    def take_over(self, by: str) -> dict[str, Any]:
        if self.holder != "person" or self.by != by:
            self.holder, self.by, self.since = "person", by or "someone", time.time()
            self._bump("take_over", {"by": self.by})
        return self.state()

    def hand_back(self, by: str) -> dict[str, Any]:
        if self.holder != "agent":
            self.holder, self.by, self.since = "agent", None, time.time()
            self._bump("hand_back", {"by": by or "someone"})
        return self.state()

    async def wait_for_control(self, timeout: float) -> bool:
        """True once the agent holds the desktop (at once if it does); False if ``timeout`` came first."""
        _seconds("timeout", timeout, MAX_CONTROL_WAIT)
        deadline = time.monotonic() + timeout
        while self.holder != "agent":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except asyncio.TimeoutError:
                return self.holder == "agent"
        return True

    # ------------------------------------------------------------------ approvals

    async def ask(self, actions: Sequence[Mapping[str, Any]], timeout: float, source: str = "agent") -> dict[str, Any]:
        """Wait for a person's answer to ``actions``: {"decision": "approve" | "always" | "deny" | "timeout",
        "by", "request"}. At most ``MAX_PENDING`` wait at once (LimitError)."""
        _seconds("timeout", timeout, MAX_ASK_WAIT)
        if not isinstance(actions, (list, tuple)) or not actions or not all(isinstance(a, Mapping) for a in actions):
            raise InvalidInputError("ask: actions must be a non-empty list of actions (dicts of the action vocabulary)")
        if len(actions) > MAX_ASKED:
            raise InvalidInputError(f"ask: at most {MAX_ASKED} actions in one approval (MAX_ASKED), not {len(actions)}")
        if len(self.pending) >= MAX_PENDING:
            raise LimitError(f"{MAX_PENDING} approvals are waiting for a person on this desktop already (MAX_PENDING); answer them first")
        pending = _Pending(next(self._ids), [dict(a) for a in actions], timeout, source)
        self.pending[pending.request] = pending
        self._bump("ask", {"request": pending.request, "actions": pending.actions})
        try:
            return await asyncio.wait_for(asyncio.shield(pending.answer), timeout)
        except asyncio.TimeoutError:
            self.pending.pop(pending.request, None)
            answer = {"request": pending.request, "decision": "timeout", "by": None}
            self._bump("decide", answer)
            return answer
        finally:
            if self.pending.pop(pending.request, None) is not None:  # the asker went away (cancelled)
                self._bump("withdrawn", {"request": pending.request})

    def decide(self, request: int, decision: str, by: str) -> dict[str, Any]:
        """A person's answer to a waiting approval: approve (this once), always (this kind from now on), deny."""
        if decision not in DECISIONS:
            raise InvalidInputError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r:.40}")
        pending = self.pending.get(request)
        if pending is None or pending.answer.done():
            raise DesktopNotFoundError(f"no approval {request!r:.40} is waiting (answered, timed out, or never asked)")
        answer = {"request": request, "decision": decision, "by": by or "someone"}
        pending.answer.set_result(answer)
        self.pending.pop(request, None)
        self._bump("decide", answer)
        return answer


def _seconds(name: str, value: Any, most: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= most:
        raise InvalidInputError(f"{name} must be a number of seconds in 0..{most:g}, not {value!r:.40}")
