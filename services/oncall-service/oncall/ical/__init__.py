"""iCal feeds (SPEC §12): a team's schedule and a user's shifts as RFC 5545 calendars behind a secret URL."""
