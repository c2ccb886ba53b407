"""The service (about.py names and describes it)."""
