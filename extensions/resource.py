"""The resource generator's answers: checks behind its validators, and what its files use.

`copier copy` with `generate=resource`, run in a service rendered from this template,
adds one owned resource (template/../resource/). Its answers name it and its fields;
this module turns the fields' YAML mapping (`name: type [optional] [unique]`) into
everything the files need, so the Jinja there stays small.

A question's default or validator may read the service's folder (`_copier_conf.dst_path`)
only to help at `copy`: on `copier update`, Copier renders the old and new releases into
empty temporary folders too, so a check that needs the service's files passes when they
are absent, and nothing rendered into a file depends on them.
"""

from __future__ import annotations

import ast
import keyword
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# The migration's revision, "<plural>_0001", fits alembic_version's 32 characters.
MAX_RESOURCE_NAME_LENGTH = 27
MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL's, for constraint names
MAX_FIELD_NAME_LENGTH = 40
MAX_STR_LENGTH = 10_000
# A field spec: a type, its arguments in parentheses, then the flags.
SPEC_RE = re.compile(r"^\s*(?P<type>[a-z]+)\s*(?:\((?P<args>[^)]*)\))?(?P<flags>(?:\s+\w+)*)\s*$")
FLAGS = frozenset({"optional", "unique"})
TYPES = ("str", "text", "int", "decimal", "bool", "date", "datetime", "uuid", "enum")
INT32 = (-(2**31), 2**31 - 1)

# What the service already has: its packages and modules under src/<package>/, its
# tables, and the names Python, Pydantic and SQLModel keep for themselves.
RESERVED_RESOURCE_NAMES = frozenset(
    {
        "about", "account", "accounts", "account_token", "alembic_version", "api", "auth",
        "cli", "db", "docs", "feature_errors", "health", "item", "items", "login_throttle",
        "mail", "main", "metrics", "migrations", "models", "observability", "refresh_token",
        "settings", "tests", "user", "users", "web", "benchmarks", "openapi",
    }
)  # fmt: skip
# Columns every resource table has; attributes of Pydantic's and SQLModel's classes; the
# types the files annotate with (a field named so would shadow its type in the class).
RESERVED_FIELD_NAMES = frozenset(
    {
        "id", "owner_id", "created_at", "updated_at", "metadata", "registry",
        "json", "dict", "copy", "schema", "schema_json", "validate", "construct",
        "from_orm", "parse_obj", "parse_raw", "parse_file", "update_forward_refs", "fields",
        "int", "str", "bool", "float", "bytes", "date", "datetime", "time", "uuid",
        "decimal", "list", "set", "tuple", "object", "sa", "enum",
    }
)  # fmt: skip


