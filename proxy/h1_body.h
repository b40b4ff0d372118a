// HTTP/1.1 bodies as payload (proxy/message_body.h), for an exchange whose other side is
// not HTTP/1.1: H1BodyReader de-frames a body read from a connection (Content-Length,
// chunked, until close), H1BodyWriter frames payload for one (Content-Length passes through,
// chunked gets its size lines and trailer section).
#pragma once

#include <cstdint>

#include "proxy/http/chunked_decoder.h"
#include "proxy/http/message.h"
#include "proxy/input_window.h"
#include "proxy/message_body.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

class H1BodyReader final : public BodySource {
 public:
  // `window` holds what was already read from `t` past the head.
  H1BodyReader(Transport& t, InputWindow& window, http::BodyKind kind, uint64_t content_length)
      : t_(t), window_(window), kind_(kind), left_(content_length) {}

  core::Result<BodyPiece> read(core::Duration idle) override;
  void consume(size_t n) override;
  uint64_t bytesRead() const override { return wire_; }

 private:
  // Reads more into the window; EOF is ENODATA unless `eof_ends`.
  core::Status refill(core::Duration idle, bool eof_ends, bool* eof);

  Transport& t_;
  InputWindow& window_;
  http::BodyKind kind_;
  uint64_t left_;               // Content-Length bytes not yet returned
  http::ChunkedDecoder chunked_;
  size_t step_bytes_ = 0;       // wire bytes behind the piece last returned
  bool done_ = false;
  uint64_t wire_ = 0;
};

class H1BodyWriter final : public BodySink {
 public:
  // `chunked`: frame as chunked (the head said Transfer-Encoding: chunked); otherwise the
  // payload goes as is (the head carried its Content-Length).
  H1BodyWriter(Transport& t, bool chunked) : t_(t), chunked_(chunked) {}

  core::Status write(std::string_view data, core::Duration timeout) override;
  core::Status end(std::span<const http::Header> trailers, core::Duration timeout) override;
  uint64_t bytesWritten() const override { return wire_; }
  // Trailer fields a Content-Length body could not carry.
  size_t droppedTrailers() const { return dropped_trailers_; }

 private:
  Transport& t_;
  bool chunked_;
  uint64_t wire_ = 0;
  size_t dropped_trailers_ = 0;
};

}  // namespace greenlb::proxy
