#!/usr/bin/env python3
"""Print "METHOD PATH" for every operation of an OpenAPI document.

A deliberately small reader of the document's own layout (two-space
indentation, paths at level 1, operations at level 2), so that the test
needs nothing beyond python3; PyYAML is used when it is installed.
"""
import re
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def routes(text):
    try:
        import yaml  # type: ignore
        doc = yaml.safe_load(text)
        for path, ops in doc["paths"].items():
            for m in ops:
                if m in METHODS:
                    yield m.upper(), path
        return
    except ImportError:
        pass
    in_paths, path = False, None
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_paths = line.startswith("paths:")
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path = m.group(1).strip("'\"")
            continue
        m = re.match(r"^    ([a-z]+):\s*$", line)
        if m and path and m.group(1) in METHODS:
            yield m.group(1).upper(), path


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        for method, path in sorted(set(routes(f.read()))):
            print(method, path)
