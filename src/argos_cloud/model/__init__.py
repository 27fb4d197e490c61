"""Names, tags and the desired resources of an environment: pure, no AWS."""
