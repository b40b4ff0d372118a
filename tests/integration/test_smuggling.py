"""Request smuggling and malformed input (issue 11, docs/proxying.md, "Strict parsing"): raw
byte sequences replayed against one real greenlb in front of a recording upstream
(tests/support/recording_upstream.py).

For every case: the client gets exactly the expected statuses, the last one with
`Connection: close`, and the proxy then closes the connection; the upstream sees exactly
the requests the proxy accepted, each as one request in the recorder's own strict framing,
never a smuggled one; a request whose body failed mid-stream arrives incomplete on an
upstream connection that is then closed (never reused); and the next good request is
served, through the pooled upstream connections, without desynchronising them.

`@T@` in a case is replaced by the case's own target (/case/NAME), which is how the
recorder's requests are told apart.
"""
import socket
import time

import pytest

from greenlb_testlib import Greenlb, basic_config, wait_until
from recording_upstream import RecordingUpstream

MAX_HEAD = 8192  # [listener.limits] max_header_bytes below
GET = b"GET @T@ HTTP/1.1\r\nHost: x\r\n"
POST = b"POST @T@ HTTP/1.1\r\nHost: x\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"
OK = GET + b"\r\n"  # a good request, for pipelining


def case(name, raw, status, upstream=0):
    """`status`: the one status (int) or the statuses in order (list) the client gets.
    `upstream`: how many requests of this case reach the upstream (a body that fails while
    streaming is one incomplete request; a good request pipelined before garbage, one)."""
    statuses = status if isinstance(status, list) else [status]
    return pytest.param(raw, statuses, upstream, id=name)


