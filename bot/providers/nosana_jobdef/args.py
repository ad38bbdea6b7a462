"""``args`` of an op: ``ContainerRun`` or ``ContainerCreateVolume``.

The published types do not tie the args shape to the op type (``args`` is
``ContainerRun | ContainerCreateVolume`` for either op), so either shape is accepted under
either type; the op type only chooses which shape a refusal is explained against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers.nosana_jobdef.expose import ExposeRules
from bot.providers.nosana_jobdef.problems import STR, Shapes
from bot.providers.nosana_jobdef.resources import ResourceRules

__all__ = ["ARGS_EXPECTED", "ArgsRules"]

ARGS_EXPECTED = "(ContainerRun | ContainerCreateVolume)"
_CREATE_VOLUME = "container/create-volume"
_RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_RESTART_EXPECTED = '("always" | "no" | "on-failure" | "unless-stopped" | __type.o4 | undefined)'
_DOCKER_KEYS = ("username", "password", "email", "server")


class ArgsRules(ExposeRules, ResourceRules, Shapes):
    """Checks of an op's ``args``."""

    def args(self, value: Any, path: str, op_type: Any) -> None:
        if not isinstance(value, Mapping):
            self.add(
                path,
                "must be an object: {image, …} for container/run, {name} for "
                "container/create-volume",
                ARGS_EXPECTED,
            )
            return
        volume_op = op_type == _CREATE_VOLUME
        if "image" in value and not (volume_op and "name" in value):
            self.run_args(value, path)
        elif "name" in value and (volume_op or set(value) == {"name"}):
            self.fields(value, path, {"name": self.required_string})
        elif volume_op:
            self.add(path, "container/create-volume needs args.name (a string)", ARGS_EXPECTED)
        else:
            self.add(path, "container/run needs args.image (the container image)", ARGS_EXPECTED)

    def run_args(self, value: Mapping[str, Any], path: str) -> None:
        self.fields(
            value,
            path,
            {
                "image": self.required_string,
                "aliases": lambda v, p: self.string_or_strings(v, p, "(Array<string> | string)"),
                "cmd": self.string_or_strings,
                "entrypoint": self.string_or_strings,
                "volumes": self.volumes,
                "expose": self.expose,
                "private": self.boolean,
                "gpu": self.boolean,
                "work_dir": self.string,
                "env": self.string_map,
                "restart_policy": self.restart_policy,
                "resources": self.resources,
                "authentication": self.authentication,
            },
        )

    def volumes(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of {name, dest}", "(Array<Volume> | undefined)")
            return
        for i, volume in enumerate(value):
            item = f"{path}[{i}]"
            if self.obj(volume, item, "Volume", "an object {name, dest}"):
                self.required(volume, item, {"name": STR, "dest": STR})
                self.fields(
                    volume, item, {"name": self.required_string, "dest": self.required_string}
                )

    def restart_policy(self, value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            self.required(value, path, {"policy": '"on-failure"'})
            self.fields(value, path, {"policy": self.on_failure, "restart_tries": self.number})
        elif value not in _RESTART_POLICIES:
            self.add(
                path,
                'must be "no", "always", "unless-stopped" or "on-failure", '
                'or {"policy": "on-failure", "restart_tries": <number>}',
                _RESTART_EXPECTED,
            )

    def on_failure(self, value: Any, path: str) -> None:
        if value != "on-failure":
            self.add(
                path,
                'must be "on-failure" in the object form (write "no", "always" or '
                '"unless-stopped" as a plain string)',
                '"on-failure"',
            )

    def authentication(self, value: Any, path: str) -> None:
        if self.obj(value, path, "(Authentication | undefined)"):
            self.fields(value, path, {"docker": self.docker_auth})

    def docker_auth(self, value: Any, path: str) -> None:
        if self.obj(value, path, "(DockerAuth | undefined)"):
            self.fields(value, path, dict.fromkeys(_DOCKER_KEYS, self.string))
