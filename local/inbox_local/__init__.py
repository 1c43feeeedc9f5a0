"""The local stack: the whole product on loopback with no AWS account and no Docker. Never shipped."""
