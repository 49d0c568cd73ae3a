"""Recording the arguments a session really ran with, from inside the session, without changing user code.

2019 entries parse their flags with argparse and never tell the platform what the defaults were, so the
``-a`` string alone shows ``--lr -`` for a learning rate left at its default. The platform's launcher
(``nsml.entry``) therefore wraps ``argparse.ArgumentParser.parse_args`` and ``parse_known_args`` in the session
process before running the entry. The first top-level parse of the command line (``args`` omitted, or equal to
``sys.argv[1:]``) that succeeds is handed to a callback with its parser: every option's value, defaults
included, and how many values each option takes (for merging fork arguments). Nested parses (subparsers) and
parses of other lists are left alone, and the wrapper changes nothing about what argparse returns or raises.
An entry that does not use argparse records nothing; the platform then falls back to the raw ``-a`` string.

The same wrapping, as a *probe* (``probe_command``), checks an argument string before a session exists: the entry
runs up to that first parse of its command line, argparse's verdict (and every option it knows, for "did you
mean") is written to the file named by ``NSML_ARGS_PROBE``, and the process ends there, so nothing of the entry
after its argument parsing runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Recorder = Callable[[dict[str, Any], list[dict[str, Any]]], None]

_VALUELESS = (argparse._HelpAction, argparse._VersionAction)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return str(value)  # paths, open files, enums: their text is what a person compares


def _display_name(action: argparse.Action) -> str:
    """``--batch_size`` for an option (its first long spelling), the dest for a positional."""
    long = [name for name in action.option_strings if name.startswith("--")]
    return (long or action.option_strings or [action.dest])[0]


def _arity(action: argparse.Action) -> int | None:
    """Values an option takes: 0 for flags (store_true, count), N for nargs=N, None when it varies."""
    if action.nargs is None:
        return 1
    return action.nargs if isinstance(action.nargs, int) else None


def describe(parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> tuple[dict[str, Any], list]:
    """({option: value} in the parser's order, [{options, dest, nargs}]) of one parse.

    The options of the sub-command that was chosen (``add_subparsers(dest=...)``) follow the sub-command itself.
    """
    params: dict[str, Any] = {}
    spec: list[dict[str, Any]] = []
    seen: set[str] = set()
    pending = list(parser._actions)
    while pending:
        action = pending.pop(0)
        if isinstance(action, _VALUELESS) or action.dest == argparse.SUPPRESS:
            continue
        spec.append({"options": list(action.option_strings), "dest": action.dest, "nargs": _arity(action)})
        if action.dest in seen or not hasattr(namespace, action.dest):
            continue  # a second spelling of one value (--foo / --no-foo), or a suppressed default
        seen.add(action.dest)
        value = getattr(namespace, action.dest)
        params[_display_name(action)] = _json_safe(value)
        if isinstance(action, argparse._SubParsersAction) and value in action.choices:
            pending[:0] = action.choices[value]._actions
    return params, spec


@dataclass
class _Watch:
    """Per-process state of the wrapper: how deep in parse calls we are, and whether we recorded already."""

    record: Recorder
    warn: Callable[[str], None]
    depth: int = 0
    done: bool = False
    argv: list[str] = field(default_factory=lambda: sys.argv[1:])


def install(record: Recorder, warn: Callable[[str], None]) -> None:
    """Wrap the parse methods of ``argparse.ArgumentParser`` in this process; ``record`` gets the first parse.

    A failure of ``record`` is passed to ``warn`` and never reaches the user's program.
    """
    watch = _Watch(record, warn)

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def parse(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
            top = watch.depth == 0
            watch.depth += 1
            try:
                result = original(self, args, namespace)
            finally:
                watch.depth -= 1
            if top and not watch.done and (args is None or list(args) == watch.argv):
                watch.done = True
                parsed = result[0] if isinstance(result, tuple) else result
                try:
                    watch.record(*describe(self, parsed))
                except Exception as error:  # noqa: BLE001 - recording must never break the user's run
                    watch.warn(f"could not record the resolved arguments: {error}")
            return result

        return parse

    argparse.ArgumentParser.parse_known_args = wrap(argparse.ArgumentParser.parse_known_args)
    argparse.ArgumentParser.parse_args = wrap(argparse.ArgumentParser.parse_args)


PROBE_ENV = "NSML_ARGS_PROBE"  # the file a probe writes its verdict to
_PROBE_BOOT = ("import sys; sys.path.insert(0, {root!r}); import nsml.argrecord; nsml.argrecord.install_probe(); "
               "import nsml.entry; nsml.entry.main()")


class _Refused(BaseException):
    """argparse's ``error()`` during the probed parse; a BaseException, so an entry's ``except Exception`` around
    its parsing cannot swallow it."""


def probe_command(root: str, entry: str, args: list[str]) -> list[str]:
    """``python -c PROBE ENTRY ARGS``: the entry started as a session starts it (``nsml.entry``), probe installed."""
    return [sys.executable, "-c", _PROBE_BOOT.format(root=root), entry, *args]


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of ``parser`` and of its sub-commands' parsers, in their order."""
    found: list[str] = []
    for action in parser._actions:
        found.extend(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(option_strings(sub))
    return list(dict.fromkeys(found))


def _finish(path: str, verdict: dict[str, Any]) -> None:
    """Write the verdict and end the process at once: no code of the entry after its parse may run."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    with open(path, "w", encoding="utf-8") as out:
        json.dump(verdict, out)
    os._exit(0)


def install_probe() -> None:
    """Wrap argparse so the first top-level parse of the command line writes its verdict and ends the process.

    The verdict is ``{"ok": true}``, or ``{"ok": false, "message": argparse's error, "options": [...]}`` (the
    message is empty when the entry's own ``error()`` exited instead). ``--help`` and ``--version`` end the
    process as usual, without a verdict.
    """
    path = os.environ.pop(PROBE_ENV)
    original_error = argparse.ArgumentParser.error
    state = {"depth": 0, "probing": False}

    def error(self: argparse.ArgumentParser, message: str) -> None:
        if state["probing"]:
            raise _Refused(message)
        original_error(self, message)

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def parse(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
            top = state["depth"] == 0 and (args is None or list(args) == sys.argv[1:])
            state["depth"] += 1
            state["probing"] = state["probing"] or top
            try:
                result = original(self, args, namespace)
            except _Refused as refused:
                if not top:
                    raise
                _finish(path, {"ok": False, "message": str(refused), "options": option_strings(self)})
            except SystemExit as exited:
                if top and exited.code not in (0, None):
                    _finish(path, {"ok": False, "message": "", "options": option_strings(self)})
                raise
            finally:
                state["depth"] -= 1
            if top:
                _finish(path, {"ok": True})
            return result

        return parse

    argparse.ArgumentParser.error = error
    argparse.ArgumentParser.parse_known_args = wrap(argparse.ArgumentParser.parse_known_args)
    argparse.ArgumentParser.parse_args = wrap(argparse.ArgumentParser.parse_args)
