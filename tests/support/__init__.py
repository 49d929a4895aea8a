"""Helpers shared by the test suites: database isolation and in-thread servers."""
