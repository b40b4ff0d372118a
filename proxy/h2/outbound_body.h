// What one HTTP/2 stream sends after its head, through nghttp2's data provider: body bytes
// the stream's fiber writes wait in a bounded window until nghttp2 takes them as DATA
// (a full window parks the writer: that is the back-pressure), then the trailers, copied
// since the writer's buffer moves on. One mechanism for both sides: a client stream's
// response (proxy/h2/stream.h) and an upstream stream's streamed request
// (proxy/h2/upstream_session.h).
#pragma once

#include <nghttp2/nghttp2.h>

#include <span>
#include <string_view>

#include "core/event.h"
#include "core/result.h"
#include "core/time.h"
#include "proxy/buffer_pool.h"
#include "proxy/http/message.h"
#include "proxy/input_window.h"

namespace greenlb::proxy {

// nghttp2's view of a field, without copying it.
inline nghttp2_nv h2Field(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// Connection-specific fields have no place in HTTP/2 (RFC 9113 section 8.2.2); nor has
// X-Request-Id from the other side, which the proxy sets itself.
bool h2ConnectionSpecific(std::string_view name);

class H2OutboundBody {
 public:
  static constexpr size_t kWindow = 16 * 1024;

  // Copies `data` into the window, waiting (at most `timeout` at a time; zero: no bound)
  // while it is full. `closed` is the stream's flag: set while waiting, the write fails.
  // `Session` has session() and wantWrite().
  template <class Session>
  core::Status write(Session& s, int32_t id, const bool& closed, BufferPool& buffers,
                     std::string_view data, core::Duration timeout) {
    while (!data.empty()) {
      if (closed) return core::Error{EPIPE};
      if (size_t n = append(buffers, data); n > 0) {
        data.remove_prefix(n);
        resume(s.session(), id);
        s.wantWrite();
        continue;
      }
      if (core::Status st = awaitRoom(timeout); !st.ok()) return st;
    }
    return {};
  }

  // No more bytes: the trailers (may be none) follow the last DATA.
  template <class Session>
  void end(Session& s, int32_t id, BufferPool& buffers, std::span<const http::Header> trailers) {
    keepTrailers(buffers, trailers);
    ended_ = true;
    resume(s.session(), id);
    s.wantWrite();
  }

  // nghttp2's read callback: what is in the window, EOF (and the trailers) at the end,
  // DEFERRED while the writer has more to come.
  ssize_t read(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
               uint32_t* data_flags);

  // Bytes a proxy-made answer puts in the window directly (the window is empty then).
  void put(BufferPool& buffers, std::string_view bytes) { append(buffers, bytes); }
  // The stream closed: a parked writer wakes and sees it.
  void wake() { drained_.set(); }
  // Nothing more will be sent: no body (a head alone), or the rest is dropped.
  void finish() { ended_ = true; }
  void drop() {
    window_.clear();
    ended_ = true;
    trailer_count_ = 0;
  }
  uint64_t sent() const { return sent_; }
  void count(uint64_t n) { sent_ += n; }  // head bytes, counted with the body

 private:
  size_t append(BufferPool& buffers, std::string_view data);
  core::Status awaitRoom(core::Duration timeout);
  void resume(nghttp2_session* session, int32_t id);
  void keepTrailers(BufferPool& buffers, std::span<const http::Header> trailers);

  InputWindow window_;  // bytes not yet taken by nghttp2
  core::Event drained_;
  bool deferred_ = false;  // the provider said DEFERRED: resume it on new bytes
  bool ended_ = false;
  http::Header trailers_[16];
  size_t trailer_count_ = 0;
  Buffer trailer_bytes_;
  uint64_t sent_ = 0;
};

}  // namespace greenlb::proxy
