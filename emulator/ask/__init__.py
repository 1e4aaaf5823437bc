"""The ask receiver: a local stand-in for the service a flow's `ask` step posts to."""
