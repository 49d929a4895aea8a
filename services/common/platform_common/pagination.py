"""Pagination for list endpoints: `limit` / `offset` query parameters, total in `X-Total-Count`."""

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

TOTAL_COUNT_HEADER = "X-Total-Count"


class Page(BaseModel):
    limit: int
    offset: int


def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, description="Rows to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(_page)]
