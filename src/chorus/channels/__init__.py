"""Channels: one package per channel (transcode, connector, inbound), registered in base.py."""
