"""`update_mask` on PATCH (API.md §1.6): every spelling accepted, and their union taken."""

import copy
from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request

from chorus.kit.errors import describe_validation_error, invalid, invalid_fields


def requested_mask(request: Request) -> list[str] | None:
    """Paths from `update_mask=a,b`, repeated `update_mask`, and `update_mask.paths`.
    None when no mask was sent, or an empty one (as protobuf reads it, and AIP-134: every
    field the body gives changes)."""
    values = request.query_params.getlist("update_mask") + request.query_params.getlist(
        "update_mask.paths"
    )
    if not values:
        return None
    paths: list[str] = []
    for value in values:
        for path in value.split(","):
            path = path.strip()
            if path and path not in paths:
                paths.append(path)
    return paths or None


def check_mask(
    paths: list[str],
    allowed: set[str],
    *,
    ignored: set[str] = frozenset(),
    nested: set[str] = frozenset(),
) -> list[str]:
    """Top-level fields named by the mask (nested paths name their top-level field).
    Unknown paths are refused, and so are dotted paths below a field without sub-fields
    (`email.x` would clear `email`); read-only `ignored` ones are dropped."""
    fields: list[str] = []
    for path in paths:
        top, dot, _ = path.partition(".")
        if top in ignored:
            continue
        if top not in allowed:
            raise invalid("update_mask", f"unknown or read-only field path '{path}'")
        if dot and top not in nested:
            raise invalid("update_mask", f"'{path}': {top} is updated whole, name '{top}'")
        if top not in fields:
            fields.append(top)
    return fields


@dataclass(frozen=True)
class SubFields:
    """Dotted mask paths into one object field (`retention_policy.ttl_days`): only those
    sub-fields change, the others keep their stored values (API.md §1.6: "only the listed
    paths change"). None clears a sub-field (its default applies)."""

    values: dict[str, Any]  # dotted path below the field → new JSON value or None

    def onto(self, stored: dict[str, Any] | None) -> dict[str, Any]:
        merged = copy.deepcopy(stored) if isinstance(stored, dict) else {}
        for path, value in self.values.items():
            *parents, leaf = path.split(".")
            node = merged
            for part in parents:
                child = node.get(part)
                node = node[part] = dict(child) if isinstance(child, dict) else {}
            if value is None:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return merged

    def validated(self, field: str, stored: dict[str, Any] | None, annotation: Any) -> Any:
        """The merged object, checked as the field's type (a 400 naming `field.sub` when
        the combination is invalid, and on `update_mask` for a path naming no sub-field:
        the type would drop it, and the client believe it set)."""
        for path in self.values:
            _check_path(field, path, annotation)
        try:
            return TypeAdapter(annotation).validate_python(self.onto(stored))
        except ValidationError as error:
            raise invalid_fields(
                [
                    describe_validation_error({**problem, "loc": (field, *problem["loc"])})
                    for problem in error.errors()
                ]
            ) from None


def _check_path(field: str, path: str, annotation: Any) -> None:
    """A 400 on `update_mask` when a part of `path` names no field of the model below."""
    node = annotation
    for part in path.split("."):
        model = next((t for t in (node, *get_args(node)) if _is_model(t)), None)  # `M | None`
        if model is None:
            return  # below a free-form object: any key is one
        fields = dict(model.model_fields)
        fields.update({info.alias: info for info in model.model_fields.values() if info.alias})
        if part not in fields:
            raise invalid("update_mask", f"'{field}.{path}': {field} has no field '{part}'")
        node = fields[part].annotation


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


def _sent(model: Any, path: str) -> Any:
    """The JSON value the body gave at `path` below `model`, or None when it gave none."""
    node = model
    for part in path.split("."):
        if not isinstance(node, BaseModel) or part not in node.model_fields_set:
            return None
        node = getattr(node, part)
    return _json(node)


def requested_changes(
    body: BaseModel | None,
    mask: list[str] | None,
    allowed: set[str],
    *,
    ignored: set[str] = frozenset(),
    nested: set[str] = frozenset(),
) -> dict[str, Any]:
    """The fields a PATCH changes, with their new values; None means "clear / reset to the
    default". With a mask, only masked fields change (absent ones are cleared), and a field
    named only by dotted paths changes only there (`SubFields`, for `nested` fields: the
    caller merges it onto the stored object); without a mask, every field present in the
    body replaces the stored value."""
    present = body.model_fields_set if body is not None else set()
    if mask is None:
        if body is None:
            return {}
        fields = [name for name in type(body).model_fields if name in present and name in allowed]
        return {name: getattr(body, name) for name in fields}
    changes: dict[str, Any] = {}
    for name in check_mask(mask, allowed, ignored=ignored, nested=nested):
        below = [p.split(".", 1)[1] for p in mask if p.startswith(f"{name}.")]
        if name in nested and below and name not in mask:
            given = getattr(body, name) if name in present else None
            changes[name] = SubFields({path: _sent(given, path) for path in below})
        else:
            changes[name] = getattr(body, name) if name in present else None
    return changes
