"""`update_mask` on PATCH (API.md §1.6): every spelling accepted, and their union taken."""

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from chorus.kit.errors import invalid


def requested_mask(request: Request) -> list[str] | None:
    """Paths from `update_mask=a,b`, repeated `update_mask`, and `update_mask.paths`.
    None when no mask was sent at all."""
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
    return paths


def check_mask(
    paths: list[str], allowed: set[str], *, ignored: set[str] = frozenset()
) -> list[str]:
    """Top-level fields named by the mask (nested paths name their top-level field).
    Unknown paths are refused; read-only `ignored` ones are dropped."""
    fields: list[str] = []
    for path in paths:
        top = path.split(".", 1)[0]
        if top in ignored:
            continue
        if top not in allowed:
            raise invalid("update_mask", f"unknown or read-only field path '{path}'")
        if top not in fields:
            fields.append(top)
    return fields


def requested_changes(
    body: BaseModel | None,
    mask: list[str] | None,
    allowed: set[str],
    *,
    ignored: set[str] = frozenset(),
) -> dict[str, Any]:
    """The fields a PATCH changes, with their new values; None means "clear / reset to the
    default". With a mask, only masked fields change (absent ones are cleared); without one,
    every field present in the body replaces the stored value."""
    present = body.model_fields_set if body is not None else set()
    if mask is None:
        if body is None:
            return {}
        fields = [name for name in type(body).model_fields if name in present and name in allowed]
    else:
        fields = check_mask(mask, allowed, ignored=ignored)
    return {name: getattr(body, name) if name in present else None for name in fields}