def name_problem(value: Any, what: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        return (
            f"{what} must be lowercase words joined by single underscores "
            f"(letters and digits, starting with a letter), such as invoice; got {value!r}"
        )
    if len(value) > MAX_RESOURCE_NAME_LENGTH:
        return f"{what} must be at most {MAX_RESOURCE_NAME_LENGTH} characters"
    if keyword.iskeyword(value):
        return f"{what} {value!r} is a Python keyword"
    if value in RESERVED_RESOURCE_NAMES:
        return f"{what} {value!r} is taken by the service itself; pick another name"
    return ""


def camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def words(name: str) -> str:
    return name.replace("_", " ")


def existing_tables(project: Path) -> set[str]:
    """Table names the service's migrations create, read from their source."""
    tables: set[str] = set()
    for script in (project / "migrations" / "versions").glob("*.py"):
        tables.update(re.findall(r"create_table\(\s*['\"](\w+)['\"]", script.read_text()))
    return tables


def copier_operation() -> str:
    """ "copy" or "update": what Copier is doing. Copier gives its tasks this
    (`_copier_operation`) but not its validators, so it is read where Copier keeps it;
    "" if a later Copier keeps it elsewhere (then a second copy is Copier's recopy)."""
    try:
        from copier._main import _operation
    except ImportError:
        return ""
    return str(_operation.get(""))


def resource_name_problem(
    plural: Any, singular: Any, package: Any, destination: Any, answers_file: Any
) -> str:
    """Empty when the names are good; else a sentence saying why not. A name the
    service already uses is refused, except by this resource's own update (its answers
    file is there)."""
    problem = name_problem(singular, "resource_singular") or name_problem(plural, "resource_plural")
    if problem:
        return problem
    if plural == singular:
        return "resource_plural must differ from resource_singular (invoice, invoices)"
    project = Path(str(destination))
    if (project / str(answers_file)).exists():
        if copier_operation() == "copy":
            return (
                f"{plural} was generated here already ({answers_file}): update it with "
                f"`copier update --answers-file {answers_file}`, or pick another name"
            )
        return ""
    if (project / "src" / str(package) / plural).exists():
        return f"src/{package}/{plural} already exists in this service; pick another name"
    if singular in existing_tables(project):
        return f"a table named {singular} already exists in this service's migrations"
    return ""


def service_problem(package: Any, destination: Any) -> str:
    """The destination is a service rendered from this template (or empty: Copier's own
    temporary folders during an update)."""
    project = Path(str(destination))
    empty = not project.exists() or not any(project.iterdir())
    if empty and copier_operation() != "copy":
        return ""  # an update's render in Copier's temporary folder
    if not (project / "src" / str(package) / "main.py").is_file():
        return (
            f"no src/{package}/main.py here: run the resource generator in the folder of "
            "a service rendered from this template, and answer its package_name"
        )
    return ""


@dataclass(frozen=True)
class ResourceField:
    """One field of a resource, in every form its files write it."""

    name: str
    kind: str
    optional: bool
    unique: bool
    python_type: str  # the model's and the public schema's annotation, without None
    schema_type: str  # the request bodies' annotation, without None
    column_type: str  # the migration's SQLAlchemy type
    model_field: str  # the model's Field(...) call
    check: str  # an SQL CHECK on the column, or ""
    sample: str  # Python source of a JSON value the API accepts...
    changed: str  # ...another...
    bad: str  # ...and one it refuses with 422
    sql_sample: str  # Python source of the value raw SQL inserts
    alias: str  # the request bodies' type alias
    fresh: str  # Python source of a new value each time (the benchmark's unique fields)
    # Python source of the `number`th of a few values, distinct from each other and from
    # sample (tests; an enum's first is its sample, its second another)
    distinct: str
    max_length: int = 0
    enum_values: tuple[str, ...] = ()
    enum_class: str = ""


def parse_field(name: str, spec: Any, singular: str) -> ResourceField | str:
    """The field `name: spec`, or a sentence saying what is wrong with it."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return f"field {name!r}: names are lowercase words joined by single underscores"
    if len(name) > MAX_FIELD_NAME_LENGTH:
        return f"field {name}: at most {MAX_FIELD_NAME_LENGTH} characters"
    if keyword.iskeyword(name):
        return f"field {name}: a Python keyword"
    if name in RESERVED_FIELD_NAMES or name.startswith("model_"):
        return f"field {name}: the table, its classes or their types have that name already"
    match = SPEC_RE.match(spec) if isinstance(spec, str) else None
    if isinstance(spec, str) and spec.count("(") != spec.count(")"):
        return (
            f"field {name}: {spec!r} is cut at a comma: in a one-line YAML mapping, quote "
            'a type with a comma ({amount: "decimal(12, 2)"})'
        )
    if match is None:
        return f"field {name}: write its type as `type [optional] [unique]`, got {spec!r}"
    kind, args, given = match["type"], match["args"], match["flags"].split()
    flags = set(given)
    if len(flags) < len(given):
        return f"field {name}: a flag given twice in {spec!r}"
    if kind not in TYPES:
        return f"field {name}: unknown type {kind!r}; the types are {', '.join(TYPES)}"
    if unknown := flags - FLAGS:
        return f"field {name}: unknown flag {sorted(unknown)[0]!r} (optional, unique)"
    optional, unique = "optional" in flags, "unique" in flags
    if unique and kind in {"text", "bool"}:
        return f"field {name}: a {kind} cannot be unique"
    builders = {
        "str": _string,
        "text": _text,
        "int": _integer,
        "decimal": _decimal,
        "bool": _boolean,
        "date": _date,
        "datetime": _datetime,
        "uuid": _uuid,
        "enum": _enum,
    }
    built = builders[kind](name, args, singular)
    if isinstance(built, str):
        return f"field {name}: {built}"
    return ResourceField(
        name=name,
        kind=kind,
        optional=optional,
        unique=unique,
        alias=f"{camel(name)}Value",
        fresh=built.pop("fresh", built["sample"]),
        distinct=built.pop("distinct", built["sample"]),
        **built,
    )


def _no_args(args: str | None, kind: str) -> str:
    return f"{kind} takes no arguments" if args is not None else ""


def _string(name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    if args is None or not args.strip().isdigit():
        return "a str needs its maximum length, such as str(200)"
    length = int(args)
    if not 1 <= length <= MAX_STR_LENGTH:
        return f"a str's length is 1 to {MAX_STR_LENGTH}"
    return {
        "python_type": "str",
        "schema_type": f"Annotated[str, Field(min_length=1, max_length={length}), NoNul]",
        "column_type": f"sa.String(length={length})",
        "model_field": f"Field(max_length={length})",
        "check": "",
        "sample": repr(f"{name} A"[:length]),
        "changed": repr(f"{name} B"[-length:]),
        "bad": f'"x" * {length + 1}',
        "sql_sample": repr("x"),
        "max_length": length,
        "fresh": f"uuid.uuid4().hex[:{length}]",
        "distinct": 'f"{number}"',
    }


def _text(name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    return _no_args(args, "text") or {
        "python_type": "str",
        "schema_type": "Annotated[str, NoNul]",
        "column_type": "sa.Text()",
        "model_field": "Field(sa_type=Text)",
        "check": "",
        "sample": repr(f"{name}: a longer text"),
        "changed": repr(f"{name}: another text"),
        "bad": repr("NUL \x00"),
        "sql_sample": repr("x"),
    }


def _integer(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    low, high = INT32
    return _no_args(args, "int") or {
        "python_type": "int",
        # The column is a 32-bit integer: a larger number is a 422, not a database error.
        # The bounds first: a validator before them would hide them from the schema.
        "schema_type": f"Annotated[int, Field(ge={low}, le={high}), JSON_INTEGER]",
        "column_type": "sa.Integer()",
        "model_field": "Field()",
        "check": "",
        "sample": "7",
        "changed": "-8",
        "bad": str(high + 1),
        "sql_sample": "7",
        "fresh": f"secrets.randbelow({high})",
        "distinct": "number + 100",
    }


def _decimal(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    precision, scale = 12, 2
    if args is not None:
        parts = [part.strip() for part in args.split(",")]
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            return "a decimal's arguments are its precision and scale, such as decimal(12, 2)"
        precision, scale = int(parts[0]), int(parts[1])
        if not (1 <= precision <= 38 and 0 <= scale < precision):
            return "a decimal's precision is 1 to 38 and its scale below it"
    fraction = "5" * scale
    sample = f"1.{fraction}" if scale else "1"
    # Exactly the strings that fit: digits before and after the point, an optional minus.
    places = rf"(\.\d{{1,{scale}}})?" if scale else ""
    pattern = rf"^-?\d{{1,{precision - scale}}}{places}$"
    return {
        "python_type": "Decimal",
        # JSON has no decimal: it comes as a string, exact (a number would go through a
        # float in many clients), whose pattern the schema gives.
        "schema_type": (
            f"Annotated[Decimal, Strict(False), json_string({pattern!r}), fixed_point({scale}), "
            f"WithJsonSchema({{'type': 'string', 'pattern': {pattern!r}}})]"
        ),
        "column_type": f"sa.Numeric(precision={precision}, scale={scale})",
        "model_field": f"Field(max_digits={precision}, decimal_places={scale})",
        "check": "",
        "sample": repr(sample),
        "changed": repr(f"-{sample}"),
        "bad": repr("1" + "0" * (precision - scale)),
        "sql_sample": f"Decimal({sample!r})",
        "fresh": f"str(secrets.randbelow(10 ** {precision - scale}))",
        "distinct": f'f"{{number + 2}}.{fraction}"' if scale else 'f"{number + 2}"',
    }


def _boolean(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    return _no_args(args, "bool") or {
        "python_type": "bool",
        "schema_type": "bool",
        "column_type": "sa.Boolean()",
        "model_field": "Field()",
        "check": "",
        "sample": "True",
        "changed": "False",
        "bad": repr("maybe"),
        "sql_sample": "True",
    }


def _date(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    return _no_args(args, "date") or {
        "python_type": "date",
        # JSON has no date: an RFC 3339 string (web/schemas.JSON_DATE).
        "schema_type": "Annotated[date, Strict(False), JSON_DATE]",
        "column_type": "sa.Date()",
        "model_field": "Field()",
        "check": "",
        "sample": repr("2026-12-01"),
        "changed": repr("2027-01-15"),
        "bad": repr("2026-13-01"),
        "sql_sample": "date(2026, 12, 1)",
        "fresh": "(date(2000, 1, 1) + timedelta(days=secrets.randbelow(36500))).isoformat()",
        "distinct": 'f"2026-11-{number + 1:02d}"',
    }


def _datetime(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    return _no_args(args, "datetime") or {
        "python_type": "datetime",
        # With its offset, always: a naive time is ambiguous, so it is a 422.
        "schema_type": "Annotated[AwareDatetime, Strict(False), JSON_DATETIME, IN_UTC]",
        "column_type": "sa.DateTime(timezone=True)",
        "model_field": "",  # a sa_column of its own (UTCDateTime)
        "check": "",
        "sample": repr("2026-12-01T10:00:00Z"),
        "changed": repr("2027-01-15T08:30:00Z"),
        "bad": repr("2026-12-01T10:00:00"),
        "sql_sample": "datetime(2026, 12, 1, 10, tzinfo=UTC)",
        "fresh": "(EPOCH + timedelta(seconds=secrets.randbelow(10**9))).isoformat()",
        "distinct": 'f"2026-11-01T09:00:{number:02d}Z"',
    }


def _uuid(_name: str, args: str | None, _singular: str) -> dict[str, Any] | str:
    return _no_args(args, "uuid") or {
        "python_type": "uuid.UUID",
        "schema_type": "Annotated[uuid.UUID, Strict(False), JSON_UUID]",
        "column_type": "sa.Uuid()",
        "model_field": "Field()",
        "check": "",
        "sample": repr("0b5e7f0e-4a53-4c55-9a3b-7d0c6f1e2a01"),
        "changed": repr("6f1c2d3e-8b9a-4c7d-8e6f-5a4b3c2d1e0f"),
        "bad": repr("not-a-uuid"),
        "sql_sample": "uuid.uuid4()",
        "fresh": "str(uuid.uuid4())",
        "distinct": "str(uuid.UUID(int=number + 1))",
    }


def _enum(name: str, args: str | None, singular: str) -> dict[str, Any] | str:
    values = tuple(part.strip() for part in (args or "").split(",") if part.strip())
    if not values:
        return "an enum lists its values, such as enum(draft, sent, paid)"
    if bad := [value for value in values if not NAME_RE.match(value)]:
        return f"enum values are lowercase words joined by underscores, not {bad[0]!r}"
    if len(set(values)) != len(values):
        return "an enum's values must differ"
    length = max(len(value) for value in values)
    quoted = ", ".join(f"'{value}'" for value in values)
    return {
        "python_type": camel(singular) + camel(name),
        # JSON has no enum: its value comes as a string (web/schemas.JSON_STRING).
        "schema_type": f"Annotated[{camel(singular) + camel(name)}, Strict(False), JSON_STRING]",
        "column_type": f"sa.String(length={length})",
        "model_field": "",  # a sa_column of its own (String)
        # Quoted: a field may be named like an SQL keyword (order, user).
        "check": f'"{name}" IN ({quoted})',
        "sample": repr(values[0]),
        "changed": repr(values[-1]),
        "bad": repr("not_" + values[0]),
        "sql_sample": repr(values[0]),
        "fresh": f"secrets.choice({list(values)!r})",
        "distinct": f"{list(values)!r}[number]",
        "max_length": length,
        "enum_values": values,
        "enum_class": camel(singular) + camel(name),
    }


def parse_fields(fields: Any, singular: str) -> list[ResourceField] | str:
    if not isinstance(fields, dict) or not fields:
        return (
            "resource_fields must be a YAML mapping of field name to type, such as "
            "{title: str(200), due: date optional}"
        )
    parsed: list[ResourceField] = []
    for name, spec in fields.items():
        field = parse_field(name, spec, singular)
        if isinstance(field, str):
            return field
        if problem := field_in_table_problem(field, singular):
            return problem
        parsed.append(field)
    return parsed


# The classes a resource's files define, by suffix: an enum's class must be none of them.
CLASS_SUFFIXES = (
    "", "Create", "Update", "Read", "NotFoundError", "ConflictError", "ReaderDep",
    "WriterDep", "User",
)  # fmt: skip


def field_in_table_problem(field: ResourceField, singular: str) -> str:
    """What keeps a good field from this table: a constraint name over PostgreSQL's
    limit, an enum class named like another class of the resource, a unique enum of one
    value, a name its queries bind (`<singular>_id`)."""
    names = [f"uq_{singular}_{field.name}"] if field.unique else []
    names += [f"ck_{singular}_{field.name}"] if field.check else []
    if too_long := [name for name in names if len(name) > MAX_IDENTIFIER_LENGTH]:
        return (
            f"field {field.name}: its constraint {too_long[0]} is over PostgreSQL's "
            f"{MAX_IDENTIFIER_LENGTH} characters; shorten the field or resource name"
        )
    if field.enum_class in {camel(singular) + suffix for suffix in CLASS_SUFFIXES}:
        return f"field {field.name}: its enum class {field.enum_class} is another class's name"
    if field.unique and len(field.enum_values) == 1:
        return f"field {field.name}: an enum of one value cannot be unique"
    return ""


def fields_problem(fields: Any, singular: Any) -> str:
    parsed = parse_fields(fields, str(singular))
    return parsed if isinstance(parsed, str) else ""


def revision_problem(revision: Any, destination: Any) -> str:
    if not isinstance(revision, str) or not re.match(r"^\w+$", revision):
        return "resource_down_revision must be an Alembic revision id, such as 0008"
    revisions = set(revision_graph(Path(str(destination)))[0])
    if revisions and revision not in revisions:
        return f"no migration under migrations/versions/ has the revision {revision}"
    return ""


def revision_graph(project: Path) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """The revisions under migrations/versions/ (each with its down revision) and the
    heads. Read with `ast` from the scripts' assignments, without importing them: Copier's
    environment has no Alembic, and a script's imports are the project's."""
    downs: dict[str, tuple[str, ...]] = {}
    for script in sorted((project / "migrations" / "versions").glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(script.read_text()).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
        if isinstance(values.get("revision"), str):
            down = values.get("down_revision") or ()
            downs[values["revision"]] = (down,) if isinstance(down, str) else tuple(down)
    heads = set(downs) - {down for merged in downs.values() for down in merged}
    return downs, heads


def alembic_head(destination: Any) -> str:
    """The service's newest revision, for the default of resource_down_revision."""
    heads = revision_graph(Path(str(destination)))[1]
    return sorted(heads)[0] if len(heads) == 1 else ""


def pluralize(singular: object) -> str:
    """English's regular plural of the last word: invoice, invoices; box, boxes;
    category, categories. The default of resource_plural; an irregular one is answered."""
    if not isinstance(singular, str):  # unanswered: a service's render asks no resource
        return ""
    if re.search(r"(s|x|z|ch|sh)$", singular):
        return f"{singular}es"
    if re.search(r"[^aeiou]y$", singular):
        return f"{singular[:-1]}ies"
    return f"{singular}s"


def with_article(words_: str) -> str:
    """`a purchase order`, `an invoice`: by the first letter, which is right for most."""
    return f"{'an' if words_[:1] in 'aeiou' else 'a'} {words_}"


def resource_context(answers: dict[str, Any]) -> dict[str, Any] | None:
    """What the resource's files use, derived from its answers; None while they are not
    all given, or not good (the validators say why)."""
    singular, plural = answers.get("resource_singular"), answers.get("resource_plural")
    if answers.get("generate") != "resource" or not (singular and plural):
        return None
    fields = parse_fields(answers.get("resource_fields"), str(singular))
    if isinstance(fields, str):
        return None
    unique = [field.name for field in fields if field.unique]
    return {
        "fields": [asdict(field) for field in fields],
        "required": [field.name for field in fields if not field.optional],
        "unique": unique,
        "kinds": sorted({field.kind for field in fields}),
        "has_enum": any(field.enum_values for field in fields),
        # How many of the caller's rows can differ in every unique field (tests).
        "distinct_rows": min(
            [3, *(len(field.enum_values) for field in fields if field.unique and field.enum_values)]
        ),
        "class": camel(singular),
        "table": singular,
        "path": plural.replace("_", "-"),
        "one": words(singular),
        "a_one": with_article(words(singular)),
        # For raw SQL: a table may be named like an SQL keyword (order).
        "quoted_table": f'"{singular}"',
        "many": words(plural),
        "revision": f"{plural}_0001",
        "conflict_detail": (
            f"{words(singular).capitalize()} already exists with the same " + " or ".join(unique)
        ),
    }


def python_format(source: str, package: str) -> str:
    """`source` as ruff leaves it in the service: imports sorted, then formatted.

    The files' Jinja writes what they say; line breaks that depend on the length of the
    names in the answers are ruff's (the service's CI checks `ruff format`). The settings
    are the service's, given here, so every render of an answer formats the same, in the
    service or in Copier's temporary folders. Raises RuntimeError without ruff.
    """
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError as exc:
        raise RuntimeError(
            "the resource generator formats its Python with ruff: run Copier with it, "
            "`uvx --with copier-template-extensions --with ruff copier copy ...`"
        ) from exc
    settings = [
        "--isolated",
        "--line-length=100",
        "--target-version=py312",
        "--config",
        f"lint.isort.known-first-party = [{package!r}]",
        "--config",
        "lint.isort.known-local-folder = ['benchmarks']",
    ]
    ruff = find_ruff_bin()
    for command in (
        # F401 too: a file imports what any answer may need, and keeps what this one uses.
        ["check", "--select=F401,I,RUF022", "--fix", "--exit-zero", "--quiet"],
        ["format", "--quiet"],
    ):
        source = subprocess.run(
            [ruff, *command, *settings, "--stdin-filename=resource.py", "-"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return source


class ResourceFilters(Extension):
    """Filters behind the resource questions' defaults and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(
            resource_singular_problem=lambda value: name_problem(value, "resource_singular"),
            resource_name_problem=resource_name_problem,
            resource_fields_problem=fields_problem,
            resource_service_problem=service_problem,
            resource_revision_problem=revision_problem,
            alembic_head=alembic_head,
            pluralize=pluralize,
            pyrepr=repr,
            python_format=python_format,
        )


class ResourceContext(ContextHook):
    """`resource` in the context of the resource's files; cheap, and only then."""

    def hook(self, context: dict[str, Any]) -> None:
        if (resource := resource_context(context)) is not None:
            context["resource"] = resource
