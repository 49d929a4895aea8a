"""Pagination for list endpoints: `limit` / `offset` query parameters, total in `X-Total-Count`.

Both ends are bounded, so a list costs the same however large a table grows: `offset` stops at
`MAX_OFFSET` (beyond it, 422), and `count_total` counts at most `TOTAL_COUNT_CAP` rows. A total at the
cap may be larger; the response then says so with `X-Total-Count-Capped: true`.
"""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query, Response
from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

TOTAL_COUNT_HEADER = "X-Total-Count"
TOTAL_COUNT_CAPPED_HEADER = "X-Total-Count-Capped"
MAX_LIMIT = 500
MAX_OFFSET = 100_000
TOTAL_COUNT_CAP = 10_000


@dataclass(frozen=True)
class Page:
    """The page a list request asked for, and the response that reports its total."""

    limit: int
    offset: int
    response: Response | None = field(default=None, repr=False, compare=False)


def _page(
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset, response=response)


PageDep = Annotated[Page, Depends(_page)]


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
