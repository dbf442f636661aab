#!/usr/bin/env python3
"""Validate a `pvvmm run --stats=json` document and check values in it.

usage: check_stats_json.py [--find] FILE [CHECK ...]

FILE is the document (`--stats-file`), or - for stdin. With --find the
input may hold other text around the document (e.g. pvvmm's whole stderr,
log lines included): the first line that starts a pvvmm-stats JSON object
is taken.

The document must follow the schema of README.md ("schema": "pvvmm-stats",
"version": 1): the host facts, and one object per vCPU in "vcpus" whose
counters are non-negative integers (objects of them for the indexed ones,
booleans only in xpti_state), with the same keys in every vCPU.

Each CHECK is PATH, or PATH OP VALUE (quote it for the shell):
  PATH   keys joined by '.', array elements as [N]:
         vcpus[0].hypercalls.console_io.calls, host.quirks[0], outcome
         '*' for every member of an object and [*] for every element of an
         array; the PATH's value is then the sum of what it matches:
         vcpus[*].tlb_flushes.*  (all full flushes of all vCPUs)
  OP     == != >= <= > <
  VALUE  an integer, true, false, or a word / "quoted string" (== and != only)
A PATH alone must exist. Examples:
  'vcpus[0].hypercalls.console_io.calls>0'  'vcpus[0].cr3_writes_total>=1'
  'outcome==poweroff'  'vcpus[0].xpti_state.pcid==false'  'vcpus[*].exceptions.*==0'

Exit status: 0 the document is valid and every check holds; 1 it is not, or
cannot be read, or a check fails (one line on stderr says which and why);
2 usage error (e.g. a CHECK that does not parse).
"""

import json
import re
import sys

SCHEMA = "pvvmm-stats"
VERSION = 1
OUTCOMES = {"poweroff", "crash", "reboot", "monitor-panic", "timeout", "stopped"}
HOST_COUNTERS = ("bare_round_trip_median_cycles", "bare_round_trip_min_cycles", "quirk_bits")
# The per-vCPU keys README.md promises; the rest come from the counter table
# and are checked only for their shape.
VCPU_KEYS = ("vcpu", "guest_entries", "guest_exits", "xpti_state", "cr3_writes", "cr3_writes_xpti_switches",
             "cr3_writes_total", "hypercalls", "hypercalls_unknown", "subops_unknown", "exceptions",
             "tlb_flushes", "invlpgs", "invpcids", "single_steps")
XPTI_STATE_KEYS = ("bits", "xpti", "pcid", "global_pages")


class Invalid(Exception):
    """The document breaks the schema, or a check does not hold."""


class Usage(Exception):
    """The command line is wrong."""


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# --- reading ---------------------------------------------------------------

