"""notification-service: accepts notifications, keeps them in a durable outbox and delivers them
through mock, webhook, email and Apprise channels, retrying failed deliveries with backoff."""
