// Fuzzes the response parser and the client head writer: split parsing agrees with
// parsing at once, and a response we accept and rewrite parses again with the same
// status and framing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/http/head_writer.h"
#include "proxy/http/header_util.h"
#include "proxy/http/response_parser.h"

using namespace greenlb::proxy::http;

// A failed invariant traps; libFuzzer reports the line and keeps the input.
#define FUZZ_CHECK(cond) ((cond) ? void() : __builtin_trap())

namespace {

constexpr size_t kMaxHead = 8192;

struct Outcome {
  ParseStatus status;
  ParseError error;
};

Outcome parseSplit(std::string_view in, size_t cut, bool head_request, ResponseHead& head) {
  ResponseParser parser(kMaxHead, head_request);
  ParseStatus s = parser.parse(in.substr(0, cut), head);
  if (s == ParseStatus::need_more) s = parser.parse(in, head);
  return {s, parser.error()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the request kind and the split point; the rest is the response.
  if (size < 1 || size > 2 * kMaxHead) return 0;
  const bool head_request = data[0] & 1;
  const bool http10_client = data[0] & 2;
  const bool keep_alive = data[0] & 4;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  static auto whole = std::make_unique<ResponseHead>();
  static auto split = std::make_unique<ResponseHead>();

  ResponseParser parser(kMaxHead, head_request);
  const ParseStatus status = parser.parse(in, *whole);
  const ParseError error = parser.error();
  FUZZ_CHECK((status == ParseStatus::error) == (error != ParseError::none));

  const size_t cut = (data[0] >> 3) % (in.size() + 1);
  Outcome two = parseSplit(in, cut, head_request, *split);
  FUZZ_CHECK(two.status == status && two.error == error);
  if (status != ParseStatus::done) return 0;

  const ResponseHead& h = *whole;
  FUZZ_CHECK(split->status == h.status && split->body == h.body &&
             split->header_count == h.header_count && split->head_bytes == h.head_bytes);
  FUZZ_CHECK(h.status >= 100 && h.status <= 599 && h.head_bytes <= in.size());
  for (const Header& f : h.fields()) {
    FUZZ_CHECK(isToken(f.name));
    for (char c : f.value) FUZZ_CHECK(isFieldValueChar(c));
  }
  if (h.body == BodyKind::until_close) FUZZ_CHECK(!h.keep_alive);
  if (head_request || h.status < 200 || h.status == 204 || h.status == 304)
    FUZZ_CHECK(h.body == BodyKind::none);

  const bool dechunk = http10_client && h.body == BodyKind::chunked;
  ResponseInfo info{.request_id = "fuzz-id",
                    .keep_alive = keep_alive,
                    .client_is_http10 = http10_client,
                    .dechunk = dechunk};
  static char out[4 * kMaxHead];
  const size_t n = writeClientResponseHead(h, info, out);
  FUZZ_CHECK(n > 0);
  ResponseParser again(sizeof out, head_request);
  auto re = std::make_unique<ResponseHead>();
  const ParseStatus rs = again.parse(std::string_view(out, n), *re);
  if (rs == ParseStatus::error && again.error() == ParseError::header_too_large) {
    FUZZ_CHECK(h.header_count + 2 > kMaxHeaders);
    return 0;
  }
  FUZZ_CHECK(rs == ParseStatus::done && re->head_bytes == n);
  FUZZ_CHECK(re->status == h.status && re->version == Version::http11);
  FUZZ_CHECK(re->upgrade == h.upgrade);
  if (dechunk) {
    FUZZ_CHECK(re->body == BodyKind::until_close && !re->keep_alive);
  } else {
    FUZZ_CHECK(re->body == h.body && re->framing == h.framing &&
               re->content_length == h.content_length);
    if (!h.upgrade && h.body != BodyKind::until_close) FUZZ_CHECK(re->keep_alive == keep_alive);
  }
  return 0;
}
