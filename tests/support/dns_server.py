#!/usr/bin/env python3
"""A tiny authoritative DNS server over UDP for the DNS discovery tests.

Run as its own process: dns_server.py PORT FILE. Prints "ready" once it listens
on 127.0.0.1:P. FILE is read again for every query, so a test changes the answers by
rewriting it; its lines are

    NAME IP [IP...]     A records (TTL 0) for NAME; AAAA queries get an empty answer
    NAME SERVFAIL       the query fails (a resolver keeps what it had)

Any other name is NXDOMAIN. Names match case-insensitively (resolvers randomize case).
Every query is counted in the file's sibling FILE.queries (one line per query).
"""
import argparse
import socket
import struct

QTYPE_A = 1


def parse_question(packet):
    """(name lower-cased, qtype, end offset of the question)."""
    labels = []
    i = 12
    while packet[i] != 0:
        n = packet[i]
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype, _qclass = struct.unpack("!HH", packet[i + 1:i + 5])
    return ".".join(labels).lower(), qtype, i + 5


def zone(path):
    records = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    records[parts[0].lower().rstrip(".")] = parts[1:]
    except OSError:
        pass
    return records


def answer(packet, path):
    (qid, flags) = struct.unpack("!HH", packet[:4])
    name, qtype, end = parse_question(packet)
    question = packet[12:end]
    values = zone(path).get(name)
    rcode, answers = 0, []
    if values is None:
        rcode = 3  # NXDOMAIN
    elif values == ["SERVFAIL"]:
        rcode = 2
    elif qtype == QTYPE_A:
        answers = [socket.inet_aton(ip) for ip in values]
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, RD copied
    out = struct.pack("!HHHHHH", qid, out_flags, 1, len(answers), 0, 0) + question
    for rdata in answers:
        out += struct.pack("!HHHIH", 0xC00C, QTYPE_A, 1, 0, 4) + rdata
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("zone")
    args = p.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    print("ready", flush=True)
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            reply = answer(packet, args.zone)
        except (IndexError, struct.error):
            continue  # not a query we understand: no answer
        with open(args.zone + ".queries", "a") as f:
            f.write("q\n")
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
