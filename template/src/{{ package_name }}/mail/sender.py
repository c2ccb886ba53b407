"""Sending a `Mail` over SMTP (RFC 5321) with aiosmtplib, or to the log without SMTP_HOST."""

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from ..settings import Settings
from .messages import Mail

# "<package>.mail": the package's one logger, whichever of its modules writes.
logger = logging.getLogger(__name__.rpartition(".")[0])


def build_message(settings: Settings, mail: Mail) -> EmailMessage:
    """The RFC 5322 message for `mail`, from MAIL_FROM.

    With a Date and a Message-ID, and the text and HTML bodies as the two parts of a
    multipart/alternative (text first: RFC 2046 section 5.1.4 puts the preferred, richer
    part last).

    Raises ValueError when a header value holds a line break."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    # make_msgid() without a domain looks up this host's name: a blocking DNS query.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


async def send_mail(settings: Settings, mail: Mail) -> bool:
    """Send `mail` over SMTP (RFC 5321); whether it went.

    True when it was handed to the SMTP server (or, without SMTP_HOST outside
    production, written to the log), False when it was not.

    Never raises for a failure of the server, the network, TLS or a timeout
    (`SMTP_TIMEOUT_SECONDS` applies to the connection and to each command): it logs one
    line naming the failure, without the mail's body (its links carry secrets) or the
    SMTP password, and returns False, so that a mail that cannot be sent never turns a
    request into a 5xx. SMTP_SECURITY picks the transport: "starttls" upgrades the
    connection before anything else (RFC 3207) and fails when the server cannot, "tls"
    speaks TLS from the first byte (RFC 8314), "none" sends in clear text. Options as in
    https://aiosmtplib.readthedocs.io/en/stable/reference.html#aiosmtplib.send.

    Raises ValueError for a recipient or subject holding a line break: a caller's bug
    (render_mail folds subjects), not a delivery failure."""
    if settings.smtp_host is None:
        return _log_instead(settings, mail)
    message = build_message(settings, mail)
    password = None if settings.smtp_password is None else settings.smtp_password.get_secret_value()
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    # TimeoutError and ssl.SSLError are OSErrors; aiosmtplib's own errors (refusals,
    # STARTTLS not offered, authentication) are SMTPExceptions.
    except (aiosmtplib.SMTPException, OSError) as error:
        # One line: the server's reply may hold line breaks that would forge log lines.
        detail = " ".join(str(error).split())
        logger.error(
            "mail not sent (%r) through %s:%d: %s: %s",
            mail.subject,
            settings.smtp_host,
            settings.smtp_port,
            type(error).__name__,
            detail,
        )
        return False
    logger.info(
        "mail sent (%r) through %s:%d", mail.subject, settings.smtp_host, settings.smtp_port
    )
    return True


def _log_instead(settings: Settings, mail: Mail) -> bool:
    if settings.environment == "production":
        # Never the body in production: its links carry secrets (reset tokens).
        logger.warning("mail not sent (%r): SMTP_HOST is not set", mail.subject)
        return False
    logger.info(
        "SMTP_HOST is not set: this mail is written here instead of sent\n"
        "To: %s\nSubject: %s\n\n%s",
        mail.to,
        mail.subject,
        mail.text,
    )
    return True
