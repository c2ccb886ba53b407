"""`python -m <package>` runs the operator CLI, as the installed script does."""

from .cli import app

app()
