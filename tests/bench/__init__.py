"""make bench: per operation, latency and what DynamoDB bills (requests, items read and written)."""
