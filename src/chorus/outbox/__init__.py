"""The durable outbox: every piece of asynchronous work is a row written in the same
transaction as the state that caused it."""
