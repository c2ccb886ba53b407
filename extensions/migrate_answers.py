"""Rename or remove an answer in a project's answers file, before `copier update` uses it.

copier.yml runs it as a `_migrations` step of the release that renames or removes a
question, at the `before` stage: Copier has rendered the project's old version with the
old answers by then, and reads the answers file again afterwards, so the new version
sees the answer under its new name (and is not asked for it again).

    python migrate_answers.py ANSWERS_FILE rename OLD NEW
    python migrate_answers.py ANSWERS_FILE remove NAME

Idempotent: a name that is not there is left alone, and a rename never overwrites an
answer already given under the new name. Needs only PyYAML, which Copier depends on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

HEADER = "# Changes here will be overwritten by Copier\n"


def migrate(answers: dict[str, Any], action: str, names: list[str]) -> list[str]:
    """Change the answers in place; return what was done, for Copier's output."""
    done: list[str] = []
    if action == "rename":
        old, new = names
        if old in answers:
            value = answers.pop(old)
            if new not in answers:
                answers[new] = value
                done.append(f"answer {old} is now {new}")
    else:
        (name,) = names
        if answers.pop(name, None) is not None:
            done.append(f"answer {name} removed")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers_file", type=Path)
    parser.add_argument("action", choices=["rename", "remove"])
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    if len(args.names) != (2 if args.action == "rename" else 1):
        parser.error(f"{args.action} takes {'OLD NEW' if args.action == 'rename' else 'NAME'}")
    answers = yaml.safe_load(args.answers_file.read_text()) or {}
    done = migrate(answers, args.action, args.names)
    if done:
        args.answers_file.write_text(HEADER + yaml.safe_dump(answers, sort_keys=True))
    for line in done:
        print(f"{args.answers_file}: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
