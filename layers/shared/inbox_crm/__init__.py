"""Inbox CRM shared code: domain, store, channels and the HTTP API (shipped as the Lambda layer)."""
