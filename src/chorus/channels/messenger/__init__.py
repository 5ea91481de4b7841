"""Facebook Messenger: Send API transcoding, the Graph API connector and signed webhooks
(CHANNELS.md part 2 §1)."""
