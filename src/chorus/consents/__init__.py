"""Consent: opt-outs per (app, channel, identity), the apps' consent lists and their audit
records, opt-in / opt-out registration and the channels' own consent signals."""
