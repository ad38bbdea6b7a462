"""Local validation of Nosana job definitions (spec §7) and cron schedules (§5.2)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.providers.nosana_jobdef import (
    Problem,
    cron_problem,
    exposed_ports,
    field_errors,
    parse_port_range,
    typia_message,
    validate_job_definition,
)

MINIMAL: dict[str, Any] = {
    "version": "0.1",
    "type": "container",
    "ops": [{"type": "container/run", "id": "hello", "args": {"image": "ubuntu"}}],
}


def with_args(**args: Any) -> dict[str, Any]:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"][0]["args"].update(args)
    return definition


def paths(definition: Any) -> list[str]:
    return [p.path for p in validate_job_definition(definition)]


# -- valid definitions -------------------------------------------------------------------------


def test_minimal_definition_is_valid() -> None:
    assert validate_job_definition(MINIMAL) == []


def test_documented_example_with_meta_and_cmd_is_valid() -> None:
    definition = with_args(cmd=["echo hello world"])
    definition["meta"] = {"trigger": "api", "system_requirements": {"required_vram": 16}}
    assert validate_job_definition(definition) == []


def test_empty_ops_are_valid() -> None:
    assert validate_job_definition({"version": "0.1", "type": "container", "ops": []}) == []


def test_a_rich_definition_is_valid() -> None:
    definition = {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "cli", "system_resources": {"required_vram": 24, "disk": "50GB"}},
        "global": {"image": "ubuntu", "gpu": True, "env": {"A": "1"}, "variables": {"x": "y"}},
        "logistics": {
            "send": {"type": "api", "args": {"endpoint": "https://x"}},
            "receive": {"type": "api-listen", "args": {}},
        },
        "deployment_id": "abc",
        "ops": [
            {"type": "container/create-volume", "id": "vol", "args": {"name": "models"}},
            {
                "type": "container/run",
                "id": "api",
                "args": {
                    "image": "vllm/vllm-openai",
                    "cmd": "serve --port 8000",
                    "entrypoint": ["/bin/sh", "-c"],
                    "env": {"HF_TOKEN": "x", "PORT": "8000"},
                    "gpu": True,
                    "volumes": [{"name": "models", "dest": "/models"}],
                    "expose": [
                        {
                            "port": 8000,
                            "type": "webapi",
                            "health_checks": [
                                {
                                    "type": "http",
                                    "path": "/health",
                                    "method": "GET",
                                    "expected_status": 200,
                                    "continuous": True,
                                    "headers": {"Accept": "application/json"},
                                },
                                {
                                    "type": "websocket",
                                    "expected_response": "pong",
                                    "continuous": False,
                                },
                            ],
                        },
                        9000,
                        "9100-9110",
                        "%%ops.vol.results.port%%",
                        {"__spread__": "%%global.variables.ports%%"},
                    ],
                    "resources": [
                        {"type": "S3", "url": "s3://bucket", "target": "/data"},
                        {"type": "HF", "repo": "meta-llama/Llama-3-8B", "target": "/models"},
                        "__remove-if-empty__",
                    ],
                    "authentication": {"docker": {"username": "u", "password": "p"}},
                },
                "results": {
                    "url": "https?://\\S+",
                    "ready": {"regex": "ready", "logType": ["stdout"]},
                },
                "execution": {
                    "group": "serve",
                    "depends_on": ["vol"],
                    "stop_if_dependent_stops": True,
                },
            },
        ],
    }
    assert validate_job_definition(definition) == []


# -- the top level -------------------------------------------------------------------------------


def test_not_an_object() -> None:
    assert validate_job_definition(["ops"]) == [
        Problem("$input", "must be a JSON object", "JobDefinition")
    ]


def test_required_top_level_fields() -> None:
    problems = validate_job_definition({})
    assert {p.path for p in problems} == {"$input.version", "$input.type", "$input.ops"}


def test_version_and_type_are_fixed() -> None:
    problems = validate_job_definition({**MINIMAL, "version": "0.2", "type": "vm"})
    assert [(p.path, p.expected) for p in problems] == [
        ("$input.version", '"0.1"'),
        ("$input.type", '"container"'),
    ]


def test_ops_must_be_a_list() -> None:
    problems = validate_job_definition({**MINIMAL, "ops": {"type": "container/run"}})
    assert problems[0].path == "$input.ops"
    assert problems[0].expected == "Array<Operation<OperationType>> & UniqueById"


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({**MINIMAL, "foo": 1}, "$input.foo"),
        ({**MINIMAL, "global": {"imag": "x"}}, "$input.global.imag"),
        (with_args(imagee="x"), "$input.ops[0].args.imagee"),
        (with_args(expose={"port": 80, "protocol": "tcp"}), "$input.ops[0].args.expose.protocol"),
        (
            with_args(
                expose=[
                    {
                        "port": 80,
                        "health_checks": [
                            {
                                "type": "websocket",
                                "expected_response": "x",
                                "continuous": True,
                                "every": 5,
                            }
                        ],
                    }
                ]
            ),
            "$input.ops[0].args.expose[0].health_checks[0].every",
        ),
    ],
)
def test_unknown_properties_are_rejected_at_every_level(definition: Any, path: str) -> None:
    problems = validate_job_definition(definition)
    assert (path, "undefined") in [(p.path, p.expected) for p in problems]


def test_meta_is_free_form_but_typed_where_known() -> None:
    assert validate_job_definition({**MINIMAL, "meta": {"anything": {"goes": 1}}}) == []
    assert paths({**MINIMAL, "meta": {"trigger": 5}}) == ["$input.meta.trigger"]
    assert paths({**MINIMAL, "meta": {"system_resources": {"vram": True}}}) == [
        "$input.meta.system_resources.vram"
    ]


# -- operations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["has space", "tab\there", "", 5, None])
def test_op_id_must_be_a_string_without_spaces(bad_id: Any) -> None:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"][0]["id"] = bad_id
    problems = validate_job_definition(definition)
    assert [(p.path, p.expected) for p in problems] == [
        ("$input.ops[0].id", "string & TagBase<__type>")
    ]


def test_op_ids_must_be_unique() -> None:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"].append(copy.deepcopy(definition["ops"][0]))
    problems = validate_job_definition(definition)
    assert len(problems) == 1
    assert problems[0].path == "$input.ops"
    assert '"hello" is used twice' in problems[0].message


def test_missing_image_fails_on_the_whole_args() -> None:
    definition = copy.deepcopy(MINIMAL)
    del definition["ops"][0]["args"]["image"]
    assert [(p.path, p.expected) for p in validate_job_definition(definition)] == [
        ("$input.ops[0].args", "(ContainerRun | ContainerCreateVolume)")
    ]


def test_missing_args_and_bad_op_type() -> None:
    definition = {
        "version": "0.1",
        "type": "container",
        "ops": [{"type": "container/exec", "id": "x"}],
    }
    assert set(paths(definition)) == {"$input.ops[0].args", "$input.ops[0].type"}


def test_create_volume_needs_a_name_and_nothing_else() -> None:
    volume = {"type": "container/create-volume", "id": "v", "args": {"name": "data"}}
    assert validate_job_definition({**MINIMAL, "ops": [volume]}) == []
    volume["args"] = {"name": "data", "image": "x"}
    assert paths({**MINIMAL, "ops": [volume]}) == ["$input.ops[0].args.image"]
    volume["args"] = {}
    assert paths({**MINIMAL, "ops": [volume]}) == ["$input.ops[0].args"]


def test_env_values_must_be_strings() -> None:
    problems = validate_job_definition(with_args(env={"PORT": 8000, "OK": "yes"}))
    assert [(p.path, p.expected) for p in problems] == [("$input.ops[0].args.env.PORT", "string")]


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ({"cmd": 5}, "$input.ops[0].args.cmd"),
        ({"cmd": ["ok", 3]}, "$input.ops[0].args.cmd[1]"),
        ({"gpu": "yes"}, "$input.ops[0].args.gpu"),
        ({"volumes": [{"name": "v"}]}, "$input.ops[0].args.volumes[0].dest"),
        ({"required_vram": "16"}, "$input.ops[0].args.required_vram"),
        ({"resources": [{"type": "FTP"}]}, "$input.ops[0].args.resources[0].type"),
        (
            {"authentication": {"docker": {"token": "x"}}},
            "$input.ops[0].args.authentication.docker.token",
        ),
    ],
)
def test_container_run_argument_types(args: dict[str, Any], path: str) -> None:
    assert path in paths(with_args(**args))


def test_results_and_execution_shapes() -> None:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"][0]["results"] = {"x": {"regex": "a", "logType": ["stdout", "stdout"]}}
    definition["ops"][0]["execution"] = {"stop_if_dependent_stops": True}
    assert set(paths(definition)) == {
        "$input.ops[0].results.x.logType",
        "$input.ops[0].execution.stop_if_dependent_stops",
    }


# -- expose --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expose",
    [
        80,
        "8000-8010",
        "%%ops.api.results.port%%",
        {"port": 80},
        [80, 443],
        {"__spread__": "%%global.x%%"},
    ],
)
def test_expose_forms(expose: Any) -> None:
    assert validate_job_definition(with_args(expose=expose)) == []


@pytest.mark.parametrize(
    ("expose", "fragment"),
    [
        ([80, 80], "port 80 is exposed twice"),
        ([80, {"port": 80}], "port 80 is exposed twice"),
        (["8000-8010", "8005-8020"], "overlap"),
        ([8005, "8000-8010"], "falls inside the range 8000-8010"),
        ("8010-8000", "not a port range"),
        ("web", "not a port range"),
        (0, "outside 1–65535"),
        (70000, "outside 1–65535"),
        (True, "must be a port number"),
        (80.5, "port 80.5 must be a whole number"),
        ({"port": 80.5}, "port 80.5 must be a whole number"),
        ({"port": 80, "type": "grpc"}, "must be one of"),
    ],
)
def test_bad_exposes(expose: Any, fragment: str) -> None:
    messages = [p.message for p in validate_job_definition(with_args(expose=expose))]
    assert any(fragment in m for m in messages), messages


def test_health_check_rules() -> None:
    check = {"type": "http", "path": "/", "method": "PATCH", "continuous": True}
    problems = validate_job_definition(with_args(expose={"port": 80, "health_checks": [check]}))
    base = "$input.ops[0].args.expose.health_checks[0]"
    assert {p.path for p in problems} == {f"{base}.expected_status", f"{base}.method"}
    odd = {"type": "tcp"}
    assert paths(with_args(expose={"port": 80, "health_checks": [odd]})) == [f"{base}.type"]


def test_exposed_ports_by_op() -> None:
    definition = with_args(expose=[80, {"port": "9000-9005"}, "%%ops.a.b%%"])
    definition["ops"].append({"type": "container/run", "id": "quiet", "args": {"image": "x"}})
    assert exposed_ports(definition) == {"hello": [80, "9000-9005"]}


def test_parse_port_range() -> None:
    assert parse_port_range("1-2") == (1, 2)
    assert parse_port_range("2-2") is None
    assert parse_port_range("a-b") is None


# -- messages ------------------------------------------------------------------------------------


def test_typia_message_matches_the_deployment_manager_format() -> None:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"][0]["id"] = "has space"
    definition["foo"] = 1
    problems = validate_job_definition(definition)
    assert typia_message(problems) == (
        "job_definition$input.foo: undefined, "
        "job_definition$input.ops[0].id: string & TagBase<__type>"
    )
    assert typia_message(problems, prefix="").startswith("$input.foo: undefined")


def test_field_errors_use_api_paths_and_human_messages() -> None:
    problems = validate_job_definition(with_args(env={"A": 1}))
    assert field_errors(problems) == {
        "job_definition.ops[0].args.env.A": "must be a string (quote numbers and booleans)"
    }


# -- cron ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["0 * * * *", "*/15 2-4 1,15 * 1-5", " 0  3 * * 0 "])
def test_valid_cron(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * *", "got 4"),
        ("0 * * * * *", "got 6"),
        ("61 * * * *", "not a valid cron"),
        ("a b c d e", "not a valid cron"),
        ("", "must be a cron expression"),
        (None, "must be a cron expression"),
    ],
)
def test_invalid_cron(expression: Any, fragment: str) -> None:
    problem = cron_problem(expression)
    assert problem is not None
    assert fragment in problem


# -- properties ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_validation_never_crashes_and_paths_are_rooted(value: Any) -> None:
    problems = validate_job_definition(value)
    assert all(p.path.startswith("$input") and p.message and p.expected for p in problems)


@given(st.text(min_size=1, max_size=20))
def test_op_ids_are_accepted_exactly_when_they_have_no_whitespace(op_id: str) -> None:
    definition = copy.deepcopy(MINIMAL)
    definition["ops"][0]["id"] = op_id
    has_space = any(ch.isspace() for ch in op_id)
    assert (validate_job_definition(definition) != []) == has_space


@given(st.text(max_size=40))
def test_cron_check_never_crashes(expression: str) -> None:
    problem = cron_problem(expression)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert len(expression.split()) == 5


# -- rules of the published validator, with messages for people ---------------------------------


def problems_of(definition: Any) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validate_job_definition(definition)]


@pytest.mark.parametrize(
    "policy", ["no", "always", "unless-stopped", "on-failure", {"policy": "on-failure"}]
)
def test_restart_policies(policy: Any) -> None:
    assert validate_job_definition(with_args(restart_policy=policy)) == []
    tries = {"policy": "on-failure", "restart_tries": 3}
    assert validate_job_definition(with_args(restart_policy=tries)) == []


@pytest.mark.parametrize(
    ("policy", "path", "fragment"),
    [
        ("sometimes", "restart_policy", '"no", "always", "unless-stopped" or "on-failure"'),
        ({"policy": "always"}, "restart_policy.policy", 'must be "on-failure" in the object form'),
        ({"policy": "on-failure", "restart_tries": "3"}, "restart_policy.restart_tries", "number"),
        ({"restart_tries": 3}, "restart_policy.policy", 'is required ("on-failure")'),
    ],
)
def test_bad_restart_policies_name_the_field(policy: Any, path: str, fragment: str) -> None:
    found = problems_of(with_args(restart_policy=policy))
    assert len(found) == 1
    assert found[0][0] == f"$input.ops[0].args.{path}"
    assert fragment in found[0][1]


def test_args_shape_is_not_tied_to_the_op_type() -> None:
    run = {"type": "container/run", "id": "r", "args": {"name": "data"}}
    volume = {"type": "container/create-volume", "id": "v", "args": {"image": "ubuntu"}}
    assert validate_job_definition({**MINIMAL, "ops": [run, volume]}) == []
    both = {"type": "container/run", "id": "r", "args": {"name": "data", "image": "ubuntu"}}
    found = problems_of({**MINIMAL, "ops": [both]})
    assert [path for path, _ in found] == ["$input.ops[0].args.name"]
    assert "image" in found[0][1]  # the known container/run fields are listed


@pytest.mark.parametrize(
    ("resource", "path", "fragment"),
    [
        ({"type": "HF", "target": "/m"}, "repo", "is required (a string)"),
        ({"type": "Ollama"}, "model", "is required (a string)"),
        ({"target": "/x"}, "type", 'is required: "S3", "HF" or "Ollama"'),
        ({"type": "S3", "target": "/d", "bucket": "b", "buckets": []}, "buckets", "not both"),
        ({"type": "S3", "target": "/d", "bucket": "b", "files": ["x"]}, "files", "buckets[]"),
        ({"type": "S3", "target": "/d", "IAM": {"REGION": "r"}}, "IAM.ACCESS_KEY_ID", "required"),
        ({"type": "HF", "target": "/m", "repo": "r", "bucket": "b"}, "bucket", "not a known"),
    ],
)
def test_resource_rules(resource: dict[str, Any], path: str, fragment: str) -> None:
    found = problems_of(with_args(resources=[resource]))
    assert (f"$input.ops[0].args.resources[0].{path}") in [p for p, _ in found]
    assert any(fragment in message for _, message in found), found


def test_resources_take_markers_and_every_s3_form() -> None:
    resources = [
        "__remove-if-empty__",
        {"__spread__": "%%global.models%%", "chunked": True},
        {"type": "S3", "target": "/a", "files": ["x"], "url": "s3://a", "allowWrite": False},
        {"type": "S3", "target": "/b", "bucket": "b"},
        {"type": "S3", "target": "/c", "buckets": [{"url": "s3://c", "files": ["y"]}]},
        {"type": "HF", "target": "/m", "repo": "org/m", "revision": "main", "accessToken": "t"},
        {"type": "Ollama", "model": "llama3", "target": "/o"},
    ]
    assert validate_job_definition(with_args(resources=resources)) == []
    assert paths(with_args(resources=[{"__spread__": "models"}])) == [
        "$input.ops[0].args.resources[0].__spread__"
    ]


@pytest.mark.parametrize(
    ("meta", "path", "fragment"),
    [
        ({"flag": True}, "$input.meta.flag", "not true/false or null"),
        ({"a": None}, "$input.meta.a", "not true/false or null"),
        ({"a": {"b": {"c": 1}}}, "$input.meta.a.b", "nest only one level"),
        ({"a": [{"x": 1}]}, "$input.meta.a[0]", "a string or a number"),
        ({"a": {"b": [False]}}, "$input.meta.a.b[0]", "a string or a number"),
    ],
)
def test_meta_values(meta: dict[str, Any], path: str, fragment: str) -> None:
    assert validate_job_definition({**MINIMAL, "meta": {"tags": ["a", 1], "o": {"k": [1]}}}) == []
    found = problems_of({**MINIMAL, "meta": meta})
    assert len(found) == 1
    assert found[0][0] == path
    assert fragment in found[0][1]


def test_logistics_need_send_and_receive() -> None:
    found = problems_of({**MINIMAL, "logistics": {"send": {"type": "api", "args": {}}}})
    assert found == [
        (
            "$input.logistics.receive",
            'is required (an object {type: "api" | "api-listen", args: {endpoint?}})',
        )
    ]
    extra = {"type": "api", "args": {"url": "x"}}
    assert paths({**MINIMAL, "logistics": {"send": extra, "receive": extra}}) == [
        "$input.logistics.send.args.url",
        "$input.logistics.receive.args.url",
    ]


def test_remove_if_empty_is_an_ordinary_string_in_string_lists() -> None:
    definition = with_args(aliases=["__remove-if-empty__"], cmd=["run", "__remove-if-empty__"])
    definition["global"] = {"entrypoint": ["__remove-if-empty__"]}
    assert validate_job_definition(definition) == []
