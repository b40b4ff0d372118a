#include "proxy/body_pump.h"

#include <algorithm>

#include "core/fair_share.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {
namespace {

using http::BodyKind;
using http::ChunkedDecoder;

// Reads more into the window; false (with `r` filled in) when the source failed or ended.
bool refill(const PumpSource& src, PumpResult& r, bool eof_is_error) {
  if (!src.window.ensureRoom()) {
    r.error = PumpError::source;
    r.code = ENOBUFS;
    return false;
  }
  core::Result<size_t> n = readTimed(src.stream, src.window.tail(), src.window.tailRoom(), src.idle);
  if (!n.ok()) {
    r.error = PumpError::source;
    r.code = n.error().code;
    return false;
  }
  if (*n == 0) {
    if (eof_is_error) {
      r.error = PumpError::source;
      r.code = ENODATA;
    }
    return false;
  }
  src.window.produced(*n);
  return true;
}

bool writeOut(Transport& dst, const char* p, size_t n, core::Duration timeout, PumpResult& r) {
  if (n == 0) return true;
  core::Status st = writeTimed(dst, p, n, timeout);
  if (!st.ok()) {
    r.error = PumpError::destination;
    r.code = st.error().code;
    return false;
  }
  r.out_bytes += n;
  return true;
}

// Takes `n` bytes of the body off the source's window.
void taken(const PumpSource& src, PumpResult& r, size_t n) {
  src.window.consume(n);
  r.in_bytes += n;
}

PumpResult pumpLength(const PumpSource& src, Transport& dst, core::Duration dst_timeout,
                      uint64_t length) {
  PumpResult r;
  core::FairShare share;
  uint64_t left = length;
  for (;;) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(src.window.size(), left));
    if (!writeOut(dst, src.window.data().data(), take, dst_timeout, r)) return r;
    taken(src, r, take);
    left -= take;
    if (left == 0) return r;
    share.spend(take);
    if (!refill(src, r, true)) return r;
  }
}

PumpResult pumpUntilClose(const PumpSource& src, Transport& dst, core::Duration dst_timeout) {
  PumpResult r;
  core::FairShare share;
  for (;;) {
    size_t take = src.window.size();
    if (!writeOut(dst, src.window.data().data(), take, dst_timeout, r)) return r;
    taken(src, r, take);
    share.spend(take);
    if (!refill(src, r, false)) return r;  // end of stream ends the body
  }
}

PumpResult pumpChunked(const PumpSource& src, Transport& dst, core::Duration dst_timeout,
                       const PumpOptions& options) {
  PumpResult r;
  core::FairShare share;
  ChunkedDecoder decoder;
  for (;;) {
    std::string_view in = src.window.data();
    size_t verbatim = 0;  // framing and data passed on as received: one write per read
    bool done = false;
    while (!in.empty() && !done) {
      ChunkedDecoder::Step step = decoder.next(in);
      if (step.status == ChunkedDecoder::Status::error) {
        r.error = PumpError::framing;
        return r;
      }
      if (options.max_payload != 0 && decoder.payloadBytes() > options.max_payload) {
        r.error = PumpError::too_large;
        return r;
      }
      if (options.dechunk) {
        if (!writeOut(dst, step.data.data(), step.data.size(), dst_timeout, r)) return r;
        taken(src, r, step.consumed);
      } else {
        verbatim += step.consumed;
      }
      in.remove_prefix(step.consumed);
      done = step.status == ChunkedDecoder::Status::done;
    }
    if (verbatim > 0) {
      if (!writeOut(dst, src.window.data().data(), verbatim, dst_timeout, r)) return r;
      taken(src, r, verbatim);
    }
    if (done) return r;
    share.spend(verbatim);
    if (!refill(src, r, true)) return r;
  }
}

}  // namespace

PumpResult pumpBody(const PumpSource& src, Transport& dst, core::Duration dst_timeout,
                    BodyKind kind, uint64_t content_length, const PumpOptions& options) {
  switch (kind) {
    case BodyKind::none:
      return {};
    case BodyKind::content_length:
      if (options.max_payload != 0 && content_length > options.max_payload) {
        return {PumpError::too_large, 0, 0};
      }
      return pumpLength(src, dst, dst_timeout, content_length);
    case BodyKind::chunked:
      return pumpChunked(src, dst, dst_timeout, options);
    case BodyKind::until_close:
      return pumpUntilClose(src, dst, dst_timeout);
  }
  return {};
}

}  // namespace greenlb::proxy
