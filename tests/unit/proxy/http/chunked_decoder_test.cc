#include "proxy/http/chunked_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace greenlb::proxy::http {
namespace {

using namespace std::string_literals;
using Status = ChunkedDecoder::Status;

struct Decoded {
  Status status = Status::more;
  std::string payload;
  size_t consumed = 0;  // total, over all pieces
  uint64_t payload_bytes = 0;
};

// Feeds `in` cut at the given offsets (ascending), like reads from a socket would.
Decoded decode(std::string_view in, const std::vector<size_t>& cuts = {}) {
  ChunkedDecoder d;
  Decoded out;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(in.size());
  for (size_t end : ends) {
    std::string_view piece = in.substr(start, end - start);
    start = end;
    while (!piece.empty()) {
      ChunkedDecoder::Step s = d.next(piece);
      EXPECT_LE(s.consumed, piece.size());
      if (!s.data.empty()) {
        // The payload lies inside the consumed bytes.
        EXPECT_GE(s.data.data(), piece.data());
        EXPECT_LE(s.data.data() + s.data.size(), piece.data() + s.consumed);
      }
      out.payload.append(s.data);
      out.consumed += s.consumed;
      out.status = s.status;
      piece.remove_prefix(s.consumed);
      if (s.status != Status::more) break;
    }
    if (out.status != Status::more) break;
  }
  out.payload_bytes = d.payloadBytes();
  return out;
}

Status statusOf(std::string_view in) {
  return decode(in).status;
}

TEST(ChunkedDecoder, SingleChunk) {
  const std::string in = "5\r\nhello\r\n0\r\n\r\n";
  ChunkedDecoder d;
  auto s = d.next(in);
  EXPECT_EQ(s.status, Status::done);
  EXPECT_EQ(s.data, "hello");
  EXPECT_EQ(s.consumed, in.size());
  EXPECT_EQ(d.payloadBytes(), 5u);
  EXPECT_TRUE(d.done());
}

TEST(ChunkedDecoder, OnePayloadViewPerStep) {
  const std::string in = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ChunkedDecoder d;
  auto s = d.next(in);
  EXPECT_EQ(s.status, Status::more);
  EXPECT_EQ(s.data, "abc");
  EXPECT_EQ(s.consumed, 11u);  // up to where "de" starts
  s = d.next(std::string_view(in).substr(11));
  EXPECT_EQ(s.status, Status::done);
  EXPECT_EQ(s.data, "de");
}

TEST(ChunkedDecoder, ManyChunks) {
  auto r = decode("3\r\nabc\r\n1\r\nd\r\nA\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, Status::done);
  EXPECT_EQ(r.payload, "abcd0123456789");
  EXPECT_EQ(r.payload_bytes, 14u);
}

TEST(ChunkedDecoder, EmptyBody) {
  auto r = decode("0\r\n\r\n");
  EXPECT_EQ(r.status, Status::done);
  EXPECT_EQ(r.payload, "");
  EXPECT_EQ(r.consumed, 5u);
}

TEST(ChunkedDecoder, StopsAtTheEndOfTheBody) {
  // The next pipelined message is not consumed.
  const std::string in = "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  ChunkedDecoder d;
  std::string_view rest = in;
  ChunkedDecoder::Step s{};
  do {
    s = d.next(rest);
    rest.remove_prefix(s.consumed);
  } while (s.status == Status::more);
  EXPECT_EQ(s.status, Status::done);
  EXPECT_EQ(rest, "GET / HTTP/1.1\r\n");
  s = d.next(rest);
  EXPECT_EQ(s.status, Status::done);
  EXPECT_EQ(s.consumed, 0u);
}

TEST(ChunkedDecoder, HexDigitsAnyCaseAndLeadingZeros) {
  auto r = decode("a\r\n0123456789\r\nB\r\n0123456789A\r\n0000\r\n\r\n");
  EXPECT_EQ(r.status, Status::done);
  EXPECT_EQ(r.payload.size(), 21u);
  EXPECT_EQ(decode("0005\r\nhello\r\n0\r\n\r\n").payload, "hello");
}

TEST(ChunkedDecoder, PayloadBytesCountAnnouncedSizes) {
  ChunkedDecoder d;
  auto s = d.next("10\r\n");
  EXPECT_EQ(s.status, Status::more);
  EXPECT_EQ(d.payloadBytes(), 16u);  // before any of the data arrived
}

TEST(ChunkedDecoder, LargestChunkSize) {
  ChunkedDecoder d;
  EXPECT_EQ(d.next("7fffffffffffffff\r\n").status, Status::more);
  EXPECT_EQ(d.payloadBytes(), 0x7fffffffffffffffu);
}

TEST(ChunkedDecoder, OverflowingChunkSizeIsAnError) {
  EXPECT_EQ(statusOf("8000000000000000\r\n"), Status::error);
  EXPECT_EQ(statusOf("ffffffffffffffffff\r\n"), Status::error);
  EXPECT_EQ(statusOf("10000000000000000\r\n"), Status::error);
}

TEST(ChunkedDecoder, InvalidChunkSizes) {
  for (std::string in :
       {"\r\n"s, "-5\r\nhello\r\n0\r\n\r\n"s, "+5\r\nhello\r\n0\r\n\r\n"s,
        "0x5\r\nhello\r\n0\r\n\r\n"s, " 5\r\nhello\r\n0\r\n\r\n"s, "5 \r\nhello\r\n0\r\n\r\n"s,
        "5\t\r\nhello\r\n0\r\n\r\n"s, "g\r\n"s, "5g\r\nhello\r\n0\r\n\r\n"s, "5 5\r\n"s, "\t5\r\n"s,
        "5\0\r\n"s, ";a\r\n"s}) {
    SCOPED_TRACE(in);
    EXPECT_EQ(statusOf(in), Status::error);
  }
}

TEST(ChunkedDecoder, BareLfAfterSizeIsAnError) {
  EXPECT_EQ(statusOf("5\nhello\r\n0\r\n\r\n"), Status::error);
}

TEST(ChunkedDecoder, BareCrAfterSizeIsAnError) {
  EXPECT_EQ(statusOf("5\rhello\r\n0\r\n\r\n"), Status::error);
}

TEST(ChunkedDecoder, MissingCrlfAfterDataIsAnError) {
  EXPECT_EQ(statusOf("5\r\nhelloX\r\n0\r\n\r\n"), Status::error);
  EXPECT_EQ(statusOf("5\r\nhello0\r\n\r\n"), Status::error);
}

TEST(ChunkedDecoder, BareLfAfterDataIsAnError) {
  EXPECT_EQ(statusOf("5\r\nhello\n0\r\n\r\n"), Status::error);
}

TEST(ChunkedDecoder, BareCrAfterDataIsAnError) {
  EXPECT_EQ(statusOf("5\r\nhello\r0\r\n\r\n"), Status::error);
}

TEST(ChunkedDecoder, ValidExtensions) {
  for (std::string in :
       {"5;a\r\nhello\r\n0\r\n\r\n"s, "5;a=b\r\nhello\r\n0\r\n\r\n"s,
        "5;a=\"quoted value\"\r\nhello\r\n0\r\n\r\n"s, "5;a=\"esc\\\"aped\"\r\nhello\r\n0\r\n\r\n"s,
        "5 ;a\r\nhello\r\n0\r\n\r\n"s, "5\t; a = b ; c\r\nhello\r\n0\r\n\r\n"s,
        "5;a;b=c;d=\"\"\r\nhello\r\n0\r\n\r\n"s, "5;a=\"x\" ;b\r\nhello\r\n0;last\r\n\r\n"s}) {
    SCOPED_TRACE(in);
    auto r = decode(in);
    EXPECT_EQ(r.status, Status::done);
    EXPECT_EQ(r.payload, "hello");
  }
}

TEST(ChunkedDecoder, InvalidExtensions) {
  for (std::string in :
       {"5;\r\n"s, "5;=b\r\n"s, "5;a=\r\n"s, "5;a=\"open\r\n"s, "5;a b\r\n"s, "5;a=b c\r\n"s,
        "5;a \r\n"s, "5;a=b \r\n"s, "5;a=\"x\"y\r\n"s, "5;a=(b)\r\n"s, "5;a=\"\x01\"\r\n"s,
        "5;a\x7f\r\n"s, "5;a=\"x\\\r\n"s, "5;a\n"s, "5,a\r\n"s}) {
    SCOPED_TRACE(in);
    EXPECT_EQ(statusOf(in), Status::error);
  }
}

TEST(ChunkedDecoder, OverlongChunkLineIsAnError) {
  EXPECT_EQ(statusOf("5;a=" + std::string(kMaxChunkLineBytes, 'b') + "\r\n"), Status::error);
  // Endless leading zeros cannot keep the decoder busy forever either.
  EXPECT_EQ(statusOf(std::string(kMaxChunkLineBytes + 1, '0')), Status::error);
  // Just under the bound is fine.
  const std::string ext(kMaxChunkLineBytes - 6, 'b');
  EXPECT_EQ(statusOf("5;a=" + ext + "\r\nhello\r\n0\r\n\r\n"), Status::done);
}

TEST(ChunkedDecoder, Trailers) {
  auto r = decode("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:\t v \r\n\r\n");
  EXPECT_EQ(r.status, Status::done);
  EXPECT_EQ(r.payload, "hello");
}

TEST(ChunkedDecoder, InvalidTrailers) {
  for (std::string in :
       {"0\r\nX : v\r\n\r\n"s, "0\r\n v\r\n\r\n"s, "0\r\nX: v\n\r\n"s, "0\r\n\n"s,
        "0\r\nX: v\r\n\n"s, "0\r\n: v\r\n\r\n"s, "0\r\nX v\r\n\r\n"s, "0\r\nX: a\0b\r\n\r\n"s,
        "0\r\nX: a\rb\r\n\r\n"s, "0\r\nX\r\n\r\n"s, "0\r\n\rX"s}) {
    SCOPED_TRACE(in);
    EXPECT_EQ(statusOf(in), Status::error);
  }
}

TEST(ChunkedDecoder, OversizedTrailerIsAnError) {
  std::string big = "0\r\n";
  while (big.size() < kMaxTrailerBytes + 100) big += "X-Pad: 0123456789012345678901234567\r\n";
  big += "\r\n";
  EXPECT_EQ(statusOf(big), Status::error);
}

TEST(ChunkedDecoder, ErrorIsSticky) {
  ChunkedDecoder d;
  EXPECT_EQ(d.next("x").status, Status::error);
  EXPECT_EQ(d.next("0\r\n\r\n").status, Status::error);
  d.reset();
  EXPECT_EQ(d.next("0\r\n\r\n").status, Status::done);
}

const char* const kSplitBodies[] = {
    "5\r\nhello\r\n0\r\n\r\n",
    "3;ext=\"q;v\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-A: x\r\nB: y\r\n\r\n",
    "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0;end\r\n\r\n",
    "5\r\nhello\r\n0\r\nX : bad\r\n\r\n",
    "5\r\nhelloXX\r\n",
};

TEST(ChunkedDecoder, EverySplitPointGivesTheSameResult) {
  for (const char* body : kSplitBodies) {
    SCOPED_TRACE(body);
    const std::string in = body;
    const Decoded whole = decode(in);
    for (size_t cut = 0; cut <= in.size(); ++cut) {
      SCOPED_TRACE(cut);
      const Decoded split = decode(in, {cut});
      EXPECT_EQ(split.status, whole.status);
      EXPECT_EQ(split.payload, whole.payload);
      EXPECT_EQ(split.payload_bytes, whole.payload_bytes);
      if (whole.status == Status::done) {
        EXPECT_EQ(split.consumed, whole.consumed);
      }
    }
  }
}

TEST(ChunkedDecoder, ByteByByteGivesTheSameResult) {
  for (const char* body : kSplitBodies) {
    SCOPED_TRACE(body);
    const std::string in = body;
    std::vector<size_t> cuts;
    for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
    const Decoded whole = decode(in);
    const Decoded split = decode(in, cuts);
    EXPECT_EQ(split.status, whole.status);
    EXPECT_EQ(split.payload, whole.payload);
    EXPECT_EQ(split.consumed, whole.consumed);
  }
}

}  // namespace
}  // namespace greenlb::proxy::http
