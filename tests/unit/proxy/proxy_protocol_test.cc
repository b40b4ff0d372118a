// The PROXY protocol codec (proxy/proxy_protocol.h) and the listener side's reader
// (proxy/proxy_header_reader.h): v1 and v2, TCP4, TCP6, LOCAL, UNKNOWN, truncated,
// oversized and garbage headers, headers split across reads, and the bytes after a header
// left unread for the protocol that follows.
#include "proxy/proxy_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "core/hub.h"
#include "core/socket.h"
#include "core/timeout.h"
#include "proxy/proxy_header_reader.h"
#include "tests/unit/core/run_main.h"

namespace greenlb::proxy {
namespace {

using conf::ProxyProtocol;
using S = ProxyParseStatus;

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

ProxyParse parse(std::string_view in, ProxyHeader* h, ProxyProtocol accept = ProxyProtocol::any) {
  return parseProxyHeader(in, accept, h);
}

std::string v2(uint8_t ver_cmd, uint8_t fam, std::string_view body) {
  std::string s = kSig;
  s += static_cast<char>(ver_cmd);
  s += static_cast<char>(fam);
  s += static_cast<char>(body.size() >> 8);
  s += static_cast<char>(body.size() & 0xFF);
  s += body;
  return s;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

// --- v1 ---

TEST(ProxyV1, Tcp4) {
  ProxyHeader h;
  std::string line = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
  ProxyParse p = parse(line + "GET / HTTP/1.1\r\n", &h);
  ASSERT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, line.size());
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.source.str(), "192.0.2.10:56324");
  EXPECT_EQ(h.destination.str(), "198.51.100.1:443");
}

TEST(ProxyV1, Tcp6) {
  ProxyHeader h;
  std::string line = "PROXY TCP6 2001:db8::1 ::1 65535 80\r\n";
  ProxyParse p = parse(line, &h);
  ASSERT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, line.size());
  EXPECT_EQ(h.source.str(), "[2001:db8::1]:65535");
  EXPECT_EQ(h.destination.str(), "[::1]:80");
}

TEST(ProxyV1, UnknownKeepsTheRealPeer) {
  ProxyHeader h;
  EXPECT_EQ(parse("PROXY UNKNOWN\r\n", &h).status, S::done);
  EXPECT_TRUE(h.local);
  ProxyParse p = parse("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\nX", &h);
  EXPECT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, 59u);
  EXPECT_TRUE(h.local);
}

TEST(ProxyV1, EveryPrefixNeedsMore) {
  std::string line = "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n";
  for (size_t n = 1; n < line.size(); ++n) {
    ProxyHeader h;
    EXPECT_EQ(parse(line.substr(0, n), &h).status, S::need_more) << n;
  }
}

TEST(ProxyV1, Malformed) {
  for (std::string_view bad : {
           "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\n",        // LF without CR
           "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\rX",       // CR without LF
           "PROXY TCP4 ::1 10.0.0.2 1 2\r\n",           // family mismatch
           "PROXY TCP6 10.0.0.1 10.0.0.2 1 2\r\n",      // family mismatch
           "PROXY TCP4 10.0.0.1 10.0.0.2 1 65536\r\n",  // port out of range
           "PROXY TCP4 10.0.0.1 10.0.0.2 1 2 3\r\n",    // a field too many
           "PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n",        // a field too few
           "PROXY TCP4 10.0.0.1  10.0.0.2 1 2\r\n",     // double space
           "PROXY TCP4 10.0.0.300 10.0.0.2 1 2\r\n",    // not an address
           "PROXY UDP4 10.0.0.1 10.0.0.2 1 2\r\n",      // not a protocol
           "PROXY TCP4 10.0.0.1 10.0.0.2 -1 2\r\n",     // not a port
           "PROXY\r\n",                                 // nothing
           "PROXY UNKNOWN\nX\r\n",                      // a LF inside, even in ignored fields
           "PROXX TCP4",                                // not the prefix
       }) {
    ProxyHeader h;
    EXPECT_EQ(parse(bad, &h).status, S::error) << bad;
  }
}

