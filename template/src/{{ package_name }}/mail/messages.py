"""Mails rendered from the Jinja2 templates shipped in `templates/`.

A template named `name` is three files: `name.subject.txt` (one line), `name.txt` (the
text body) and `name.html` (the HTML body, autoescaped)."""

from dataclasses import dataclass
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).with_name("templates")

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    # Only the HTML bodies are markup; the subject and text bodies are shown as written.
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    # A missing context value is a bug: fail at render time, not as an empty link.
    undefined=jinja2.StrictUndefined,
    # Loaded once: no file system check on the event loop for every mail.
    auto_reload=False,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Mail:
    """One mail to one recipient: its subject, and its content as text and as HTML."""

    to: str
    subject: str
    text: str
    html: str


def render_mail(template: str, to: str, **context: object) -> Mail:
    """Render the mail `template` (a base name, e.g. "password_reset") for `to`.

    `context` holds the templates' variables: "password_reset" and "email_verification"
    take `project_name`, `link` (an absolute URL) and `expires_in` (a duration in words,
    e.g. "30 minutes"). The subject is folded into one line, whatever the context holds,
    so that it cannot add headers.
    Raises `jinja2.TemplateNotFound` for an unknown template and `jinja2.UndefinedError`
    when the context lacks a variable the template uses."""
    subject = _environment.get_template(f"{template}.subject.txt").render(context)
    return Mail(
        to=to,
        subject=" ".join(subject.split()),
        text=_environment.get_template(f"{template}.txt").render(context),
        html=_environment.get_template(f"{template}.html").render(context),
    )
