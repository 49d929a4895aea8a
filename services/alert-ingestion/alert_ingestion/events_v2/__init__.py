"""PagerDuty Events API v2 intake (`POST /v2/enqueue`): any tool that speaks it works by changing its URL."""
