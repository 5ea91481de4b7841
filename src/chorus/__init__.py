"""chorus: a self-hosted omnichannel messaging gateway speaking the Conversation API."""

__version__ = "0.1.0"
