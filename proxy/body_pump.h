// Streams one message body from a connection to another without holding it whole:
// Content-Length, chunked (forwarded verbatim, or de-chunked for an HTTP/1.0 client) and
// until-close bodies, through the space behind the pinned head in the source's window
// (at least kMinBodyWindow, whatever the head's size). A pump that never has to wait
// yields to its hub now and then (core/fair_share.h).
#pragma once

#include <cstdint>

#include "core/time.h"
#include "proxy/http/chunked_decoder.h"
#include "proxy/http/message.h"
#include "proxy/input_window.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

struct PumpSource {
  Transport& stream;
  InputWindow& window;      // bytes already read from `stream` come first
  core::Duration idle;      // longest wait for the next byte
};

struct PumpOptions {
  uint64_t max_payload = 0;  // 0 = unlimited; more -> PumpError::too_large
  bool dechunk = false;      // chunked in, raw payload out
};

enum class PumpError : uint8_t {
  none,
  source,       // reading failed: reset, timeout or end of stream before the body ended
  destination,  // writing failed
  framing,      // malformed chunked framing
  too_large,    // max_payload exceeded
};

struct PumpResult {
  PumpError error = PumpError::none;
  int code = 0;            // errno of a source/destination failure
  uint64_t in_bytes = 0;   // bytes of this body taken from the source (window included)
  uint64_t out_bytes = 0;  // bytes written to the destination
  bool ok() const { return error == PumpError::none; }
};

PumpResult pumpBody(const PumpSource& src, Transport& dst, core::Duration dst_timeout,
                    http::BodyKind kind, uint64_t content_length, const PumpOptions& options);

}  // namespace greenlb::proxy
