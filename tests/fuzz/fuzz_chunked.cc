// Fuzzes the chunked decoder: feeding the input at once, in two pieces and byte by byte
// gives the same payload, status and consumed count; payload views lie inside the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/chunked_decoder.h"

using namespace greenlb::proxy::http;

// A failed invariant traps; libFuzzer reports the line and keeps the input.
#define FUZZ_CHECK(cond) ((cond) ? void() : __builtin_trap())

namespace {

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::more;
  std::string payload;
  size_t consumed = 0;
  uint64_t payload_bytes = 0;
};

// Feeds in[0, in.size()) in pieces of `piece` bytes (0 = all at once).
Decoded decode(std::string_view in, size_t first_piece, size_t piece) {
  ChunkedDecoder d;
  Decoded out;
  size_t pos = 0;
  bool first = true;
  while (pos < in.size() && out.status == ChunkedDecoder::Status::more) {
    size_t len = first ? first_piece : piece;
    first = false;
    if (len == 0 || len > in.size() - pos) len = in.size() - pos;
    std::string_view chunk = in.substr(pos, len);
    pos += len;
    while (!chunk.empty()) {
      ChunkedDecoder::Step s = d.next(chunk);
      FUZZ_CHECK(s.consumed <= chunk.size());
      FUZZ_CHECK(s.data.empty() || (s.data.data() >= chunk.data() &&
                                    s.data.data() + s.data.size() <= chunk.data() + s.consumed));
      // Progress: a step that consumes nothing must end the loop.
      FUZZ_CHECK(s.consumed > 0 || s.status != ChunkedDecoder::Status::more);
      out.payload.append(s.data);
      out.consumed += s.consumed;
      out.status = s.status;
      chunk.remove_prefix(s.consumed);
      if (s.status != ChunkedDecoder::Status::more) break;
    }
  }
  out.payload_bytes = d.payloadBytes();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const Decoded whole = decode(in, 0, 0);
  const Decoded two = decode(in, data[0] % (in.size() + 1), 0);
  FUZZ_CHECK(two.status == whole.status && two.payload == whole.payload);
  if (whole.status != ChunkedDecoder::Status::error) FUZZ_CHECK(two.consumed == whole.consumed);
  if (in.size() <= 2048) {
    const Decoded bytes = decode(in, 1, 1);
    FUZZ_CHECK(bytes.status == whole.status && bytes.payload == whole.payload);
    if (whole.status != ChunkedDecoder::Status::error) FUZZ_CHECK(bytes.consumed == whole.consumed);
  }
  if (whole.status == ChunkedDecoder::Status::done) {
    FUZZ_CHECK(whole.payload_bytes == whole.payload.size());
    FUZZ_CHECK(whole.consumed <= in.size());
  } else if (whole.status == ChunkedDecoder::Status::more) {
    FUZZ_CHECK(whole.consumed == in.size());
  }
  return 0;
}
