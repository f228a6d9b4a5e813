"""The ComponentResources of the platform, one per file."""
