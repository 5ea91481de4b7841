"""WhatsApp: the Cloud API channel (CHANNELS.md part 1 §2)."""