TEST(ProxyV1, OversizedLine) {
  // 107 bytes without a CRLF: no valid line can be that long.
  std::string line = "PROXY UNKNOWN " + std::string(93, 'a');
  ASSERT_EQ(line.size(), kProxyV1MaxLength);
  ProxyHeader h;
  EXPECT_EQ(parse(line, &h).status, S::error);
  EXPECT_EQ(parse(line.substr(0, 106), &h).status, S::need_more);
  // 107 bytes with the CRLF is the longest valid line.
  std::string longest = "PROXY UNKNOWN " + std::string(91, 'a') + "\r\n";
  ASSERT_EQ(longest.size(), kProxyV1MaxLength);
  EXPECT_EQ(parse(longest, &h).status, S::done);
  // Its CR as the 107th byte: the LF would be the 108th.
  EXPECT_EQ(parse("PROXY UNKNOWN " + std::string(92, 'a') + "\r\n", &h).status, S::error);
}

TEST(ProxyV1, GarbageFailsAtTheFirstByte) {
  ProxyHeader h;
  EXPECT_EQ(parse("G", &h).status, S::error);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n", &h).status, S::error);
  EXPECT_EQ(parse(std::string("\x16\x03\x01", 3), &h).status, S::error);  // a ClientHello
  EXPECT_EQ(parse("", &h).status, S::need_more);
}

TEST(ProxyV1, VersionsAreAcceptedAsConfigured) {
  ProxyHeader h;
  std::string one = "PROXY UNKNOWN\r\n";
  std::string two = v2(0x20, 0x00, "");
  EXPECT_EQ(parse(one, &h, ProxyProtocol::v1).status, S::done);
  EXPECT_EQ(parse(one, &h, ProxyProtocol::v2).status, S::error);
  EXPECT_EQ(parse(two, &h, ProxyProtocol::v2).status, S::done);
  EXPECT_EQ(parse(two, &h, ProxyProtocol::v1).status, S::error);
  EXPECT_EQ(parse(two, &h, ProxyProtocol::off).status, S::error);
}

// --- v2 ---

TEST(ProxyV2, Tcp4WithTlvsSkipped) {
  std::string addrs = bytes({192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB});
  std::string tlv = bytes({0x04, 0x00, 0x03, 'a', 'b', 'c'});  // PP2_TYPE_NOOP
  std::string header = v2(0x21, 0x11, addrs + tlv);
  ProxyHeader h;
  // The addresses suffice to decide; the length covers the TLVs too.
  ProxyParse p = parse(header.substr(0, 16 + 12), &h);
  ASSERT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, header.size());
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.source.str(), "192.0.2.10:56324");
  EXPECT_EQ(h.destination.str(), "198.51.100.1:443");
}

TEST(ProxyV2, Tcp6) {
  std::string src(16, '\0');
  src[0] = '\x20';
  src[1] = '\x01';
  src[2] = '\x0d';
  src[3] = '\xb8';
  src[15] = '\x01';
  std::string dst(16, '\0');
  dst[15] = '\x01';
  std::string header = v2(0x21, 0x21, src + dst + bytes({0x00, 0x50, 0x1F, 0x90}));
  ProxyHeader h;
  ProxyParse p = parse(header, &h);
  ASSERT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, 16u + 36u);
  EXPECT_EQ(h.source.str(), "[2001:db8::1]:80");
  EXPECT_EQ(h.destination.str(), "[::1]:8080");
}

TEST(ProxyV2, LocalKeepsTheRealPeer) {
  ProxyHeader h;
  // LOCAL ignores the family and whatever the block holds.
  std::string header = v2(0x20, 0x11, std::string(12, '\x7f'));
  ProxyParse p = parse(header, &h);
  ASSERT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, 28u);
  EXPECT_TRUE(h.local);
}

TEST(ProxyV2, UnixAndUnspecKeepTheRealPeer) {
  ProxyHeader h;
  EXPECT_EQ(parse(v2(0x21, 0x00, ""), &h).status, S::done);
  EXPECT_TRUE(h.local);
  ProxyParse p = parse(v2(0x21, 0x31, std::string(216, 'x')), &h);
  EXPECT_EQ(p.status, S::done);
  EXPECT_EQ(p.length, 16u + 216u);
  EXPECT_TRUE(h.local);
}

TEST(ProxyV2, Truncated) {
  std::string header = v2(0x21, 0x11, bytes({127, 0, 0, 1, 127, 0, 0, 2, 0x00, 0x01, 0x00, 0x02}));
  for (size_t n = 1; n < header.size(); ++n) {
    ProxyHeader h;
    EXPECT_EQ(parse(header.substr(0, n), &h).status, S::need_more) << n;
  }
}

