"""Acknowledge or resolve an incident from the page: the confirmation page (GET) and the action (POST)
behind the signed links every page carries (`platform_common.pagelinks`)."""
