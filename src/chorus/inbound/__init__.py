"""Native webhooks of the channels: verified, mapped, and turned into the API's contact
messages, events and delivery reports."""
