#include "proxy/h2/outbound_body.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/timeout.h"
#include "proxy/http/header_util.h"

namespace greenlb::proxy {

bool h2ConnectionSpecific(std::string_view name) {
  using http::equalsIgnoreCase;
  return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive") ||
         equalsIgnoreCase(name, "proxy-connection") ||
         equalsIgnoreCase(name, "transfer-encoding") || equalsIgnoreCase(name, "upgrade") ||
         equalsIgnoreCase(name, "te") || equalsIgnoreCase(name, "trailer") ||
         equalsIgnoreCase(name, "x-request-id");
}

size_t H2OutboundBody::append(BufferPool& buffers, std::string_view data) {
  if (!window_.hasBuffer()) window_.attach(buffers.get(kWindow));
  if (!window_.ensureRoom()) return 0;
  size_t n = std::min(window_.tailRoom(), data.size());
  std::memcpy(window_.tail(), data.data(), n);
  window_.produced(n);
  sent_ += n;
  return n;
}

core::Status H2OutboundBody::awaitRoom(core::Duration timeout) {
  // Full: the peer's window is shut, or the writer has not caught up. Waiting here is
  // what back-pressures the side that feeds this stream.
  drained_.clear();
  std::optional<core::Timeout> bound;
  if (timeout > core::Duration::zero()) bound.emplace(timeout);
  return drained_.wait();
}

void H2OutboundBody::resume(nghttp2_session* session, int32_t id) {
  if (!deferred_) return;
  deferred_ = false;
  nghttp2_session_resume_data(session, id);
}

void H2OutboundBody::keepTrailers(BufferPool& buffers, std::span<const http::Header> trailers) {
  if (trailers.empty()) return;
  size_t bytes = 0;
  for (const http::Header& h : trailers) bytes += h.name.size() + h.value.size();
  trailer_bytes_ = buffers.get(bytes);
  size_t at = 0;
  for (const http::Header& h : trailers) {
    if (trailer_count_ == std::size(trailers_)) break;
    if (h2ConnectionSpecific(h.name)) continue;
    char* p = trailer_bytes_.data() + at;
    for (size_t i = 0; i < h.name.size(); ++i) p[i] = http::toLowerAscii(h.name[i]);
    std::memcpy(p + h.name.size(), h.value.data(), h.value.size());
    trailers_[trailer_count_++] = {std::string_view(p, h.name.size()),
                                   std::string_view(p + h.name.size(), h.value.size())};
    at += h.name.size() + h.value.size();
  }
}

ssize_t H2OutboundBody::read(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* data_flags) {
  size_t n = std::min(length, window_.size());
  if (n > 0) {
    std::memcpy(buf, window_.data().data(), n);
    window_.consume(n);
    drained_.set();
  }
  if (window_.empty()) {
    if (ended_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (trailer_count_ > 0) {
        // Trailers go after the last DATA: submitted from here, as nghttp2 asks.
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv nva[std::size(trailers_)];
        for (size_t i = 0; i < trailer_count_; ++i) {
          nva[i] = h2Field(trailers_[i].name, trailers_[i].value);
        }
        nghttp2_submit_trailer(session, id, nva, trailer_count_);
      }
    } else if (n == 0) {
      deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace greenlb::proxy
