"""The official OCDS 1.1.5 schemas, shipped in procurement/ocds/schema/ (copied from the
standard's 1__1__5 tag), with the portal's extension patched in: the merge rules of the
compiled releases and the validation in tests come from these files, never from the
network."""

import copy
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import ocdsmerge
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

VERSION = "1.1"
HERE = Path(__file__).resolve().parent
SCHEMA_DIR = HERE / "schema" / "1.1.5"
EXTENSION_DIR = HERE / "extension"
RELEASE_SCHEMA_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch, as OCDS applies an extension's release-schema.json."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def release_schema() -> dict:
    """The OCDS 1.1.5 release schema with the portal's extension patched in."""
    core = _load(SCHEMA_DIR / "release-schema.json")
    return merge_patch(core, _load(EXTENSION_DIR / "release-schema.json"))


def extension_file(name: str) -> bytes | None:
    """A file of the portal's extension, as served at its fixed URL (None if not one)."""
    if name not in {"extension.json", "release-schema.json", "README.md"}:
        return None
    return (EXTENSION_DIR / name).read_bytes()


@cache
def merger() -> ocdsmerge.Merger:
    """Compiles releases with the merge rules of the shipped schema (ocdsmerge would fetch
    the latest schema from the network if given none)."""
    return ocdsmerge.Merger(schema=release_schema())


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return True


@FORMAT_CHECKER.checks("uri", raises=ValueError)
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not (parts.scheme and (parts.netloc or parts.scheme in {"mailto", "urn"})):
        raise ValueError("not an absolute URI")
    return True


@cache
def _registry() -> Registry:
    return Registry().with_resource(
        RELEASE_SCHEMA_ID, Resource.from_contents(release_schema(), default_specification=DRAFT4)
    )


@cache
def validator(name: str) -> jsonschema.Draft4Validator:
    """A validator for `release-schema.json`, `release-package-schema.json` or
    `record-package-schema.json` (releases inside packages are checked against the release
    schema with the extension)."""
    schema = release_schema() if name == "release-schema.json" else _load(SCHEMA_DIR / name)
    return jsonschema.Draft4Validator(schema, registry=_registry(), format_checker=FORMAT_CHECKER)


def errors(data: dict, name: str) -> list[str]:
    """Every schema error of `data`, as 'path: message' lines (empty when valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator(name).iter_errors(data)
    ]
