// Fuzzes the request parser and the upstream head writer. Beyond "no crash": parsing in
// two pieces and byte by byte must agree with parsing at once, every view must lie inside
// the input, and a head we accept and rewrite must parse again to the same request.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/http/head_writer.h"
#include "proxy/http/header_util.h"
#include "proxy/http/request_parser.h"

using namespace greenlb::proxy::http;

// A failed invariant traps; libFuzzer reports the line and keeps the input.
#define FUZZ_CHECK(cond) ((cond) ? void() : __builtin_trap())

namespace {

constexpr size_t kMaxHead = 8192;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

struct Outcome {
  ParseStatus status;
  ParseError error;
};

Outcome parseSplit(std::string_view in, size_t cut, RequestHead& head) {
  RequestParser parser(kMaxHead);
  ParseStatus s = parser.parse(in.substr(0, cut), head);
  if (s == ParseStatus::need_more) s = parser.parse(in, head);
  return {s, parser.error()};
}

Outcome parseByteByByte(std::string_view in, RequestHead& head) {
  RequestParser parser(kMaxHead);
  ParseStatus s = ParseStatus::need_more;
  for (size_t n = 0; n <= in.size() && s == ParseStatus::need_more; ++n)
    s = parser.parse(in.substr(0, n), head);
  return {s, parser.error()};
}

void checkSame(const RequestHead& a, const RequestHead& b) {
  FUZZ_CHECK(a.method == b.method && a.target == b.target && a.version == b.version);
  FUZZ_CHECK(a.header_count == b.header_count);
  for (uint32_t i = 0; i < a.header_count; ++i)
    FUZZ_CHECK(a.headers[i].name == b.headers[i].name && a.headers[i].value == b.headers[i].value);
  FUZZ_CHECK(a.body == b.body && a.content_length == b.content_length);
  FUZZ_CHECK(a.keep_alive == b.keep_alive && a.upgrade == b.upgrade);
  FUZZ_CHECK(a.expect_continue == b.expect_continue && a.host == b.host);
  FUZZ_CHECK(a.head_bytes == b.head_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2 * kMaxHead) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static auto whole = std::make_unique<RequestHead>();
  static auto split = std::make_unique<RequestHead>();

  RequestParser parser(kMaxHead);
  const ParseStatus status = parser.parse(in, *whole);
  const ParseError error = parser.error();
  FUZZ_CHECK((status == ParseStatus::error) == (error != ParseError::none));

  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  Outcome two = parseSplit(in, cut, *split);
  FUZZ_CHECK(two.status == status && two.error == error);
  if (status == ParseStatus::done) checkSame(*whole, *split);
  if (size <= 1024) {
    Outcome bytes = parseByteByByte(in, *split);
    FUZZ_CHECK(bytes.status == status && bytes.error == error);
    if (status == ParseStatus::done) checkSame(*whole, *split);
  }
  if (status != ParseStatus::done) return 0;

  const RequestHead& h = *whole;
  FUZZ_CHECK(h.head_bytes <= size && h.head_bytes <= kMaxHead);
  FUZZ_CHECK(isToken(h.method) && !h.target.empty());
  FUZZ_CHECK(inside(h.method, in) && inside(h.target, in) && inside(h.host, in));
  FUZZ_CHECK(h.header_count <= kMaxHeaders);
  for (const Header& f : h.fields()) {
    FUZZ_CHECK(isToken(f.name) && inside(f.name, in) && inside(f.value, in));
    for (char c : f.value) FUZZ_CHECK(isFieldValueChar(c));
    FUZZ_CHECK(f.value.empty() || (!isOws(f.value.front()) && !isOws(f.value.back())));
  }
  FUZZ_CHECK(h.body != BodyKind::until_close);
  FUZZ_CHECK(h.version == Version::http11 || h.body != BodyKind::chunked);

  // Rewrite for the upstream, then parse what we would send.
  ForwardInfo info{.client_ip = "192.0.2.1",
                   .proto = "http",
                   .request_id = "fuzz-id",
                   .upgrade = h.upgrade,
                   .drop_expect = h.expect_continue};
  static char out[4 * kMaxHead];
  const size_t n = writeUpstreamRequestHead(h, info, out);
  FUZZ_CHECK(n > 0);
  if (h.host.empty()) return 0;  // an HTTP/1.0 request without Host stays without one
  RequestParser again(sizeof out);
  auto re = std::make_unique<RequestHead>();
  const ParseStatus rs = again.parse(std::string_view(out, n), *re);
  if (rs == ParseStatus::error && again.error() == ParseError::header_too_large) {
    FUZZ_CHECK(h.header_count + 6 > kMaxHeaders);  // only the headers we add can do that
    return 0;
  }
  FUZZ_CHECK(rs == ParseStatus::done);
  FUZZ_CHECK(re->head_bytes == n);
  FUZZ_CHECK(re->method == h.method && re->target == h.target);
  FUZZ_CHECK(re->version == Version::http11 && re->keep_alive);
  FUZZ_CHECK(re->body == h.body && re->content_length == h.content_length);
  FUZZ_CHECK(re->host == h.host && re->request_id == "fuzz-id");
  FUZZ_CHECK(re->upgrade == h.upgrade && !re->expect_continue);
  return 0;
}
