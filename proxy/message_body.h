// A message body as payload, whatever codec carries it (docs/architecture.md, "One exchange
// for every protocol"): an HTTP/1.1 body is de-framed (Content-Length, chunked, until close)
// into pieces of payload, an HTTP/2 body arrives as DATA frames. An exchange moves a body
// from a BodySource on one side to a BodySink on the other with pumpPayload(); between two
// HTTP/1.1 sides it moves the bytes verbatim instead (proxy/body_pump.h), which is cheaper.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "core/time.h"
#include "proxy/http/message.h"

namespace greenlb::proxy {

struct BodyPiece {
  std::string_view data;  // payload (may be empty)
  bool end = false;       // the body ended with this piece
};

class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next payload bytes, waiting at most `idle` for each. The view stays valid until
  // consume() or the next read(). Errors: the source failed (ETIMEDOUT, ECONNRESET,
  // ENODATA = ended before its framing said, EPROTO = malformed framing, ECANCELED).
  virtual core::Result<BodyPiece> read(core::Duration idle) = 0;
  // The caller is done with the first `n` bytes of the last piece (HTTP/2: the window the
  // peer may send into opens by that much).
  virtual void consume(size_t n) = 0;
  // Trailer fields that ended the body, once read() returned end (may be empty).
  virtual std::span<const http::Header> trailers() const { return {}; }
  // Bytes taken off the wire for this body so far (framing included): for the byte counters.
  virtual uint64_t bytesRead() const = 0;
};

class BodySink {
 public:
  virtual ~BodySink() = default;
  // Writes payload, waiting at most `timeout` for room each time.
  virtual core::Status write(std::string_view data, core::Duration timeout) = 0;
  // Ends the body (with trailer fields, when the codec can carry them).
  virtual core::Status end(std::span<const http::Header> trailers, core::Duration timeout) = 0;
  // Bytes put on the wire for this body so far (framing included).
  virtual uint64_t bytesWritten() const = 0;
};

enum class PayloadError : uint8_t { none, source, destination, too_large };

struct PayloadResult {
  PayloadError error = PayloadError::none;
  int code = 0;  // errno of the failure
  bool ok() const { return error == PayloadError::none; }
};

// Moves the whole body from `src` to `dst`: `src_idle` bounds each wait for payload,
// `dst_timeout` each wait for room; `max_payload` (0 = none) refuses a longer body.
PayloadResult pumpPayload(BodySource& src, BodySink& dst, core::Duration src_idle,
                          core::Duration dst_timeout, uint64_t max_payload = 0);

}  // namespace greenlb::proxy