def read_input(name):
    try:
        if name == "-":
            return sys.stdin.read()
        with open(name, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise Invalid(f"cannot read it: {e}") from e


def parse_document(text, find):
    if not find:
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise Invalid(f"not JSON: {e}") from e
    decoder = json.JSONDecoder()
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            try:
                doc, _ = decoder.raw_decode(text, offset)
                if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
                    return doc
            except json.JSONDecodeError:
                pass
        offset += len(line)
    raise Invalid(f"no {SCHEMA} JSON document in the input")


# --- the schema ------------------------------------------------------------

def require(cond, what):
    if not cond:
        raise Invalid(what)


def leaf_paths(value, path):
    """Paths and values of every leaf below a vCPU key."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaf_paths(v, f"{path}.{k}")
    else:
        yield path, value


def validate_vcpu(i, vcpu):
    where = f"vcpus[{i}]"
    require(isinstance(vcpu, dict), f"{where} is not an object")
    for key in VCPU_KEYS:
        require(key in vcpu, f"{where} has no '{key}'")
    require(vcpu["vcpu"] == i and is_count(vcpu["vcpu"]), f"{where}.vcpu is {vcpu['vcpu']!r}, not {i}")
    state = vcpu["xpti_state"]
    require(isinstance(state, dict) and all(k in state for k in XPTI_STATE_KEYS),
            f"{where}.xpti_state lacks one of {', '.join(XPTI_STATE_KEYS)}")
    for key, value in vcpu.items():
        for path, leaf in leaf_paths(value, f"{where}.{key}"):
            flag = path.startswith(f"{where}.xpti_state.") and path != f"{where}.xpti_state.bits"
            ok = isinstance(leaf, bool) if flag else is_count(leaf)
            require(ok, f"{path} is {json.dumps(leaf)}, not {'a boolean' if flag else 'a non-negative integer'}")
            require(path.count(".") <= 3, f"{path} is nested deeper than the schema allows")
    for name, entry in vcpu["hypercalls"].items():
        require(isinstance(entry, dict) and set(entry) == {"calls", "refused"},
                f"{where}.hypercalls.{name} is not {{\"calls\": N, \"refused\": N}}")
    total = vcpu["cr3_writes"] + vcpu["cr3_writes_xpti_switches"]
    require(vcpu["cr3_writes_total"] == total,
            f"{where}.cr3_writes_total is {vcpu['cr3_writes_total']}, not cr3_writes + cr3_writes_xpti_switches "
            f"= {total}")


def shape(vcpu):
    return sorted(path for key, value in vcpu.items() for path, _ in leaf_paths(value, key))


def validate(doc):
    require(isinstance(doc, dict), "the document is not a JSON object")
    require(doc.get("schema") == SCHEMA, f"schema is {json.dumps(doc.get('schema'))}, not \"{SCHEMA}\"")
    require(doc.get("version") == VERSION and is_count(doc.get("version")),
            f"version is {json.dumps(doc.get('version'))}, not {VERSION}")
    require(doc.get("outcome") in OUTCOMES, f"outcome is {json.dumps(doc.get('outcome'))}, not one of "
            f"{', '.join(sorted(OUTCOMES))}")
    require(isinstance(doc.get("detail"), str), "detail is not a string")
    host = doc.get("host")
    require(isinstance(host, dict), "host is not an object")
    for key in HOST_COUNTERS:
        require(is_count(host.get(key)), f"host.{key} is {json.dumps(host.get(key))}, not a non-negative integer")
    require(isinstance(host.get("quirks"), list) and all(isinstance(q, str) for q in host["quirks"]),
            "host.quirks is not a list of strings")
    vcpus = doc.get("vcpus")
    require(isinstance(vcpus, list) and vcpus, "vcpus is not a non-empty array")
    for i, vcpu in enumerate(vcpus):
        validate_vcpu(i, vcpu)
        require(shape(vcpu) == shape(vcpus[0]), f"vcpus[{i}] does not have the same keys as vcpus[0]")


# --- checks ----------------------------------------------------------------

CHECK_RE = re.compile(r"^\s*(?P<path>[^=!<>\s]+)\s*(?:(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>.*?)\s*)?$")
KEY = r"(?:[A-Za-z0-9_]+|\*)"
PATH_RE = re.compile(rf"{KEY}(?:\.{KEY}|\[(?:[0-9]+|\*)\])*")
STEP_RE = re.compile(rf"(?:^|\.)(?P<key>{KEY})|\[(?P<index>[0-9]+|\*)\]")
OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def parse_path(path):
    if not PATH_RE.fullmatch(path):
        raise Usage(f"'{path}' is not a path like vcpus[0].hypercalls.console_io.calls")
    return [("key", m["key"]) if m["key"] else ("index", m["index"]) for m in STEP_RE.finditer(path)]


def parse_value(text):
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if not text:
        raise Usage("a comparison needs a value")
    return text


def kind(v):
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, str):
        return "a string"
    return {dict: "an object", list: "an array", float: "a fraction"}.get(type(v), "null")


def resolve(doc, steps, path):
    """The values PATH matches; wildcards may match several."""
    values = [doc]
    for step_kind, step in steps:
        found = []
        for v in values:
            if step_kind == "key" and isinstance(v, dict) and step == "*":
                found.extend(v.values())
            elif step_kind == "key" and isinstance(v, dict) and step in v:
                found.append(v[step])
            elif step_kind == "index" and isinstance(v, list) and step == "*":
                found.extend(v)
            elif step_kind == "index" and isinstance(v, list) and step != "*" and int(step) < len(v):
                found.append(v[int(step)])
            else:
                raise Invalid(f"{path}: there is no {'key' if step_kind == 'key' else 'element'} '{step}'")
        values = found
    return values


def value_of(doc, path):
    steps = parse_path(path)
    values = resolve(doc, steps, path)
    if all(step != "*" for _, step in steps):
        return values[0]
    if not all(is_count(v) for v in values):
        raise Invalid(f"{path}: a path with '*' sums integers, but it matches other values")
    return sum(values)


def run_check(doc, check):
    m = CHECK_RE.match(check)
    if not m:
        raise Usage(f"'{check}' is not PATH or PATH OP VALUE")
    actual = value_of(doc, m.group("path"))
    if not m.group("op"):
        return
    op, expected = m.group("op"), parse_value(m.group("value"))
    if op not in ("==", "!=") and kind(expected) != "an integer":
        raise Usage(f"'{check}': {op} needs an integer")
    if kind(actual) != kind(expected):
        raise Invalid(f"check '{check}': {m.group('path')} is {json.dumps(actual)}, {kind(actual)}, "
                      f"not {kind(expected)}")
    if not OPS[op](actual, expected):
        raise Invalid(f"check '{check}' failed: {m.group('path')} is {json.dumps(actual)}")


def main(argv):
    args = argv[1:]
    find = "--find" in args
    args = [a for a in args if a != "--find"]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    name, checks = args[0], args[1:]
    try:
        doc = parse_document(read_input(name), find)
        validate(doc)
        for check in checks:
            run_check(doc, check)
    except Invalid as e:
        print(f"check_stats_json: {name}: {e}", file=sys.stderr)
        return 1
    except Usage as e:
        print(f"check_stats_json: usage: {e}", file=sys.stderr)
        return 2
    print(f"check_stats_json: {name}: ok: {SCHEMA} version {VERSION}, {len(doc['vcpus'])} vCPU(s), "
          f"{len(checks)} check(s) hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
