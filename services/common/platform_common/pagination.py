"""Pagination for list endpoints: `limit` / `offset` query parameters, total in `X-Total-Count`."""

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

TOTAL_COUNT_HEADER = "X-Total-Count"
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000  # PostgreSQL's OFFSET is a bigint: an unbounded value becomes a database error


class Page(BaseModel):
    limit: int
    offset: int


def _page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(_page)]
