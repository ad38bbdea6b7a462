"""The emulated worlds kept on disk, so a restarted sandbox carries on where it stopped.

A state file holds the three emulators' worlds (accounts, deployments, jobs, leases, the
scheduled transitions) and the world time when it was written. Loaded again, the worlds
resume at that time: nothing happens in a sandbox while it is not running, and the
deployments keep their ids and states, so a client that remembers them (the shell's
database) sees no change that did not happen.

Format: one line ``deploybot-sandbox-state <FORMAT>``, one line of JSON (``now``, ``schema``,
``saved_at``), then the worlds pickled. Unpickling is restricted (:class:`_WorldUnpickler`):
only classes defined in the ``sandbox`` package and a few plain value types may be built,
and a method may only be looked up on an emulator, by a name its class defines, so a
tampered file cannot run code. ``schema`` is a digest of the worlds' shape (every sandbox
class's fields); a file written by emulators of another shape is refused rather than loaded
into objects that lack fields.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import decimal
import functools
import hashlib
import importlib
import inspect
import io
import json
import os
import pickle
import pkgutil
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sandbox.clock import Clock, ManualClock
from sandbox.common import SandboxAPI

FORMAT = 1
MAGIC = b"deploybot-sandbox-state"
#: Plain value types a world may hold besides the sandbox's own classes.
_VALUE_TYPES: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("collections", "Counter"): collections.Counter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "deque"): collections.deque,
    ("decimal", "Decimal"): decimal.Decimal,
    ("random", "Random"): random.Random,
}


class SandboxStateError(Exception):
    """The state file cannot be used: unreadable, of another format, or of another shape."""


@functools.cache
def world_modules() -> tuple[str, ...]:
    """The modules of the ``sandbox`` package: their classes make up the worlds."""
    import sandbox

    return tuple(f"sandbox.{m.name}" for m in pkgutil.iter_modules(sandbox.__path__))


def _world_classes() -> list[type]:
    classes: list[type] = []
    for name in world_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name:
                classes.append(cls)
    return classes


@functools.cache
def schema() -> str:
    """A digest of the worlds' shape: each sandbox class and its fields (dataclass fields, or
    the attributes an emulator sets up)."""
    parts: list[str] = []
    for cls in sorted(_world_classes(), key=lambda c: (c.__module__, c.__qualname__)):
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls)]
        elif issubclass(cls, SandboxAPI) and cls is not SandboxAPI:
            names = sorted(_attributes(cls))
        else:
            continue
        parts.append(f"{cls.__module__}.{cls.__qualname__}:{','.join(names)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _attributes(cls: type) -> set[str]:
    """The attributes a fresh, empty emulator of ``cls`` has."""
    api = cls(ManualClock(), seed=False)
    return set(vars(api)) - set(_TRANSIENT)


#: Per-process attributes of an emulator that are not part of its world.
_TRANSIENT = ("clock", "faults", "requests", "on_request")


def _world_getattr(obj: object, name: str) -> Any:
    """``getattr`` as a pickle may use it: an emulator's own method, nothing else."""
    if not isinstance(obj, SandboxAPI) or name.startswith("__"):
        raise pickle.UnpicklingError(f"not a sandbox method: {name!r}")
    if not inspect.isfunction(getattr(type(obj), name, None)):
        raise pickle.UnpicklingError(f"not a sandbox method: {name!r}")
    return getattr(obj, name)


class _WorldUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _VALUE_TYPES:
            return _VALUE_TYPES[(module, name)]
        if (module, name) == ("builtins", "getattr"):
            return _world_getattr
        if module in world_modules() and "." not in name:
            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"a sandbox state may not contain {module}.{name}")


def dumps(apis: Sequence[SandboxAPI], clock: Clock) -> bytes:
    """The worlds of ``apis`` at ``clock.now()`` as the bytes of a state file."""
    for api in apis:
        api.advance()
    meta = {"now": clock.now(), "schema": schema(), "saved_at": time.time()}
    header = MAGIC + b" " + str(FORMAT).encode() + b"\n" + json.dumps(meta).encode() + b"\n"
    return header + pickle.dumps(list(apis), protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> tuple[list[SandboxAPI], float]:
    """The worlds in a state file and the world time they were saved at.

    The emulators come back without a clock: give them one (:func:`attach`) before use.
    Raises :class:`SandboxStateError` when the file cannot be used.
    """
    stream = io.BytesIO(data)
    first = stream.readline().split()
    if len(first) != 2 or first[0] != MAGIC:
        raise SandboxStateError("not a sandbox state file")
    if first[1] != str(FORMAT).encode():
        raise SandboxStateError(f"written in another format ({first[1].decode(errors='replace')})")
    try:
        meta = json.loads(stream.readline())
        now = float(meta["now"])
        saved_schema = str(meta["schema"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SandboxStateError("its header is damaged") from exc
    if saved_schema != schema():
        raise SandboxStateError("written by another version of the sandboxes")
    try:
        apis = _WorldUnpickler(stream).load()
    except Exception as exc:  # any damage in the pickled part: unusable, say why
        raise SandboxStateError(f"its worlds cannot be read ({exc})") from exc
    if not isinstance(apis, list) or not all(isinstance(a, SandboxAPI) for a in apis):
        raise SandboxStateError("it holds no sandbox worlds")
    return apis, now


def attach(apis: Sequence[SandboxAPI], clock: Clock) -> None:
    """Give restored emulators their (shared) clock and empty fault and request logs."""
    for api in apis:
        api.clock = clock
        api.faults = []
        api.requests = []


class StateFile:
    """A state file on disk: load at start, save (atomically, owner-only) on change and at exit."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, clock_at: Callable[[float], Clock]) -> tuple[list[SandboxAPI], Clock]:
        """The saved emulators, on the clock ``clock_at(saved world time)`` returns."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SandboxStateError(f"it cannot be read ({exc.strerror})") from exc
        apis, now = loads(data)
        clock = clock_at(now)
        attach(apis, clock)
        return apis, clock

    def save(self, apis: Sequence[SandboxAPI], clock: Clock) -> None:
        data = dumps(apis, clock)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    def remove(self) -> bool:
        """Delete the file; whether there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
