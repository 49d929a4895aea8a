"""Response models of the iCal feed routes."""

from pydantic import BaseModel, Field


class FeedUrl(BaseModel):
    url: str = Field(description="The feed's address; it carries the feed's secret and is shown only this once")
