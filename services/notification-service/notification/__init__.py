"""notification-service: accepts notifications, keeps them in a durable outbox and delivers them
through mock, webhook and email channels, retrying failed deliveries with backoff."""
