"""Nosana job definitions: the published validator vs the sandbox's and the client's.

Nosana publishes the typia validator its deployment manager runs as npm ``@nosana/types``
(``validateJobDefinition``). ``scripts/ensure-node-deps.sh`` installs it into the git-ignored
``.cache/node``; ``node/nosana_validate.mjs`` judges every definition below at once, and the
verdicts (valid or not) of the sandbox's validator (``sandbox.nosana_jobdef``) and the
client's (``bot.providers.nosana_jobdef``) must match it. Skipped, with the reason, when
node/npm are absent or the install fails; otherwise the check runs for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.providers import nosana_jobdef as client_jobdef
from sandbox import nosana_jobdef as sandbox_jobdef

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "ensure-node-deps.sh"
VALIDATE = Path(__file__).with_name("node") / "nosana_validate.mjs"


def _job(*ops: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": "0.1", "type": "container", "ops": list(ops), **top}


def _run(args: dict[str, Any] | None = None, op_id: str = "app", **op: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "container/run", "id": op_id, **op}
    body["args"] = {"image": "ubuntu:24.04"} if args is None else args
    return body


def _image(**args: Any) -> dict[str, Any]:
    return {"image": "ubuntu:24.04", **args}


_HTTP_CHECK = {
    "type": "http",
    "path": "/health",
    "method": "GET",
    "expected_status": 200,
    "continuous": False,
}

VALID: dict[str, Any] = {
    "minimal": _job(_run()),
    "documented-example": _job(_run(_image(cmd=["echo hello world"])), meta={"trigger": "api"}),
    "no-ops": _job(),
    "env-and-gpu": _job(_run(_image(env={"A": "1"}, gpu=True, work_dir="/srv"))),
    "cmd-string-and-entrypoint": _job(_run(_image(cmd="python app.py", entrypoint=["/bin/sh"]))),
    "expose-number": _job(_run(_image(expose=8000))),
    "expose-object-with-health-check": _job(
        _run(_image(expose={"port": 8000, "type": "api", "health_checks": [_HTTP_CHECK]}))
    ),
    "expose-list-unique": _job(_run(_image(expose=[8000, {"port": 9000, "type": "web"}]))),
    "expose-literal": _job(_run(_image(expose="%%ops.tpl.results.port%%"))),
    "expose-spread-marker": _job(_run(_image(expose=[{"__spread__": "%%global.ports%%"}, 80]))),
    "volume-and-run": _job(
        {"type": "container/create-volume", "id": "vol", "args": {"name": "data"}},
        _run(_image(volumes=[{"name": "data", "dest": "/data"}])),
    ),
    "restart-on-failure": _job(
        _run(_image(restart_policy={"policy": "on-failure", "restart_tries": 3}))
    ),
    "restart-always": _job(_run(_image(restart_policy="always"))),
    "resources": _job(
        _run(
            _image(
                resources=[
                    {"type": "HF", "target": "/models", "repo": "org/model"},
                    {"type": "Ollama", "model": "llama3"},
                    {"type": "S3", "target": "/data", "bucket": "b", "url": "https://s3"},
                ]
            )
        )
    ),
    "execution-depends-on": _job(
        _run(op_id="a"),
        _run(op_id="b", execution={"depends_on": ["a"], "stop_if_dependent_stops": True}),
    ),
    "results": _job(
        _run(results={"url": "http://x", "line": {"regex": "ok", "logType": ["stdout"]}})
    ),
    "global-and-meta": _job(
        _run(),
        meta={"trigger": "cli", "system_requirements": {"required_vram": 16}, "tags": ["a", 1]},
        **{"global": {"image": "ubuntu", "gpu": True, "variables": {"X": "1"}}},
    ),
    "logistics": _job(
        logistics={
            "send": {"type": "api", "args": {"endpoint": "https://x"}},
            "receive": {"type": "api-listen", "args": {}},
        }
    ),
    "private-auth-aliases": _job(
        _run(_image(private=True, aliases=["web"], authentication={"docker": {"username": "u"}}))
    ),
    # ContainerRun | ContainerCreateVolume is not tied to the op type in the published types.
    "run-op-with-volume-args": _job(_run({"name": "data"})),
    "volume-op-with-run-args": _job(
        {"type": "container/create-volume", "id": "vol", "args": {"image": "ubuntu"}}
    ),
    "restart-on-failure-without-tries": _job(_run(_image(restart_policy={"policy": "on-failure"}))),
    "s3-variants": _job(
        _run(
            _image(
                resources=[
                    {"type": "S3", "target": "/a", "files": ["x"], "allowWrite": True},
                    {"type": "S3", "target": "/b", "buckets": [{"url": "u", "files": ["y"]}]},
                    {
                        "type": "S3",
                        "target": "/c",
                        "bucket": "b",
                        "IAM": {"REGION": "r", "ACCESS_KEY_ID": "k", "SECRET_ACCESS_KEY": "s"},
                    },
                ]
            )
        )
    ),
    "spread-markers-chunked": _job(
        _run(
            _image(
                expose={"__spread__": "%%global.ports%%", "chunked": True},
                resources=[{"__spread__": "%%ops.a.results.r%%", "chunked": False}],
            )
        )
    ),
    "meta-record-of-lists": _job(meta={"labels": {"team": ["a", 1], "tier": "gold"}}),
    "execution-group-only": _job(_run(execution={"group": "g"})),
}

INVALID: dict[str, Any] = {
    "not-an-object": ["ops"],
    "missing-version": {"type": "container", "ops": []},
    "wrong-version": {**_job(), "version": "0.2"},
    "wrong-type": {**_job(), "type": "vm"},
    "missing-ops": {"version": "0.1", "type": "container"},
    "ops-not-a-list": {**_job(), "ops": {"app": {}}},
    "unknown-top-level-key": {**_job(), "foo": 1},
    "global-null": {**_job(), "global": None},
    "op-id-with-space": _job(_run(op_id="my app")),
    "op-id-not-a-string": _job({"type": "container/run", "id": 5, "args": {"image": "x"}}),
    "duplicate-op-ids": _job(_run(op_id="a"), _run(op_id="a")),
    "unknown-op-type": _job({"type": "container/exec", "id": "a", "args": {"image": "x"}}),
    "missing-args": _job({"type": "container/run", "id": "a"}),
    "args-without-image": _job(_run({"cmd": ["x"]})),
    "unknown-arg": _job(_run(_image(ports=[80]))),
    "env-value-number": _job(_run(_image(env={"A": 1}))),
    "gpu-as-string": _job(_run(_image(gpu="true"))),
    "cmd-with-number": _job(_run(_image(cmd=["run", 1]))),
    "expose-duplicate-ports": _job(_run(_image(expose=[8000, {"port": 8000}]))),
    "expose-bad-service-type": _job(_run(_image(expose={"port": 80, "type": "http"}))),
    "expose-non-literal-string": _job(_run(_image(expose="eighty"))),
    "health-check-missing-fields": _job(
        _run(_image(expose={"port": 80, "health_checks": [{"type": "http", "path": "/"}]}))
    ),
    "volume-missing-dest": _job(_run(_image(volumes=[{"name": "data"}]))),
    "restart-policy-object-not-on-failure": _job(_run(_image(restart_policy={"policy": "always"}))),
    "restart-policy-unknown": _job(_run(_image(restart_policy="sometimes"))),
    "hf-resource-without-repo": _job(_run(_image(resources=[{"type": "HF", "target": "/m"}]))),
    "s3-bucket-and-buckets": _job(
        _run(
            _image(
                resources=[{"type": "S3", "target": "/d", "bucket": "b", "buckets": [{"url": "u"}]}]
            )
        )
    ),
    "stop-if-dependent-stops-alone": _job(_run(execution={"stop_if_dependent_stops": True})),
    "result-bad-log-type": _job(_run(results={"x": {"regex": "r", "logType": ["stdweird"]}})),
    "result-duplicate-log-type": _job(
        _run(results={"x": {"regex": "r", "logType": ["stdout", "stdout"]}})
    ),
    "meta-boolean-value": _job(meta={"flag": True}),
    "meta-nested-too-deep": _job(meta={"a": {"b": {"c": 1}}}),
    "logistics-missing-receive": _job(logistics={"send": {"type": "api", "args": {}}}),
    "run-args-with-name": _job(_run(_image(name="data"))),
    "restart-policy-extra-field": _job(
        _run(_image(restart_policy={"policy": "on-failure", "max": 1}))
    ),
    "restart-tries-not-a-number": _job(
        _run(_image(restart_policy={"policy": "on-failure", "restart_tries": "3"}))
    ),
    "restart-policy-number": _job(_run(_image(restart_policy=3))),
    "hf-resource-without-target": _job(_run(_image(resources=[{"type": "HF", "repo": "r"}]))),
    "s3-bucket-with-files": _job(
        _run(_image(resources=[{"type": "S3", "target": "/d", "bucket": "b", "files": ["x"]}]))
    ),
    "s3-buckets-item-without-url": _job(
        _run(_image(resources=[{"type": "S3", "target": "/d", "buckets": [{"files": ["x"]}]}]))
    ),
    "s3-iam-incomplete": _job(
        _run(_image(resources=[{"type": "S3", "target": "/d", "IAM": {"REGION": "r"}}]))
    ),
    "ollama-without-model": _job(_run(_image(resources=[{"type": "Ollama"}]))),
    "resource-without-type": _job(_run(_image(resources=[{"target": "/x"}]))),
    "resource-plain-string": _job(_run(_image(resources=["foo"]))),
    "meta-list-of-objects": _job(meta={"a": [{"x": 1}]}),
    "meta-null-value": _job(meta={"a": None}),
    "meta-record-list-of-booleans": _job(meta={"a": {"b": [True]}}),
    "system-resources-list": _job(meta={"system_resources": {"x": [1]}}),
    "logistic-args-extra-field": _job(
        logistics={
            "send": {"type": "api", "args": {"url": "https://x"}},
            "receive": {"type": "api", "args": {}},
        }
    ),
    "spread-marker-extra-field": _job(
        _run(_image(expose={"__spread__": "%%global.ports%%", "y": True}))
    ),
    "stop-if-dependent-stops-false-alone": _job(_run(execution={"stop_if_dependent_stops": False})),
}

# Where spec and the published package disagree the spec wins (spec nosana.md §7 lists a
# "start-end" string among the expose forms; @nosana/types 2.1.6 accepts it only as a range
# inside its uniqueness rule, never as a value). The sandbox follows the spec.
SPEC_OVER_PACKAGE: dict[str, Any] = {
    "expose-port-range": _job(_run(_image(expose="8000-8010"))),
    "expose-range-in-list": _job(_run(_image(expose=["8000-8010", 9000]))),
}

# Where the client is deliberately stricter than the published validator (which checks only
# "number" for a port and "no space character" for an op id): such definitions cannot work,
# so the client refuses them before anything is sent. Checked both ways, like the above.
CLIENT_STRICTER: dict[str, Any] = {
    "expose-port-zero": _job(_run(_image(expose=0))),
    "expose-port-above-65535": _job(_run(_image(expose=[8000, 70000]))),
    "expose-fractional-port": _job(_run(_image(expose={"port": 80.5}))),
    "op-id-empty": _job(_run(op_id="")),
    "op-id-with-tab": _job(_run(op_id="my\tapp")),
}

CASES: dict[str, Any] = {**VALID, **INVALID, **SPEC_OVER_PACKAGE, **CLIENT_STRICTER}


@pytest.fixture(scope="module")
def published() -> dict[str, dict[str, Any]]:
    """The published validator's verdict on every case (installs the package if needed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: cannot run Nosana's published validator")
    install = subprocess.run(
        [str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False
    )
    if install.returncode != 0:
        reason = install.stderr.strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"could not install @nosana/types: {reason[0]}")
    cache = install.stdout.strip().splitlines()[-1]
    run = subprocess.run(
        ["node", str(VALIDATE), cache],
        input=json.dumps(list(CASES.values())),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    verdicts = json.loads(run.stdout)
    assert len(verdicts) == len(CASES)
    return dict(zip(CASES, verdicts, strict=True))


def test_the_cases_mean_what_they_say(published: dict[str, dict[str, Any]]) -> None:
    """Valid cases are valid and invalid ones invalid for the published validator itself."""
    assert [n for n in VALID if not published[n]["valid"]] == []
    assert [n for n in INVALID if published[n]["valid"]] == []
    assert all(published[n]["errors"] for n in INVALID)


@pytest.mark.parametrize("name", [*VALID, *INVALID])
def test_sandbox_verdict_matches_the_published_validator(
    name: str, published: dict[str, dict[str, Any]]
) -> None:
    issues = sandbox_jobdef.validate_job_definition(CASES[name])
    assert (not issues) == published[name]["valid"], (issues, published[name]["errors"])


@pytest.mark.parametrize("name", [*VALID, *INVALID])
def test_client_verdict_matches_the_published_validator(
    name: str, published: dict[str, dict[str, Any]]
) -> None:
    problems = client_jobdef.validate_job_definition(CASES[name])
    assert (not problems) == published[name]["valid"], (problems, published[name]["errors"])


@pytest.mark.parametrize("name", list(SPEC_OVER_PACKAGE))
def test_port_ranges_follow_the_spec_not_the_package(
    name: str, published: dict[str, dict[str, Any]]
) -> None:
    """A documented disagreement, checked both ways so it is noticed when either side moves."""
    assert published[name]["valid"] is False
    assert sandbox_jobdef.validate_job_definition(CASES[name]) == []
    assert client_jobdef.validate_job_definition(CASES[name]) == []


def test_sandbox_reports_typia_paths(published: dict[str, dict[str, Any]]) -> None:
    """Where the sandbox points at the same place as the published validator."""
    for name in ("op-id-with-space", "env-value-number", "duplicate-op-ids", "cmd-with-number"):
        ours = [i.path for i in sandbox_jobdef.validate_job_definition(CASES[name])]
        theirs = [e["path"] for e in published[name]["errors"]]
        assert ours == theirs, name


@pytest.mark.parametrize("name", list(CLIENT_STRICTER))
def test_client_is_stricter_where_a_definition_cannot_work(
    name: str, published: dict[str, dict[str, Any]]
) -> None:
    assert published[name]["valid"] is True
    problems = client_jobdef.validate_job_definition(CASES[name])
    assert len(problems) == 1
    assert problems[0].path.startswith(("$input.ops[0].id", "$input.ops[0].args.expose"))


# Where the client points at the same place as the published validator (the op type only
# steers which args shape a refusal is explained against, so it may point elsewhere there).
_SAME_PATHS = [
    "op-id-with-space",
    "env-value-number",
    "duplicate-op-ids",
    "cmd-with-number",
    "restart-policy-unknown",
    "restart-policy-object-not-on-failure",
    "hf-resource-without-repo",
    "s3-bucket-and-buckets",
    "s3-bucket-with-files",
    "s3-iam-incomplete",
    "meta-boolean-value",
    "meta-nested-too-deep",
    "meta-list-of-objects",
    "logistics-missing-receive",
    "run-args-with-name",
    "args-without-image",
]


@pytest.mark.parametrize("name", _SAME_PATHS)
def test_client_reports_typia_paths(name: str, published: dict[str, dict[str, Any]]) -> None:
    problems = client_jobdef.validate_job_definition(CASES[name])
    assert [p.path for p in problems] == [e["path"] for e in published[name]["errors"]]
    assert all(p.message for p in problems)
