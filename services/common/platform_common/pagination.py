"""Pagination for list endpoints: `limit` / `offset` query parameters, total in `X-Total-Count`.

Both ends are bounded, so a list costs the same however large a table grows: `offset` stops at
`MAX_OFFSET` (beyond it, 422), and `count_total` counts at most `TOTAL_COUNT_CAP` rows. A total at the
cap may be larger; the response then says so with `X-Total-Count-Capped: true`.

Lists ordered newest first may also be walked by cursor (`KeysetPageDep`): a full page answers
`X-Next-Cursor`, and `?cursor=<it>` is the next page, read from an index at any depth (an offset reads
and skips every row before its page).
"""

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Response
from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select
from sqlalchemy.orm import Session

from platform_common.errors import InvalidInput

TOTAL_COUNT_HEADER = "X-Total-Count"
TOTAL_COUNT_CAPPED_HEADER = "X-Total-Count-Capped"
NEXT_CURSOR_HEADER = "X-Next-Cursor"
MAX_LIMIT = 500
MAX_OFFSET = 100_000
TOTAL_COUNT_CAP = 10_000


@dataclass(frozen=True)
class Position:
    """A row of a newest-first list (its timestamp and id): a cursor's page starts after it."""

    at: datetime
    id: UUID

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.at.isoformat()}|{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            at, id_ = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
            position = cls(at=datetime.fromisoformat(at), id=UUID(id_))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise _invalid_cursor("not a cursor this list gave out") from exc
        if position.at.tzinfo is None:
            raise _invalid_cursor("not a cursor this list gave out")
        return position


def _invalid_cursor(message: str) -> InvalidInput:
    return InvalidInput(f"Invalid cursor: {message}", details=[{"field": "cursor", "message": message, "type": "value_error"}])


@dataclass(frozen=True)
class Page:
    """The page a list request asked for, and the response that reports its total."""

    limit: int
    offset: int
    response: Response | None = field(default=None, repr=False, compare=False)
    after: Position | None = None


def _page(
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset, response=response)


PageDep = Annotated[Page, Depends(_page)]


def _keyset_page(
    page: PageDep,
    cursor: Annotated[
        str | None, Query(max_length=200, description="Continue after the page that answered this X-Next-Cursor (instead of offset)")
    ] = None,
) -> Page:
    if cursor is None:
        return page
    if page.offset:
        raise _invalid_cursor("give either cursor or offset, not both")
    return Page(limit=page.limit, offset=0, response=page.response, after=Position.decode(cursor))


KeysetPageDep = Annotated[Page, Depends(_keyset_page)]


def newest_first(rows: Select, page: Page, *, at: ColumnElement, id_: ColumnElement) -> Select:
    """The page of `rows` ordered newest first (`at` descending, then `id_`): after the page's cursor, or
    past its offset. The order is total, so consecutive pages neither repeat nor skip a row."""
    ordered = rows.order_by(at.desc(), id_).limit(page.limit)
    if page.after is None and page.offset:
        # Skip the offset in an index holding (filter, at, id) only, then read just the page's rows.
        ids = ordered.with_only_columns(id_, maintain_column_froms=True).offset(page.offset)
        return rows.where(id_.in_(ids.scalar_subquery())).order_by(at.desc(), id_)
    if page.after is None:
        return ordered
    # `at <= cursor` bounds the index range; the OR orders rows of the same instant by id.
    return ordered.where(at <= page.after.at, or_(at < page.after.at, id_ > page.after.id))


def set_next_cursor(page: Page, rows: Sequence[Mapping[str, Any]], *, at: str, id_: str) -> None:
    """Answer `X-Next-Cursor` when the page is full (a next page may have rows)."""
    if page.response is not None and rows and len(rows) == page.limit:
        page.response.headers[NEXT_CURSOR_HEADER] = Position(at=rows[-1][at], id=rows[-1][id_]).encode()


def count_total(session: Session, rows: Select, page: Page) -> int:
    """How many rows the `rows` query selects, counted over at most `TOTAL_COUNT_CAP + 1` of them: past
    the cap the answer is the cap, and the page's response gets `X-Total-Count-Capped: true`."""
    limited = rows.with_only_columns(literal_column("1"), maintain_column_froms=True).order_by(None).limit(TOTAL_COUNT_CAP + 1)
    total = session.execute(select(func.count()).select_from(limited.subquery())).scalar_one()
    if total <= TOTAL_COUNT_CAP:
        return total
    if page.response is not None:
        page.response.headers[TOTAL_COUNT_CAPPED_HEADER] = "true"
    return TOTAL_COUNT_CAP