TEST(ProxyV2, Malformed) {
  ProxyHeader h;
  std::string addrs(12, '\x01');
  EXPECT_EQ(parse(v2(0x11, 0x11, addrs), &h).status, S::error);    // version 1 in v2 form
  EXPECT_EQ(parse(v2(0x22, 0x11, addrs), &h).status, S::error);    // unknown command
  EXPECT_EQ(parse(v2(0x21, 0x41, addrs), &h).status, S::error);    // unknown family
  EXPECT_EQ(parse(v2(0x21, 0x13, addrs), &h).status, S::error);    // unknown transport
  EXPECT_EQ(parse(v2(0x21, 0x11, "short"), &h).status, S::error);  // block < addresses
  EXPECT_EQ(parse(v2(0x21, 0x21, addrs), &h).status, S::error);    // 12 bytes for IPv6
  std::string sig = kSig;
  sig[11] = 'X';
  EXPECT_EQ(parse(sig, &h).status, S::error);
  EXPECT_EQ(parse(kSig.substr(0, 5) + "x", &h).status, S::error);
  EXPECT_EQ(parse(kSig + "\x11", &h).status, S::error);  // a wrong version known early
}

// --- writing ---

TEST(ProxyWrite, RoundTrips) {
  auto v4a = *core::SocketAddress::fromIp("192.0.2.10", 56324);
  auto v4b = *core::SocketAddress::fromIp("127.0.0.1", 8080);
  auto v6a = *core::SocketAddress::fromIp("2001:db8::7", 1);
  auto v6b = *core::SocketAddress::fromIp("::1", 2);
  char buf[kProxyHeaderMaxWrite];
  for (ProxyProtocol version : {ProxyProtocol::v1, ProxyProtocol::v2}) {
    for (auto [src, dst] : {std::pair{v4a, v4b}, std::pair{v6a, v6b}}) {
      size_t n = writeProxyHeader(version, &src, &dst, buf);
      ASSERT_GT(n, 0u);
      ProxyHeader h;
      ProxyParse p = parseProxyHeader(std::string_view(buf, n), version, &h);
      ASSERT_EQ(p.status, S::done);
      EXPECT_EQ(p.length, n);
      EXPECT_FALSE(h.local);
      EXPECT_EQ(h.source, src);
      EXPECT_EQ(h.destination, dst);
    }
  }
  size_t n = writeProxyHeader(ProxyProtocol::v1, &v4a, &v4b, buf);
  EXPECT_EQ(std::string_view(buf, n), "PROXY TCP4 192.0.2.10 127.0.0.1 56324 8080\r\n");
}

TEST(ProxyWrite, MixedFamiliesGoAsIpv6) {
  auto v4 = *core::SocketAddress::fromIp("192.0.2.10", 5);
  auto v6 = *core::SocketAddress::fromIp("::1", 6);
  char buf[kProxyHeaderMaxWrite];
  size_t n = writeProxyHeader(ProxyProtocol::v1, &v4, &v6, buf);
  EXPECT_EQ(std::string_view(buf, n), "PROXY TCP6 ::ffff:192.0.2.10 ::1 5 6\r\n");
  n = writeProxyHeader(ProxyProtocol::v2, &v4, &v6, buf);
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader(std::string_view(buf, n), ProxyProtocol::v2, &h).status, S::done);
  EXPECT_EQ(h.source.str(), "[::ffff:192.0.2.10]:5");
}

TEST(ProxyWrite, LocalAndUnknown) {
  char buf[kProxyHeaderMaxWrite];
  size_t n = writeProxyHeader(ProxyProtocol::v1, nullptr, nullptr, buf);
  EXPECT_EQ(std::string_view(buf, n), "PROXY UNKNOWN\r\n");
  n = writeProxyHeader(ProxyProtocol::v2, nullptr, nullptr, buf);
  EXPECT_EQ(std::string_view(buf, n), v2(0x20, 0x00, ""));
}

// --- the reader on a real socket ---

struct Pair {
  core::Stream ours;
  int theirs = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    ours.reset(fds[0]);
    theirs = fds[1];
  }
  ~Pair() {
    if (theirs >= 0) ::close(theirs);
  }
  void send(std::string_view s) const {
    ASSERT_EQ(::write(theirs, s.data(), s.size()), ssize_t(s.size()));
  }
  std::string rest() {
    std::string out;
    char buf[512];
    for (;;) {
      core::Result<size_t> n = ours.tryRead(buf, sizeof buf);
      if (!n.ok() || *n == 0) return out;
      out.append(buf, *n);
    }
  }
};

