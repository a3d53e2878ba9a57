"""Delivery of the outbox: e-mail (kinds, email), signed webhooks (webhooks), the batch (outbox)."""
