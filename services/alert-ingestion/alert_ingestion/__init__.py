"""alert-ingestion: accepts alerts, stores them, and correlates them into incidents."""
