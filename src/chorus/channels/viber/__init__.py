"""The VIBER (Viber Bot) channel: CHANNELS.md part 2 §3."""
