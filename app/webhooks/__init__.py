"""Signed webhooks: endpoints an administrator registers, and their deliveries."""
