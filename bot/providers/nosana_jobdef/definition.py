"""The job definition as a whole: top level, ``meta``, ``global``, ``logistics`` and ops.

The rules follow Nosana's typia ``validateJobDefinition`` in npm ``@nosana/types``
(``createValidateEquals``: unknown properties are refused at every level):

* top level: ``version`` ``"0.1"``, ``type`` ``"container"``, ``ops`` (a list) required; optional
  ``meta``, ``global``, ``logistics`` (both ``send`` and ``receive``), ``deployment_id``;
* ``meta``: ``trigger`` a string, ``system_resources`` maps to strings/numbers, any other key
  holds a string, a number, a list of them, or an object of those (nested once, no booleans);
* each op: ``type`` ``container/run`` or ``container/create-volume``, ``id`` a string without
  spaces and unique across ops, ``args`` (see ``args``), optional ``results`` and ``execution``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.providers.nosana_jobdef.args import ARGS_EXPECTED, ArgsRules
from bot.providers.nosana_jobdef.problems import STR, Problem

__all__ = ["validate_job_definition"]

_OPS_EXPECTED = "Array<Operation<OperationType>> & UniqueById"
_LOG_TYPES = ("stdin", "stdout", "stderr", "nodeerr")
_LOGISTIC_TYPES = ("api", "api-listen")
_SCALAR = "(number | string)"
_META_LIST_OR_SCALAR = "(Array<string | number> | number | string)"
_META_VALUE = (
    "(Array<string | number> | Record<string, string | number | (string | number)[]>"
    " | number | string | undefined)"
)


def validate_job_definition(definition: Any) -> list[Problem]:
    """Every problem found in ``definition``; an empty list means it is valid."""
    return JobDefinitionRules().run(definition)


def _scalar(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, str | int | float)


class JobDefinitionRules(ArgsRules):
    """Checks of a whole job definition."""

    def run(self, definition: Any) -> list[Problem]:
        if not self.obj(definition, "$input", "JobDefinition", "a JSON object"):
            return self.problems
        self.required(definition, "$input", {"version": '"0.1"', "type": '"container"'})
        if "ops" not in definition:
            self.add("$input.ops", "is required (a list of operations)", _OPS_EXPECTED)
        self.fields(
            definition,
            "$input",
            {
                "version": self.version,
                "type": self.job_type,
                "ops": self.ops,
                "meta": self.meta,
                "global": self.global_,
                "logistics": self.logistics,
                "deployment_id": self.string,
            },
        )
        return self.problems

    def version(self, value: Any, path: str) -> None:
        if value != "0.1":
            self.add(path, 'must be "0.1"', '"0.1"')

    def job_type(self, value: Any, path: str) -> None:
        if value != "container":
            self.add(path, 'must be "container"', '"container"')

    # -- meta ------------------------------------------------------------------------------

    def meta(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(Meta | undefined)"):
            return
        for key, item in value.items():
            where = f"{path}.{key}"
            if key == "trigger":
                self.string(item, where)
            elif key == "system_resources":
                self.system_resources(item, where)
            else:
                self.meta_value(item, where)

    def system_resources(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "Record<string, string | number>"):
            return
        for key, item in value.items():
            if not _scalar(item):
                self.add(f"{path}.{key}", "must be a string or a number", _SCALAR)

    def meta_value(self, value: Any, path: str) -> None:
        if _scalar(value):
            return
        if isinstance(value, list):
            self.scalar_list(value, path)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, list):
                    self.scalar_list(item, f"{path}.{key}")
                elif not _scalar(item):
                    self.add(
                        f"{path}.{key}",
                        "must be a string, a number or a list of them "
                        "(meta objects nest only one level)",
                        _META_LIST_OR_SCALAR,
                    )
        else:
            self.add(
                path,
                "must be a string, a number, a list of them or an object of them "
                "(not true/false or null)",
                _META_VALUE,
            )

    def scalar_list(self, value: list[Any], path: str) -> None:
        for i, item in enumerate(value):
            if not _scalar(item):
                self.add(f"{path}[{i}]", "must be a string or a number", _SCALAR)

    # -- global and logistics --------------------------------------------------------------

    def global_(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(Global | undefined)"):
            return
        self.fields(
            value,
            path,
            {
                "image": self.string,
                "gpu": self.boolean,
                "entrypoint": self.string_or_strings,
                "env": self.string_map,
                "work_dir": self.string,
                "variables": self.string_map,
            },
        )

    def logistics(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(Logistics | undefined)"):
            return
        self.required(value, path, {"send": "Logistic", "receive": "Logistic"})
        self.fields(value, path, {"send": self.logistic, "receive": self.logistic})

    def logistic(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "Logistic", "an object {type, args}"):
            return
        self.required(value, path, {"type": '("api" | "api-listen")', "args": "__type"})
        self.fields(value, path, {"type": self.logistic_type, "args": self.logistic_args})

    def logistic_type(self, value: Any, path: str) -> None:
        if value not in _LOGISTIC_TYPES:
            self.add(path, 'must be "api" or "api-listen"', '("api" | "api-listen")')

    def logistic_args(self, value: Any, path: str) -> None:
        if self.obj(value, path, "__type", "an object (optionally {endpoint})"):
            self.fields(value, path, {"endpoint": self.string})

    # -- operations ------------------------------------------------------------------------

    def ops(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of operations", _OPS_EXPECTED)
            return
        seen: set[str] = set()
        for i, op in enumerate(value):
            self.op(op, f"{path}[{i}]")
            op_id = op.get("id") if isinstance(op, Mapping) else None
            if isinstance(op_id, str):
                if op_id in seen:
                    self.add(
                        path, f'op ids must be unique ("{op_id}" is used twice)', _OPS_EXPECTED
                    )
                seen.add(op_id)

    def op(self, op: Any, path: str) -> None:
        if not self.obj(op, path, "Operation<OperationType>"):
            return
        self.required(op, path, {"type": "OperationType", "id": "string & TagBase<__type>"})
        if "args" not in op:
            self.add(f"{path}.args", "is required", ARGS_EXPECTED)
        self.fields(
            op,
            path,
            {
                "type": self.op_type,
                "id": self.op_id,
                "args": lambda v, p: self.args(v, p, op.get("type")),
                "results": self.results,
                "execution": self.execution,
            },
        )

    def op_type(self, value: Any, path: str) -> None:
        if value not in ("container/run", "container/create-volume"):
            self.add(
                path,
                'must be "container/run" or "container/create-volume"',
                '("container/create-volume" | "container/run")',
            )

    def op_id(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value or re.search(r"\s", value):
            self.add(path, "must be a non-empty string without spaces", "string & TagBase<__type>")

    def results(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(OperationResults | undefined)"):
            return
        for key, result in value.items():
            item = f"{path}.{key}"
            if isinstance(result, str):
                continue
            if not self.obj(result, item, "(OperationResult | string)", "a regex string or object"):
                continue
            self.required(result, item, {"regex": STR, "logType": "LogTypeTuple"})
            self.fields(result, item, {"regex": self.required_string, "logType": self.log_types})

    def log_types(self, value: Any, path: str) -> None:
        ok = (
            isinstance(value, list)
            and 1 <= len(value) <= 4
            and all(v in _LOG_TYPES for v in value)
            and len(set(value)) == len(value)
        )
        if not ok:
            self.add(
                path,
                "must list 1–4 distinct log types (stdin, stdout, stderr, nodeerr)",
                "LogTypeTuple",
            )

    def execution(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(Execution | undefined)"):
            return
        self.fields(
            value,
            path,
            {
                "group": self.string,
                "depends_on": lambda v, p: self.strings(v, p, "Array<string>"),
                "stop_if_dependent_stops": self.boolean,
            },
        )
        if "stop_if_dependent_stops" in value and "depends_on" not in value:
            self.add(
                f"{path}.stop_if_dependent_stops",
                "only makes sense together with depends_on",
                "undefined",
            )
