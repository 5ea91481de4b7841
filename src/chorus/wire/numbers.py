"""Numbers as protobuf's JSON mapping takes them: a JSON number, or its decimal string
(`"30"`, as int64 fields are written), never a boolean — pydantic's lax mode would read
`true` as 1 and store it without a word."""

from typing import Annotated, Any

from pydantic import BeforeValidator


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


Int = Annotated[int, BeforeValidator(_not_a_boolean)]
Float = Annotated[float, BeforeValidator(_not_a_boolean)]
