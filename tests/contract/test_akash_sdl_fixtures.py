"""Akash's own SDL fixtures (chain-sdk ``testdata/sdl``), judged as Akash judges them.

Every ``input/v2.x/<case>/input.yaml`` must be accepted and build exactly the manifest and
group specs in ``output-fixtures/v2.x/<case>/``; every file under ``input/invalid/`` and
``input/schema-only-invalid/`` must be refused with a field-level reason. The cases are read
from the directory, so new fixtures are picked up without touching this file.

The fixtures live outside the repository, in ``shared/reference/akash-sdl``: beside the
clone (``<repo>/../shared``), or where ``DEPLOYBOT_SHARED_DIR`` points, or ``/work/shared``.
Missing fixtures fail the run under ``CI=true`` and skip it elsewhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.providers import akash_sdl

REPO_ROOT = Path(__file__).resolve().parents[2]
_FIXTURES_PATH = Path("reference") / "akash-sdl"


def _fixtures_dir() -> Path | None:
    candidates = []
    if os.environ.get("DEPLOYBOT_SHARED_DIR"):
        candidates.append(Path(os.environ["DEPLOYBOT_SHARED_DIR"]))
    candidates += [REPO_ROOT.parent / "shared", Path("/work/shared")]
    for shared in candidates:
        if (shared / _FIXTURES_PATH / "input").is_dir():
            return shared / _FIXTURES_PATH
    return None


FIXTURES = _fixtures_dir()
_MISSING = pytest.param(None, id="fixtures-missing")


def _require_fixtures() -> Path:
    if FIXTURES is not None:
        return FIXTURES
    message = (
        "Akash SDL fixtures not found: set DEPLOYBOT_SHARED_DIR to the shared/ directory "
        f"holding {_FIXTURES_PATH} (looked beside the clone and in /work/shared)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _valid_cases() -> list[Any]:
    if FIXTURES is None:
        return [_MISSING]
    paths = sorted((FIXTURES / "input").glob("v*/*/input.yaml"))
    return [pytest.param(p, id=f"{p.parent.parent.name}/{p.parent.name}") for p in paths]


def _invalid_cases() -> list[Any]:
    if FIXTURES is None:
        return [_MISSING]
    paths = sorted((FIXTURES / "input").glob("*invalid/*.yaml"))
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in paths]


def _output_cases(kind: str) -> list[Any]:
    if FIXTURES is None:
        return [_MISSING]
    paths = sorted((FIXTURES / "output-fixtures").glob(f"v*/*/{kind}.json"))
    return [pytest.param(p, id=f"{p.parent.parent.name}/{p.parent.name}") for p in paths]


#: Where Akash's reason points for the fixtures known today; a new fixture need only be
#: refused with a reason that names a field.
EXPECTED_FIELD: dict[str, tuple[str, str]] = {
    "count-zero": ("/deployment/web/akash/count", ">= 1"),
    "credentials-missing-host": ("/services/web/credentials", "'host'"),
    "empty-image": ("/services/web/image", "must not be empty"),
    "endpoint-not-used": ("/endpoints/myendpoint", "never used"),
    "invalid-endpoint-name": ("/endpoints/Invalid-Name", "must match"),
    "invalid-port": ("/services/web/expose/0/port", "<= 65535"),
    "invalid-protocol": ("/services/web/expose/0/proto", "TCP or UDP"),
    "ip-without-global": ("/services/web/expose/0/to/0/global", "global"),
    "missing-deployment": ("", "'deployment'"),
    "missing-image": ("/services/web", "'image'"),
    "missing-memory-size": ("/profiles/compute/web/resources/memory", "'size'"),
    "missing-pricing": ("/profiles/placement/akash", "'pricing'"),
    "missing-version": ("", "'version'"),
    "negative-cpu": ("/profiles/compute/web/resources/cpu/units", "-100m"),
    "persistent-without-mount": ("/services/web/params/storage/data", "mount"),
    "port-too-high": ("/services/web/expose/0/port", "<= 65535"),
    "port-zero": ("/services/web/expose/0/port", ">= 1"),
    "ram-persistent-true": (
        "/profiles/compute/web/resources/storage/0/attributes",
        "cannot be persistent",
    ),
    "unknown-field": ("/unknown_field", "SDL version 2.0"),
    "v2.1-reclamation-bad-window": ("/reclamation/min_window", "'0s'"),
    "v2.1-tee-cpu-gpu-no-gpu": ("/services/web/params/tee", "requires GPU"),
    "email-too-short": ("/services/web/credentials/email", "at least 5"),
    "invalid-denom": ("/profiles/placement/akash/pricing/web/denom", "'invalidtoken'"),
    "invalid-gpu-vendor": ("/profiles/compute/web/resources/gpu/attributes/vendor/amd", "amd"),
    "invalid-version": ("/version", "'3.0'"),
    "password-too-short": ("/services/web/credentials/password", "at least 6"),
    "reclamation-compound-window": ("/reclamation/min_window", "'1h30m'"),
}


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Field-by-field differences between two JSON values, as ``path: ours != theirs``."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}/{key}"
            if key not in ours or key not in theirs:
                side = "missing in ours" if key not in ours else "not in the fixture"
                out.append(f"{where}: {side}")
            else:
                out.extend(_differences(ours[key], theirs[key], where))
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items != {len(theirs)} items ({ours!r} != {theirs!r})"]
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for d in _differences(a, b, f"{path}/{i}")
        ]
    if ours != theirs or type(ours) is not type(theirs):
        return [f"{path}: {ours!r} != {theirs!r}"]
    return []


def _input_for(output: Path) -> Path:
    fixtures = _require_fixtures()
    return fixtures / "input" / output.parent.parent.name / output.parent.name / "input.yaml"


@pytest.mark.parametrize("path", _valid_cases())
def test_valid_fixture_is_accepted(path: Path | None) -> None:
    _require_fixtures()
    assert path is not None
    assert akash_sdl.check_sdl(path.read_text()) == []


@pytest.mark.parametrize("path", _invalid_cases())
def test_invalid_fixture_is_refused_with_a_field_reason(path: Path | None) -> None:
    _require_fixtures()
    assert path is not None
    problems = akash_sdl.check_sdl(path.read_text())
    assert problems, f"{path.name} was accepted; Akash refuses it"
    with pytest.raises(akash_sdl.SdlError):
        akash_sdl.load_sdl(path.read_text())
    for where, message in problems:
        # A reason names its field: by pointer, or (for the document itself) by key name.
        assert where or "'" in message, (where, message)
    expected = EXPECTED_FIELD.get(path.stem)
    if expected is not None:
        field, needle = expected
        assert any(p == field and needle in m for p, m in problems), problems


@pytest.mark.parametrize("path", _output_cases("manifest"))
def test_manifest_matches_fixture(path: Path | None) -> None:
    _require_fixtures()
    assert path is not None
    doc = akash_sdl.load_sdl(_input_for(path).read_text())
    ours = json.loads(akash_sdl.manifest_json(akash_sdl.build_manifest(doc)))
    theirs = json.loads(path.read_text())
    assert _differences(ours, theirs) == []
    assert ours == theirs


@pytest.mark.parametrize("path", _output_cases("group-specs"))
def test_group_specs_match_fixture(path: Path | None) -> None:
    _require_fixtures()
    assert path is not None
    doc = akash_sdl.load_sdl(_input_for(path).read_text())
    ours = json.loads(json.dumps(akash_sdl.group_specs_json(doc)))
    theirs = json.loads(path.read_text())
    assert _differences(ours, theirs) == []
    assert ours == theirs


def test_every_valid_input_has_its_outputs() -> None:
    fixtures = _require_fixtures()
    for path in sorted((fixtures / "input").glob("v*/*/input.yaml")):
        out = fixtures / "output-fixtures" / path.parent.parent.name / path.parent.name
        assert (out / "manifest.json").is_file(), out
        assert (out / "group-specs.json").is_file(), out


def test_differences_names_the_field() -> None:
    ours = {"a": [{"b": 1}], "c": None}
    theirs = {"a": [{"b": 2}], "d": 1}
    assert _differences(ours, theirs) == [
        "/a/0/b: 1 != 2",
        "/c: not in the fixture",
        "/d: missing in ours",
    ]
    assert _differences({"x": 1}, {"x": 1.0}) == ["/x: 1 != 1.0"]


def test_fixtures_dir_honours_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / _FIXTURES_PATH / "input").mkdir(parents=True)
    monkeypatch.setenv("DEPLOYBOT_SHARED_DIR", str(tmp_path))
    assert _fixtures_dir() == tmp_path / _FIXTURES_PATH
    # A directory without the fixtures is passed over for the next place to look.
    monkeypatch.setenv("DEPLOYBOT_SHARED_DIR", str(tmp_path / "elsewhere"))
    assert _fixtures_dir() != tmp_path / "elsewhere" / _FIXTURES_PATH


def test_missing_fixtures_fail_under_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "FIXTURES", None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="DEPLOYBOT_SHARED_DIR"):
        _require_fixtures()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not found"):
        _require_fixtures()
