"""Webhooks (event destinations): where an app's callbacks go."""
