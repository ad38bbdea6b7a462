"""``args.resources`` of a ``container/run`` op: S3, Hugging Face and Ollama resources.

As ``@nosana/types`` has them: an S3 resource needs ``target`` and takes either one
``bucket``, or a ``buckets`` list of ``{url, files?}``, or neither (then ``files`` may list
objects); ``IAM`` carries all three credentials. An HF resource needs ``target`` and ``repo``;
an Ollama resource needs ``model``. A list item may also be a spread marker or
``"__remove-if-empty__"``. Unknown fields are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers.nosana_jobdef.problems import REMOVE_IF_EMPTY, STR, Shapes

__all__ = ["ResourceRules"]

_RESOURCE_EXPECTED = (
    '("__remove-if-empty__" | (__type & TagBase<__type>) | HFResource | OllamaResource'
    " | S3Base | S3WithBucket | S3WithBuckets)"
)
_TYPE_EXPECTED = '("HF" | "Ollama" | "S3")'
_IAM_KEYS = ("REGION", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY")


class ResourceRules(Shapes):
    """Checks of ``args.resources``."""

    def resources(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of resources", "(Array<Resource> | undefined)")
            return
        for i, resource in enumerate(value):
            self.resource(resource, f"{path}[{i}]")

    def resource(self, value: Any, path: str) -> None:
        if value == REMOVE_IF_EMPTY:
            return
        if not isinstance(value, Mapping):
            self.add(
                path,
                "must be a resource object ({type: S3|HF|Ollama, …}), a spread marker "
                f'or "{REMOVE_IF_EMPTY}"',
                _RESOURCE_EXPECTED,
            )
            return
        if "__spread__" in value:
            self.spread_marker(value, path)
            return
        kind = value.get("type")
        if kind == "S3":
            self.s3(value, path)
        elif kind == "HF":
            self.hugging_face(value, path)
        elif kind == "Ollama":
            self.ollama(value, path)
        elif "type" not in value:
            self.add(f"{path}.type", 'is required: "S3", "HF" or "Ollama"', _TYPE_EXPECTED)
        else:
            self.add(f"{path}.type", 'must be "S3", "HF" or "Ollama"', _TYPE_EXPECTED)

    def s3(self, value: Mapping[str, Any], path: str) -> None:
        self.required(value, path, {"target": STR})
        self.fields(
            value,
            path,
            {
                "type": lambda v, p: None,
                "target": self.required_string,
                "url": self.string,
                "allowWrite": self.boolean,
                "IAM": self.iam,
                "files": self.strings,
                "bucket": self.required_string,
                "buckets": self.buckets,
            },
        )
        if "bucket" in value and "buckets" in value:
            self.add(
                f"{path}.buckets",
                "an S3 resource takes either bucket (one bucket) or buckets (a list), not both",
                "undefined",
            )
        if "files" in value and ("bucket" in value or "buckets" in value):
            self.add(
                f"{path}.files",
                "is only allowed on an S3 resource without bucket/buckets "
                "(list a bucket's files under buckets[].files)",
                "undefined",
            )

    def buckets(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of {url, files?}", "Array<__type>")
            return
        for i, bucket in enumerate(value):
            item = f"{path}[{i}]"
            if self.obj(bucket, item, "__type", "an object {url, files?}"):
                self.required(bucket, item, {"url": STR})
                self.fields(bucket, item, {"url": self.required_string, "files": self.strings})

    def iam(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(S3Auth | undefined)", "an object of S3 credentials"):
            return
        self.required(value, path, dict.fromkeys(_IAM_KEYS, STR))
        self.fields(value, path, dict.fromkeys(_IAM_KEYS, self.required_string))

    def hugging_face(self, value: Mapping[str, Any], path: str) -> None:
        self.required(value, path, {"target": STR, "repo": STR})
        self.fields(
            value,
            path,
            {
                "type": lambda v, p: None,
                "target": self.required_string,
                "repo": self.required_string,
                "revision": self.string,
                "files": self.strings,
                "accessToken": self.string,
            },
        )

    def ollama(self, value: Mapping[str, Any], path: str) -> None:
        self.required(value, path, {"model": STR})
        self.fields(
            value,
            path,
            {"type": lambda v, p: None, "model": self.required_string, "target": self.string},
        )