CASES = [
    # --- CL.TE and TE.CL: both framings in one request -----------------------------------
    case("cl-then-te", POST + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400),
    case("te-then-cl", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG", 400),
    case("clte-smuggle", POST + b"Content-Length: 39\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400),
    case("tecl-smuggle", POST + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
         b"23\r\n" + SMUGGLED[:35] + b"\r\n0\r\n\r\n", 400),
    case("cl-zero-te", POST + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    case("cl-te-identity", POST + b"Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello", 400),
    case("te-cl-http10", b"POST @T@ HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    # --- TE.TE: obfuscated Transfer-Encoding ----------------------------------------------
    case("te-xchunked", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    case("te-chunk", POST + b"Transfer-Encoding: chunk\r\n\r\n0\r\n\r\n", 400),
    case("te-space-before-colon", POST + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-tab-before-colon", POST + b"Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-chunked-identity", POST + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    case("te-identity", POST + b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n", 400),
    case("te-dup-lines", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-chunked-then-x", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n", 400),
    case("te-list-twice", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-quoted", POST + b'Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n', 400),
    case("te-param", POST + b"Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400),
    case("te-empty-element", POST + b"Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-empty", POST + b"Transfer-Encoding:\r\n\r\n", 400),
    case("te-vertical-tab", POST + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400),
    case("te-formfeed", POST + b"Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n", 400),
    case("te-nul", POST + b"Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n", 400),
    case("te-obs-fold", POST + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-fold-continues", POST + b"Transfer-Encoding: x\r\n chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-gzip-chunked", POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    case("te-http10", b"POST @T@ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    case("te-high-byte", POST + b"Transfer-Encoding: ch\xfcnked\r\n\r\n0\r\n\r\n", 400),
    # --- Content-Length -------------------------------------------------------------------
    case("cl-differing-dups", POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    case("cl-differing-list", POST + b"Content-Length: 3, 4\r\n\r\nabcd", 400),
    case("cl-plus", POST + b"Content-Length: +5\r\n\r\nhello", 400),
    case("cl-minus", POST + b"Content-Length: -1\r\n\r\n", 400),
    case("cl-hex", POST + b"Content-Length: 0x5\r\n\r\nhello", 400),
    case("cl-decimal", POST + b"Content-Length: 5.0\r\n\r\nhello", 400),
    case("cl-exponent", POST + b"Content-Length: 5e0\r\n\r\nhello", 400),
    case("cl-inner-space", POST + b"Content-Length: 5 5\r\n\r\nhello", 400),
    case("cl-empty", POST + b"Content-Length:\r\n\r\n", 400),
    case("cl-trailing-comma", POST + b"Content-Length: 5,\r\n\r\nhello", 400),
    case("cl-overflow", POST + b"Content-Length: 99999999999999999999\r\n\r\n", 400),
    case("cl-2pow63", POST + b"Content-Length: 9223372036854775808\r\n\r\n", 400),
    case("cl-space-before-colon", POST + b"Content-Length : 5\r\n\r\nhello", 400),
    case("cl-space-in-name", POST + b"Content Length: 5\r\n\r\nhello", 400),
    case("cl-nul", POST + b"Content-Length: 5\x00\r\n\r\nhello", 400),
    case("cl-obs-fold", POST + b"Content-Length:\r\n 5\r\n\r\nhello", 400),
    # --- line endings -----------------------------------------------------------------------
    case("lf-request-line", b"GET @T@ HTTP/1.1\nHost: x\r\n\r\n", 400),
    case("lf-header", GET + b"X-A: b\nX-B: c\r\n\r\n", 400),
    case("lf-only", b"GET @T@ HTTP/1.1\nHost: x\n\n", 400),
    case("lf-end-of-head", GET + b"\n", 400),
    case("cr-in-value", GET + b"X-A: a\rb\r\n\r\n", 400),
    case("cr-line-end", GET + b"X-A: a\r\r\n\r\n", 400),
    case("cr-request-line", b"GET @T@ HTTP/1.1\rHost: x\r\n\r\n", 400),
    case("two-leading-crlf", b"\r\n\r\n" + OK, 400),
    case("leading-lf", b"\n" + OK, 400),
    # --- obs-fold and header-line shape -------------------------------------------------------
    case("fold-space", GET + b"X-Folded: a\r\n b\r\n\r\n", 400),
    case("fold-tab", GET + b"X-Folded: a\r\n\tb\r\n\r\n", 400),
    case("first-line-indented", b"GET @T@ HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    case("no-colon", GET + b"X-NoColon\r\n\r\n", 400),
    case("empty-name", GET + b": value\r\n\r\n", 400),
    case("name-with-slash", GET + b"X/A: b\r\n\r\n", 400),
    case("host-space-before-colon", b"GET @T@ HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    # --- chunked framing: the head is good, but the body framing that came with it is not: ------
    # --- answered 400 before any upstream sees the head (docs/security.md) ---------------------
    case("chunk-size-nonhex", CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-negative", CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-0x", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-plus", CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-leading-space", CHUNKED + b" 5\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-overflow", CHUNKED + b"10000000000000000\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-size-empty", CHUNKED + b"\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-data-too-long", CHUNKED + b"5\r\nhelloXX\r\n0\r\n\r\n", 400),
    case("chunk-smuggle-in-size", CHUNKED + b"5\r\nhello\r\n0\r\n" + SMUGGLED, 400),
    case("chunk-lf-after-size", CHUNKED + b"5\nhello\r\n0\r\n\r\n", 400),
    case("chunk-cr-after-size", CHUNKED + b"5\rhello\r\n0\r\n\r\n", 400),
    case("chunk-lf-after-data", CHUNKED + b"5\r\nhello\n0\r\n\r\n", 400),
    case("chunk-ext-empty-name", CHUNKED + b"5;\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-ext-bad-name", CHUNKED + b"5;a b=c\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-ext-unterminated-quote", CHUNKED + b'5;a="b\r\nhello\r\n0\r\n\r\n', 400),
    case("chunk-ext-lf", CHUNKED + b"5;a=b\nhello\r\n0\r\n\r\n", 400),
    case("chunk-ext-nul", CHUNKED + b"5;a=\x00\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-ext-too-long", CHUNKED + b"5;a=" + b"b" * 5000 + b"\r\nhello\r\n0\r\n\r\n", 400),
    case("chunk-trailer-fold", CHUNKED + b"0\r\nX-T: a\r\n b\r\n\r\n", 400),
    case("chunk-trailer-nul", CHUNKED + b"0\r\nX-T: a\x00\r\n\r\n", 400),
    case("chunk-trailer-no-colon", CHUNKED + b"0\r\nX-T\r\n\r\n", 400),
    # --- NUL bytes --------------------------------------------------------------------------------
    case("nul-first", b"\x00" + OK, 400),
    case("nul-method", b"G\x00T @T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("nul-target", b"GET @T@\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("nul-name", GET + b"X-\x00A: b\r\n\r\n", 400),
    case("nul-value", GET + b"X-A: a\x00b\r\n\r\n", 400),
    # --- size limits ------------------------------------------------------------------------------
    case("long-request-line", b"GET @T@?" + b"a" * MAX_HEAD + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    case("long-method", b"G" * (MAX_HEAD + 10) + b" @T@ HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    case("long-header-value", GET + b"X-Big: " + b"a" * MAX_HEAD + b"\r\n\r\n", 431),
    case("long-header-name", GET + b"X" * MAX_HEAD + b": a\r\n\r\n", 431),
    case("many-headers", GET + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"\r\n", 431),
    case("head-never-ends", GET + b"X-A: " + b"a" * (MAX_HEAD * 2), 431),
    # --- request line -------------------------------------------------------------------------
    case("http09", b"GET @T@\r\n\r\n", 400),
    case("http09-version", b"GET @T@ HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    case("http20-version", b"GET @T@ HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    case("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    case("http12", b"GET @T@ HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    case("lowercase-version", b"GET @T@ http/1.1\r\nHost: x\r\n\r\n", 400),
    case("version-two-digits", b"GET @T@ HTTP/1.10\r\nHost: x\r\n\r\n", 400),
    case("version-missing-minor", b"GET @T@ HTTP/1\r\nHost: x\r\n\r\n", 400),
    case("double-space", b"GET  @T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("tab-separator", b"GET\t@T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("trailing-space", b"GET @T@ HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
    case("space-in-target", b"GET @T@ x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("del-in-target", b"GET @T@\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("high-byte-in-target", b"GET @T@\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("non-token-method", b"G(T @T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32, 400),
    case("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501),
    case("authority-form-get", b"GET example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    case("asterisk-get", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    # --- absolute-form and Host ---------------------------------------------------------------
    case("absolute-ftp", b"GET ftp://x/@T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("absolute-userinfo", b"GET http://u:p@x/@T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("absolute-empty-authority", b"GET http:///@T@ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    case("absolute-no-host", b"GET http://x/@T@ HTTP/1.1\r\n\r\n", 400),
    case("host-missing", b"GET @T@ HTTP/1.1\r\n\r\n", 400),
    case("host-twice", GET + b"Host: y\r\n\r\n", 400),
    case("host-twice-same", GET + b"Host: x\r\n\r\n", 400),
    case("host-empty", b"GET @T@ HTTP/1.1\r\nHost:\r\n\r\n", 400),
    case("host-space", b"GET @T@ HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    case("host-at", b"GET @T@ HTTP/1.1\r\nHost: evil@x\r\n\r\n", 400),
    case("host-slash", b"GET @T@ HTTP/1.1\r\nHost: x/y\r\n\r\n", 400),
    case("host-quote", b'GET @T@ HTTP/1.1\r\nHost: "x"\r\n\r\n', 400),
    # --- pipelined garbage: the good requests before it are served, then 4xx and close ----------
    case("pipelined-garbage-word", OK + b"GARBAGE\r\n\r\n", [200, 400], upstream=1),
    case("pipelined-binary", OK + b"\x00\x01\x02\x03\r\n\r\n", [200, 400], upstream=1),
    case("pipelined-two-then-bad", OK + OK + b"GET @T@ HTTP/1.1\r\nHost : x\r\n\r\n", [200, 200, 400], upstream=2),
    case("pipelined-after-body", POST + b"Content-Length: 5\r\n\r\nhello GET @T@ HTTP/1.1\r\nHost: x\r\n\r\n", [200, 400], upstream=1),
    case("pipelined-clte-second", OK + POST + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", [200, 400], upstream=1),
    case("pipelined-http2-second", OK + b"GET @T@ HTTP/2.0\r\nHost: x\r\n\r\n", [200, 505], upstream=1),
    case("pipelined-chunked-then-bad", CHUNKED + b"5\r\nhello\r\n0\r\n\r\n" + b"\r\n\r\n" + OK, [200, 400], upstream=1),
]

# Requests that look like smuggling attempts but are well-formed: each reaches the upstream
# as exactly one request (the "smuggled" bytes stay body), and the connection stays open.
ACCEPTED = [
    pytest.param(POST + b"Content-Length: 35\r\n\r\n" + SMUGGLED, 1, id="request-in-cl-body"),
    pytest.param(CHUNKED + b"23\r\n" + SMUGGLED + b"\r\n0\r\n\r\n", 1, id="request-in-chunk"),
    pytest.param(POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 1, id="cl-identical-dups"),
    pytest.param(POST + b"Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1, id="te-uppercase"),
    pytest.param(POST + b"Transfer-Encoding:\tchunked \r\n\r\n5 ; a = \"b\"\r\nhello\r\n0\r\n\r\n", 1,
                 id="te-tab-ows-and-ext-bws"),
    pytest.param(b"\r\n" + OK, 1, id="one-leading-crlf"),
    pytest.param(b"GET http://a.example/@T@ HTTP/1.1\r\nHost: b.example\r\n\r\n", 1,
                 id="absolute-form-host-mismatch"),
]


@pytest.fixture(scope="module")
def lb():
    with RecordingUpstream() as up:
        text, port, _ = basic_config([up.address], upstream_extra="""
  [upstream.retry]
  attempts = 0
""", listener_extra=f"""
  http2 = false  # HTTP/1.1 parsing: with HTTP/2 on, the h2 preface starts h2c (test_http2.py)
  [listener.limits]
  max_header_bytes = {MAX_HEAD}
""")
        with Greenlb(text) as g:
            yield g, port, up


def read_responses(sock, count, timeout=5.0, wait_close=True):
    """Reads `count` responses (Content-Length framed, as both the proxy's errors and the
    recorder's answers are) and then, with `wait_close`, waits for EOF:
    ([(status, head)], closed, bytes after the responses)."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    closed = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while len(out) < count and b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            length = int(next((l.split(b":", 1)[1] for l in head.split(b"\r\n")
                               if l.lower().startswith(b"content-length:")), b"0"))
            if len(rest) < length:
                break
            out.append((int(head.split(b" ", 2)[1]), head))
            buf = rest[length:]
        if closed or len(out) > count or (len(out) == count and not wait_close):
            break
        try:
            data = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not data:
            closed = True
        buf += data
    return out, closed, buf


def send(port, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the proxy may answer and close before a long case is all sent
    return s


def check_good_request_still_served(port, up, name):
    before = len(up.requests())
    target = b"/control/" + name.encode()
    s = send(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with s:
        responses, closed, _ = read_responses(s, 1)
    assert [st for st, _ in responses] == [200], responses
    seen = up.requests()[before:]
    assert [(r.target, r.complete) for r in seen] == [(target, True)]


@pytest.mark.parametrize("raw, statuses, upstream", CASES)
def test_malformed_request_gets_its_4xx_closes_and_smuggles_nothing(lb, request, raw, statuses, upstream):
    g, port, up = lb
    name = request.node.callspec.id
    target = b"/case/" + name.encode()
    before = len(up.requests())
    s = send(port, raw.replace(b"@T@", target))
    with s:
        responses, closed, rest = read_responses(s, len(statuses))
    assert [st for st, _ in responses] == statuses, (responses, rest[:200])
    assert b"\r\nConnection: close" in responses[-1][1]
    assert closed and rest == b"", rest[:200]

    # The upstream saw exactly the requests the proxy accepted: this case's own, each in
    # one piece (good ones complete, a failing body incomplete on a connection since closed).
    wait_until(lambda: len(up.requests()) - before >= upstream, timeout=5, what="upstream requests")
    seen = up.requests()[before:]
    assert len(seen) == upstream, seen
    for r in seen:
        assert r.target.startswith(target) or r.target.endswith(target), r
        assert b"smuggled" not in r.target
    body_failed = upstream == 1 and len(statuses) == 1
    for r in seen:
        if body_failed:
            assert not r.complete, r
            wait_until(lambda: up.connection(r.conn).closed, timeout=5,
                       what="the upstream connection of a failed body to close")
    assert up.errors() == []
    check_good_request_still_served(port, up, name)


@pytest.mark.parametrize("raw, upstream", ACCEPTED)
def test_lookalike_request_reaches_upstream_as_exactly_one_request(lb, request, raw, upstream):
    g, port, up = lb
    name = request.node.callspec.id
    target = b"/case/" + name.encode()
    before = len(up.requests())
    s = send(port, raw.replace(b"@T@", target))
    with s:
        responses, _, _ = read_responses(s, 1, wait_close=False)
        assert [st for st, _ in responses] == [200]
        # Kept alive, nothing left over: the next request on it is answered.
        s.sendall(b"GET /control/" + name.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        responses, closed, rest = read_responses(s, 1)
        assert [st for st, _ in responses] == [200] and closed and rest == b""
    upstream += 1
    seen = up.requests()[before:]
    assert len(seen) == upstream and all(r.complete for r in seen), seen
    assert seen[0].target.endswith(target)
    if b"/smuggled" in raw:
        assert SMUGGLED in seen[0].body
    if name == "absolute-form-host-mismatch":
        assert (b"Host", b"a.example") in seen[0].headers
    assert up.errors() == []


LATE = [
    ("late-chunk-size-0x", b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("late-chunk-lf-after-data", b"5\r\nhello\n0\r\n\r\n"),
]


@pytest.mark.parametrize("name, late", LATE, ids=[n for n, _ in LATE])
def test_framing_error_after_the_head_went_upstream_is_400_and_an_incomplete_request(lb, name, late):
    """A good head and first chunk go upstream at once; bad framing that comes later still
    gets 400 and a closed connection, and the upstream sees one incomplete request on a
    connection that is closed (never reused)."""
    g, port, up = lb
    target = b"/case/" + name.encode()
    before = len(up.requests())
    s = send(port, CHUNKED.replace(b"@T@", target) + b"3\r\nabc\r\n")
    with s:
        wait_until(lambda: len(up.requests()) - before >= 1, timeout=5, what="the head upstream")
        s.sendall(late)
        responses, closed, rest = read_responses(s, 1)
    assert [st for st, _ in responses] == [400] and closed and rest == b""
    seen = up.requests()[before:]
    assert len(seen) == 1 and not seen[0].complete, seen
    wait_until(lambda: up.connection(seen[0].conn).closed, timeout=5,
               what="the upstream connection of a failed body to close")
    check_good_request_still_served(port, up, name)


def test_every_case_was_counted(lb):
    g, port, up = lb
    assert len(CASES) >= 60
    errors = g.metric("greenlb_client_errors_total", listener="web")
    assert errors >= len(CASES)  # each malformed request counted once at least
    assert g.proc.poll() is None
