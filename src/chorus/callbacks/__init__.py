"""Callbacks to the apps' webhooks: recording occurrences now, delivering them later."""
