"""Call flows (issue 21): the model, its validation, the engine and the dry run. Pure."""
