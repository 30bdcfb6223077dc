#!/usr/bin/env python3
"""Fails when Sources/ or config.ini hold an address, port, user name, password or token literal.

Addresses and credentials of HBase come only from the environment (ARCHITECTURE.md, "Configuration and
secrets"). Comment lines are skipped (doc comments may show examples). A finding that is legitimate (e.g. the
loopback check of the TLS policy) goes in .ci/literals-allow.txt: one regular expression per line, matched
against "path:line text". Usage: scripts/check-literals.py [ROOT]
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
ALLOW_FILE = ROOT / ".ci" / "literals-allow.txt"

# (what, pattern) checked on Swift code lines and config.ini lines.
CODE_PATTERNS = [
    ("IPv4 address", re.compile(r"(?<![\w.])(?!127\.0\.0\.1\b|0\.0\.0\.0\b)(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")),
    ("host:port", re.compile(r"\b(?:localhost|(?:\d{1,3}\.){3}\d{1,3}|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b", re.I)),
    ("URL with a host", re.compile(r"\b(?:https?|wss?)://(?!\\\()[A-Za-z0-9\[]", re.I)),
    ("service port", re.compile(r"(?<![\w.]):(?:80|88|443|749|2181|8080|8085|8443|9090|16000|16010|16020|16030)\b")),
    ("credential literal", re.compile(
        r"\b(?:password|passwd|secret|token|api_?key|user(?:name)?|principal|keytab)\w*\s*[:=]\s*\"[^\"\\]+\"", re.I)),
    ("authorization value", re.compile(r"\b(?:Negotiate|Basic|Bearer)\s+[A-Za-z0-9+/=._-]{8,}")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]
INI_KEY = re.compile(r"^\s*(?:url|uri|host|hostname|address|port|user|username|login|password|passwd|"
                     r"password_file|principal|keytab|token|secret)\s*=", re.I)


def allow_patterns():
    if not ALLOW_FILE.exists():
        return []
    lines = ALLOW_FILE.read_text(encoding="utf-8").splitlines()
    return [re.compile(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def scan_file(path, is_ini):
    rel = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        stripped = line.strip()
        if is_ini and stripped.startswith(("#", ";")):
            continue
        if not is_ini and stripped.startswith(("//", "*", "/*")):
            continue
        if is_ini and INI_KEY.search(line):
            yield rel, number, "connection or credential key", line
        for what, pattern in CODE_PATTERNS:
            if pattern.search(line):
                yield rel, number, what, line


def main():
    files = [(p, False) for p in sorted((ROOT / "Sources").rglob("*")) if p.is_file() and p.suffix in {
        ".swift", ".h", ".c", ".modulemap", ".json", ".ini", ".yaml", ".yml", ".txt"}]
    files.append((ROOT / "config.ini", True))
    allowed = allow_patterns()
    findings = []
    for path, is_ini in files:
        for rel, number, what, line in scan_file(path, is_ini):
            subject = f"{rel}:{line.strip()}"
            if not any(a.search(subject) for a in allowed):
                findings.append(f"{rel}:{number}: {what}: {line.strip()}")
    if findings:
        print("check-literals: addresses and credentials belong in the environment, not in Sources/ or config.ini:",
              file=sys.stderr)
        print("\n".join(findings), file=sys.stderr)
        print("(a legitimate line goes in .ci/literals-allow.txt as a regular expression)", file=sys.stderr)
        return 1
    print(f"check-literals: {len(files)} files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
