"""Token pagination (API.md §1.5): `page_size`, `page_token` → `next_page_token`.

A token is URL-safe base64 (no padding) of the last key seen on the page and a fingerprint
of the filters that produced it, so a token replayed with other filters is refused.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_

from chorus.kit.errors import invalid


@dataclass(frozen=True)
class PageRequest:
    size: int
    after: Any  # the last key of the previous page, None for the first page
    fingerprint: str

    @property
    def after_id(self) -> str | None:
        """The previous page's last key, for lists keyed by one id or name (a token is not
        signed: one built by hand may hold any JSON)."""
        if self.after is not None and not isinstance(self.after, str):
            raise invalid("page_token", "is not a token returned by this list")
        return self.after

    def next_token(self, last_key: Any) -> str:
        raw = json.dumps({"k": last_key, "f": self.fingerprint}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def filters_fingerprint(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def page_request(
    page_size: int | None, page_token: str | None, *, default: int, maximum: int, **filters: Any
) -> PageRequest:
    if page_size is None or page_size <= 0:
        size = default
    elif page_size > maximum:
        raise invalid("page_size", f"must be between 1 and {maximum}")
    else:
        size = page_size
    fingerprint = filters_fingerprint(filters)
    if not page_token:
        return PageRequest(size, None, fingerprint)
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, token_fingerprint = decoded["k"], decoded["f"]
    except (ValueError, KeyError, TypeError):
        raise invalid("page_token", "is not a token returned by this list") from None
    if token_fingerprint != fingerprint:
        raise invalid("page_token", "was issued for different filters")
    return PageRequest(size, after, fingerprint)


def page_result(request: PageRequest, rows: list[Any], key: Any) -> tuple[list[Any], str]:
    """Rows were fetched with `limit size + 1`; trim and compute the next token."""
    if len(rows) <= request.size:
        return rows, ""
    rows = rows[: request.size]
    return rows, request.next_token(key(rows[-1]))


# --- newest first, by (time, id): messages, events, kept channel requests ---------------


def time_cursor(page: PageRequest) -> tuple[datetime, str] | None:
    """The (time, id) a newest-first page continues after."""
    if page.after is None:
        return None
    try:
        moment, last_id = page.after
        return datetime.fromisoformat(moment), str(last_id)
    except (TypeError, ValueError):
        raise invalid("page_token", "is not a token returned by this list") from None


def newest_first(
    query: Select[Any],
    moment: ColumnElement[Any],
    key: ColumnElement[Any],
    after: tuple[datetime, str] | None,
) -> Select[Any]:
    if after is not None:
        last_moment, last_key = after
        query = query.where(or_(moment < last_moment, and_(moment == last_moment, key < last_key)))
    return query.order_by(moment.desc(), key.desc())


def newest_first_page(
    page: PageRequest, rows: list[Any], moment: str = "accept_time"
) -> tuple[list[Any], str]:
    """Rows (with the time attribute `moment` and `id`) fetched with `limit size + 1`: the
    page and the next token."""
    return page_result(page, rows, key=lambda row: [getattr(row, moment).isoformat(), row.id])
