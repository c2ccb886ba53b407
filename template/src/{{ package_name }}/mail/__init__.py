"""Mail to the service's users: rendered from the templates in `templates/`, sent over
SMTP (or, without SMTP_HOST outside production, written to the log)."""

from .messages import Mail, render_mail
from .sender import send_mail

__all__ = ["Mail", "render_mail", "send_mail"]
