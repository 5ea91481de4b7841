"""The public contract: pydantic models and enumerations shared by every domain."""
