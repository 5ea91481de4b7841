"""Messages: sending (the pipeline), receiving, and the message store."""
