"""Reading and writing files: the YAML dataset format and the JSON Lines log."""
