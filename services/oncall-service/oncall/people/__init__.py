"""People: a user's contact methods and notification rules, and the delivery plan paging follows (SPEC §12)."""
