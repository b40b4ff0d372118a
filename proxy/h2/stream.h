// One HTTP/2 stream from a client: the client side of one exchange (proxy/downstream.h).
//
// The connection's reader fiber fills it from nghttp2's callbacks (the header fields, kept
// as nghttp2's own reference-counted buffers, no copy; DATA into a bounded inbound window);
// the stream's own fiber runs the exchange over it, like eventlet's wsgi server spawning a
// green thread per request (docs/http2.md). The response goes out through nghttp2's data
// provider from a bounded outbound window, so a client that does not read stalls this
// stream's exchange (and through it the upstream) instead of growing a buffer: flow control
// end to end.
//
// Owned by its session; two holders keep it: nghttp2 (until the stream closes) and its
// fiber (until the exchange ends).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string_view>

#include "core/event.h"
#include "core/fiber.h"
#include "core/recycled.h"
#include "core/time.h"
#include "proxy/buffer_pool.h"
#include "proxy/downstream.h"
#include "proxy/h2/outbound_body.h"
#include "proxy/input_window.h"

namespace greenlb::proxy {

class H2ServerSession;

class H2Stream final : public Downstream,
                       private BodySource,
                       private BodySink,
                       public core::Recycled<H2Stream> {
 public:
  H2Stream(H2ServerSession& session, int32_t id);
  ~H2Stream() override;
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  int32_t id() const { return id_; }

  // --- filled by the session from nghttp2's callbacks ---
  // A header field of the request (or, after its body, a trailer field). False: the
  // stream is to be reset (too many fields, too large).
  bool addField(nghttp2_rcbuf* name, nghttp2_rcbuf* value, bool trailer, size_t max_bytes);
  // The request head is complete: builds the head the exchange sees. False when it is
  // malformed in a way nghttp2 does not check.
  bool finishHead(size_t header_block_bytes);
  // DATA payload; false when it does not fit the window (the peer broke flow control).
  bool addData(const uint8_t* data, size_t len);
  void endOfRequest();
  // nghttp2 closed the stream (its response went out whole, or it was reset): the exchange
  // must not touch nghttp2 for it any more.
  void closedBySession(uint32_t error_code);
  bool closed() const { return closed_; }
  bool requestEnded() const { return end_of_request_; }
  // nghttp2's data provider: the next bytes of the response body.
  ssize_t readResponse(uint8_t* buf, size_t length, uint32_t* data_flags);
  bool isGrpc() const { return grpc_; }

  // The session's list of its streams.
  H2Stream* prev = nullptr;
  H2Stream* next = nullptr;

  // --- the stream's fiber ---
  // Its exchange begins: whether the body is all in hand is decided now.
  void startExchange();
  core::Fiber* fiber = nullptr;
  core::TimePoint started;
  bool fiber_done = false;
  uint32_t reset_code = 0;  // RST_STREAM error code from the client, when reset

  // --- Downstream ---
  const http::RequestHead& head() const override { return head_; }
  std::string_view protocol() const override { return "HTTP/2.0"; }
  const core::SocketAddress& peer() const override;
  const core::Stream* socket() const override;
  bool tls() const override;
  HubContext& hub() override;
  bool bodyInHand() const override { return in_hand_; }
  std::string_view bodyInHandView() const override;
  void takeBodyInHand() override;
  BodySource& requestBody() override { return *this; }
  bool requestBodyDone() const override { return end_of_request_ && in_.empty(); }
  void setRequestBodyDone() override {}
  uint64_t bytesReceived() const override { return received_; }
  core::Status sendResponseHead(const http::ResponseHead& head,
                                std::string_view request_id) override;
  BodySink& responseBody() override { return *this; }
  size_t sendError(int status, std::string_view request_id, uint32_t retry_after) override;
  bool responseStarted() const override { return response_started_; }
  void abortResponse() override;

 private:
  // BodySource: the request body.
  core::Result<BodyPiece> read(core::Duration idle) override;
  void consume(size_t n) override;
  std::span<const http::Header> trailers() const override;
  uint64_t bytesRead() const override { return received_; }
  uint64_t bytesWritten() const override { return out_.sent(); }
  // BodySink: the response body.
  core::Status write(std::string_view data, core::Duration timeout) override;
  core::Status end(std::span<const http::Header> trailers, core::Duration timeout) override;
  // The response headers (or trailers) from `fields` for HTTP/2: names lowercased,
  // connection-specific fields left out, then `rules` (the route's response_headers, or
  // null) applied. Returns false when they do not fit.
  bool submitHeaders(int status, std::span<const http::Header> fields, std::string_view request_id,
                     bool with_body, const http::HeaderRules* rules = nullptr);

  H2ServerSession& session_;
  int32_t id_;
  http::RequestHead head_;
  // The fields' buffers, kept from nghttp2 (reference counted) for the exchange.
  nghttp2_rcbuf* kept_[2 * (http::kMaxHeaders + 8)];
  size_t kept_count_ = 0;
  size_t field_bytes_ = 0;
  std::string_view method_, scheme_, authority_, path_;
  http::Header trailer_fields_[16];
  size_t trailer_count_ = 0;
  Buffer cookies_;  // several cookie fields joined with "; " for HTTP/1.1 (RFC 9113 8.2.3)
  bool grpc_ = false;

  InputWindow in_;  // request DATA not yet taken by the exchange (at most the stream window)
  core::Event data_arrived_;
  bool end_of_request_ = false;
  bool exchange_started_ = false;
  bool in_hand_ = false;
  bool in_hand_taken_ = false;
  uint64_t received_ = 0;
  size_t pending_consume_ = 0;  // bytes of the last piece read, to give back to the window

  H2OutboundBody out_;  // the response body and trailers, until nghttp2 takes them
  bool response_started_ = false;
  bool body_submitted_ = false;  // a data provider is attached
  bool closed_ = false;
};

}  // namespace greenlb::proxy
