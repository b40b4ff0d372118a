#!/usr/bin/env python3
"""Fails when code outside core/ calls a blocking socket or sleep primitive directly.

All I/O goes through core's green sockets, which park the fiber instead of blocking the
hub (docs/architecture.md, "House rules", 1). A line may opt out with a trailing
`// blocking-ok: <why>` comment, for code that provably never runs on a hub thread (e.g.
the access log's writer thread).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
# conf/ is left out on purpose: it only reads config and TLS files, at startup and on
# reload, off the hub threads (conf does no I/O beyond reading files: docs/architecture.md,
# "Layers").
LAYERS = ["proxy", "balancer", "metrics"]
CALLS = ("read|write|readv|writev|recv|recvfrom|recvmsg|send|sendto|sendmsg|connect|accept|"
         "accept4|poll|ppoll|select|epoll_wait|sleep|usleep|nanosleep|sleep_for|sleep_until|"
         "getaddrinfo|gethostbyname|gethostbyname2")
# A call of one of those names that is not a member call (x.read(, p->read() and not
# qualified by a namespace other than the global one (std::this_thread::sleep_for is caught
# by name).
PATTERN = re.compile(r"(?:^|[^\w.>:]|(?<![\w>])::)(%s)\s*\(" % CALLS)
SLEEPS = re.compile(r"this_thread::(sleep_for|sleep_until)\s*\(")


def strip_comments_and_strings(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    return line.split("//", 1)[0]


def main():
    problems = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*")):
            if path.suffix not in (".cc", ".h"):
                continue
            in_block_comment = False
            for no, raw in enumerate(path.read_text().splitlines(), 1):
                if "blocking-ok:" in raw:
                    continue
                line = raw
                if in_block_comment:
                    if "*/" not in line:
                        continue
                    line = line.split("*/", 1)[1]
                    in_block_comment = False
                if "/*" in line and "*/" not in line:
                    in_block_comment = True
                    line = line.split("/*", 1)[0]
                code = strip_comments_and_strings(line)
                m = PATTERN.search(code) or SLEEPS.search(code)
                # Declarations and definitions of our own functions have a type before the
                # name ("Status write(") and are not calls.
                if m and not re.search(r"\b(void|auto|Status|Result<[^>]*>|bool|int|size_t|ssize_t)\s+(%s)\s*\(" % CALLS, code):
                    problems.append(f"{path.relative_to(ROOT)}:{no}: blocking call "
                                    f"'{m.group(1)}' outside core/: {raw.strip()}")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} blocking call(s) outside core/: use core's green sockets")
        return 1
    print("no blocking calls outside core/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
