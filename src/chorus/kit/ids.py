"""Resource identifiers: 26-character ULIDs (Crockford base32), sortable by creation time."""

from ulid import ULID


def new_id() -> str:
    return str(ULID())