// readProxyHeader within `limit`, as a connection reads it within client_header.
ProxyRead readWithin(core::Stream& s, ProxyProtocol accept, ProxyHeader* h,
                     core::Duration limit = std::chrono::seconds(5)) {
  core::Timeout t(limit);
  return readProxyHeader(s, accept, h);
}

TEST(ProxyReader, ConsumesExactlyTheHeaderSplitAcrossReads) {
  core::testing::runMain([] {
    for (ProxyProtocol version : {ProxyProtocol::v1, ProxyProtocol::v2}) {
      Pair p;
      auto src = *core::SocketAddress::fromIp("203.0.113.9", 40000);
      auto dst = *core::SocketAddress::fromIp("127.0.0.1", 80);
      char buf[kProxyHeaderMaxWrite];
      std::string header(buf, writeProxyHeader(version, &src, &dst, buf));
      auto writer = core::spawn([&] {
        // One byte at a time, with the hub turning in between.
        for (char c : header) {
          p.send(std::string_view(&c, 1));
          (void)core::sleep(std::chrono::milliseconds(1));
        }
        p.send("GET / HTTP/1.1\r\n\r\n");
      });
      ProxyHeader h;
      ProxyRead r = readWithin(p.ours, ProxyProtocol::any, &h);
      (void)writer.join();
      ASSERT_EQ(r.outcome, ProxyReadOutcome::ok);
      EXPECT_EQ(h.source, src);
      EXPECT_EQ(p.rest(), "GET / HTTP/1.1\r\n\r\n");  // nothing read past the header
    }
  });
}

TEST(ProxyReader, SkipsTlvsArrivingLater) {
  core::testing::runMain([] {
    Pair p;
    std::string addrs = bytes({10, 0, 0, 1, 10, 0, 0, 2, 0x00, 0x01, 0x00, 0x02});
    std::string tlvs(600, '\0');  // PP2_TYPE_NOOP-free padding, longer than the look
    std::string header = v2(0x21, 0x11, addrs + tlvs);
    auto writer = core::spawn([&] {
      p.send(header.substr(0, 100));
      (void)core::sleep(std::chrono::milliseconds(5));
      p.send(header.substr(100));
      p.send("\x16\x03\x01");
    });
    ProxyHeader h;
    ProxyRead r = readWithin(p.ours, ProxyProtocol::v2, &h);
    (void)writer.join();
    ASSERT_EQ(r.outcome, ProxyReadOutcome::ok);
    EXPECT_EQ(h.source.str(), "10.0.0.1:1");
    EXPECT_EQ(p.rest(), "\x16\x03\x01");
  });
}

TEST(ProxyReader, GarbageMissingTruncatedAndSilent) {
  using std::chrono::milliseconds;
  core::testing::runMain([] {
    ProxyHeader h;
    {
      Pair p;
      p.send("GET / HTTP/1.1\r\n\r\n");
      EXPECT_EQ(readWithin(p.ours, ProxyProtocol::any, &h).outcome, ProxyReadOutcome::invalid);
    }
    {
      Pair p;  // cut short, then closed
      p.send("PROXY TCP4 10.0.0.1");
      ::shutdown(p.theirs, SHUT_WR);
      EXPECT_EQ(readWithin(p.ours, ProxyProtocol::v1, &h).outcome, ProxyReadOutcome::invalid);
    }
    {
      Pair p;  // cut short, then silent until the deadline
      p.send("PROXY TCP4 10.0.0.1");
      ProxyRead r = readWithin(p.ours, ProxyProtocol::v1, &h, milliseconds(50));
      EXPECT_EQ(r.outcome, ProxyReadOutcome::invalid);
      EXPECT_TRUE(r.timed_out);
    }
    {
      Pair p;  // not a word
      ProxyRead r = readWithin(p.ours, ProxyProtocol::v1, &h, milliseconds(50));
      EXPECT_EQ(r.outcome, ProxyReadOutcome::silent);
      EXPECT_TRUE(r.timed_out);
    }
    {
      Pair p;  // closed without a word
      ::shutdown(p.theirs, SHUT_WR);
      ProxyRead r = readWithin(p.ours, ProxyProtocol::v1, &h);
      EXPECT_EQ(r.outcome, ProxyReadOutcome::silent);
      EXPECT_FALSE(r.timed_out);
    }
  });
}

}  // namespace
}  // namespace greenlb::proxy
