"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it receives, and ports
that refuse or never answer: mail tests send for real, nothing is mocked."""

import email
import email.policy
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ReceivedMail:
    """One mail as the server got it: the envelope (RFC 5321) and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    # The AUTH user the client logged in as; None when it did not authenticate.
    login: str | None

    def body(self, subtype: str) -> str:
        """The text of the `subtype` ("plain" or "html") part."""
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        assert part.get_content_subtype() == subtype, f"no text/{subtype} part"
        content: str = part.get_content()
        return content

    @property
    def text(self) -> str:
        return self.body("plain")

    @property
    def html(self) -> str:
        return self.body("html")

    @property
    def link(self) -> str:
        """The one URL in the text body (the reset or verification link)."""
        links = URL.findall(self.text)
        assert len(links) == 1, links
        link: str = links[0]
        return link

    @property
    def html_links(self) -> list[str]:
        """The `href` of every `<a>` in the HTML body, with its entities decoded."""
        parser = _Anchors()
        parser.feed(self.html)
        parser.close()
        return parser.hrefs


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


@dataclass
class MailServer:
    """A running server: where it listens, and what it received (oldest first)."""

    port: int
    received: list[ReceivedMail] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, object]:
        """Settings fields that send through this server: `settings.model_copy(update=...)`."""
        return {"smtp_host": HOST, "smtp_port": self.port, "smtp_security": "none"}

    def last(self) -> ReceivedMail:
        """The newest mail; fails the test when none came."""
        assert self.received, "the SMTP server received no mail"
        return self.received[-1]


class _Handler:
    """aiosmtpd's handler hooks (named by aiosmtpd, hence N802); they run on the server's
    own thread and event loop."""

    def __init__(self, server: MailServer, refused: Iterable[str]) -> None:
        self.server = server
        self.refused = set(refused)

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert envelope.original_content is not None
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        self.server.received.append(
            ReceivedMail(
                sender=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                message=message,
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
            )
        )
        return "250 OK"


def _authenticator(login: str, password: str) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        given = data if isinstance(data, LoginPassword) else None
        success = given is not None and given == (login.encode(), password.encode())
        # handled=False: the server answers 535 itself (RFC 4954) on a failure.
        return AuthResult(success=success, handled=False, auth_data=data)

    return authenticate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_mail_server(
    *, credentials: tuple[str, str] | None = None, refused: Iterable[str] = ()
) -> Iterator[MailServer]:
    """An SMTP server on 127.0.0.1, plain (no TLS), until the block ends.

    `credentials` (login, password): AUTH PLAIN and LOGIN are offered over plain text
    (aiosmtpd's `auth_require_tls=False`) and only this pair is accepted; the mail is
    accepted with or without AUTH. `refused`: recipients answered with 550."""
    server = MailServer(port=free_port())
    auth: dict[str, Any] = {}
    if credentials is not None:
        auth = {"auth_require_tls": False, "authenticator": _authenticator(*credentials)}
    controller = Controller(_Handler(server, refused), hostname=HOST, port=server.port, **auth)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port where nothing listens: a connection is refused at once."""
    with socket.socket() as bound:
        # Bound, never listening: no other test can take the port meanwhile.
        bound.bind((HOST, 0))
        port: int = bound.getsockname()[1]
        yield port


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listening:
        listening.bind((HOST, 0))
        listening.listen()
        port: int = listening.getsockname()[1]
        yield port
