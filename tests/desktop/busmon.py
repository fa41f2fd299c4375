"""Reading what dbus-monitor printed: the Notify and CloseNotification calls the app made."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_STRING = re.compile(r'^string "(.*)"$')
_BASIC = re.compile(r"^(byte|uint32|int32|boolean) (\S+)$")


@dataclass
class NotifyCall:
    replaces_id: int = -1
    icon: str = ""
    summary: str = ""
    body: str = ""
    actions: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    expire_timeout: int = 0

    @property
    def urgency(self) -> int:
        return int(self.hints.get("urgency", "-1"))


def _messages(text: str) -> list[tuple[str, list[str]]]:
    messages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line and not line.startswith(" "):
            messages.append((line, []))
        elif messages and line.strip():
            messages[-1][1].append(line.strip())
    return messages


def _parse_notify(lines: list[str]) -> NotifyCall:
    call = NotifyCall()
    values: list[str] = []  # the five leading basic arguments
    i = 0
    while i < len(lines) and len(values) < 5:
        m = _STRING.match(lines[i]) or _BASIC.match(lines[i])
        if m:
            values.append(m.groups()[-1])
        i += 1
    _app, replaces, call.icon, call.summary, call.body = values
    call.replaces_id = int(replaces)
    assert lines[i] == "array [", lines[i:]
    i += 1
    while lines[i] != "]":
        m = _STRING.match(lines[i])
        if m:
            call.actions.append(m.group(1))
        i += 1
    i += 1  # the hints
    key = None
    while i < len(lines):
        line = lines[i]
        m = _STRING.match(line)
        if line.startswith("variant"):
            value = line.removeprefix("variant").strip()
            vm = _STRING.match(value) or _BASIC.match(value)
            if key is not None and vm:
                call.hints[key] = vm.groups()[-1]
            key = None
        elif m and key is None:
            key = m.group(1)
        elif _BASIC.match(line) and line.startswith("int32"):
            call.expire_timeout = int(line.split()[1])
        i += 1
    return call


def notify_calls(path: Path) -> list[NotifyCall]:
    calls = []
    for head, lines in _messages(path.read_text(errors="replace")):
        if head.startswith("method call") and "member=Notify" in head:
            calls.append(_parse_notify(lines))
    return calls


def closed_ids(path: Path) -> list[int]:
    closed = []
    for head, lines in _messages(path.read_text(errors="replace")):
        if head.startswith("method call") and "member=CloseNotification" in head and lines:
            closed.append(int(lines[0].split()[1]))
    return closed
