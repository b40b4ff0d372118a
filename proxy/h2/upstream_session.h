// HTTP/2 to upstreams (docs/grpc.md): connections shared by the requests of one hub, each
// request a stream. An H2UpstreamSession is one connection to one endpoint (h2 over TLS by
// ALPN, or h2c with prior knowledge), driven by libnghttp2 like the client side: its
// reader fiber feeds frames to nghttp2, which calls back into the streams waiting on them;
// an H2FrameWriter writes what nghttp2 queues. An H2UpstreamStream is one request on it,
// used by the exchange that sent it: its request body is a BodySink, its response body a
// BodySource, with flow control end to end (the response window opens only as the
// exchange passes the body on to its client).
//
// Sessions belong to their endpoint's pool on the hub (proxy/upstream_pool.h): the pool
// picks one with room for another stream (the server's SETTINGS_MAX_CONCURRENT_STREAMS),
// opens another when all are full, and deletes one once its connection ended and no
// stream is left on it. GOAWAY from the upstream stops new streams on the connection;
// streams it did not process end "refused", which is always safe to retry.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/event.h"
#include "core/recycled.h"
#include "core/socket.h"
#include "core/time.h"
#include "proxy/buffer_pool.h"
#include "proxy/h2/frame_writer.h"
#include "proxy/h2/outbound_body.h"
#include "proxy/h2/stream_handle.h"
#include "proxy/http/header_rules.h"
#include "proxy/http/message.h"
#include "proxy/input_window.h"
#include "proxy/message_body.h"
#include "proxy/transport.h"
#include "proxy/upstream_error.h"

namespace greenlb::proxy {

class ClientTlsContext;
class EndpointPool;
class H2UpstreamStream;
class TlsTransport;

class H2UpstreamSession {
 public:
  H2UpstreamSession(EndpointPool& pool, BufferPool& buffers, core::Duration idle_timeout,
                    core::Duration write_timeout);
  ~H2UpstreamSession();
  H2UpstreamSession(const H2UpstreamSession&) = delete;
  H2UpstreamSession& operator=(const H2UpstreamSession&) = delete;

  // Connects (TCP, then TLS with ALPN "h2" when `tls` is set) and starts the session's
  // fibers; bounded by the caller's Timeout. Wakes whoever waits in awaitReady().
  UpstreamError open(const core::SocketAddress& to, const ClientTlsContext* tls,
                     std::string_view endpoint_name);
  // For a request that found this session still connecting.
  UpstreamError awaitReady();
  bool connecting() const { return state_ == State::connecting; }
  // New streams may go here: connected, no GOAWAY, not dead, a stream slot left.
  bool hasRoom() const;
  bool usable() const { return state_ != State::dead && !goaway_; }
  size_t streams() const { return streams_; }
  // Its connection ended and no stream is left: the pool may delete it.
  bool finished() const {
    return state_ == State::dead && reader_done_ && streams_ == 0 && waiters_ == 0;
  }
  bool readerDone() const { return reader_done_; }
  // Ends the connection now (the endpoint left); streams on it fail.
  void close();

  // --- for its streams ---
  nghttp2_session* session() { return session_; }
  void wantWrite() {
    if (writer_) writer_->wake();
  }
  void attach(H2UpstreamStream* s);
  void detach(H2UpstreamStream* s);
  BufferPool& buffers() { return buffers_; }
  bool tls() const { return tls_ != nullptr; }

 private:
  enum class State : uint8_t { connecting, ready, dead };
  static int onHeader(nghttp2_session*, const nghttp2_frame*, nghttp2_rcbuf*, nghttp2_rcbuf*,
                      uint8_t, void*);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int onStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  void readerLoop();
  void end();  // the connection is over: every stream fails

  EndpointPool& pool_;
  BufferPool& buffers_;
  core::Duration idle_timeout_;
  core::Duration write_timeout_;
  core::Stream stream_;
  PlainTransport plain_{stream_};
  std::unique_ptr<TlsTransport> tls_;
  nghttp2_session* session_ = nullptr;
  std::optional<H2FrameWriter> writer_;
  State state_ = State::connecting;
  UpstreamError connect_error_ = UpstreamError::none;
  core::Event ready_;
  bool goaway_ = false;
  bool reader_done_ = true;
  size_t streams_ = 0;
  int waiters_ = 0;  // requests waiting in awaitReady()
  H2UpstreamStream* head_ = nullptr;  // streams on this connection (intrusive)
};

class H2UpstreamStream final : public BodySink,
                               public BodySource,
                               public core::Recycled<H2UpstreamStream> {
 public:
  // A new stream on `session` (proxy/h2/stream_handle.h: letting go cancels it).
  static H2StreamHandle open(H2UpstreamSession& session);
  H2UpstreamStream(const H2UpstreamStream&) = delete;
  H2UpstreamStream& operator=(const H2UpstreamStream&) = delete;

  // Sends the request head. `body`: the whole body when it is in hand (sent with it), else
  // nullopt; `streaming`: the body follows through write()/end() (the BodySink).
  core::Status submit(std::span<const nghttp2_nv> fields, std::optional<std::string_view> body,
                      bool streaming);
  // Waits (bounded by the caller's Timeout) for the response head; interim 1xx heads are
  // skipped. ECONNRESET when the stream was reset or the connection lost.
  core::Status awaitHead(http::ResponseHead& out);
  // The upstream never processed the request: RST_STREAM REFUSED_STREAM, or above a
  // GOAWAY's last stream id. Always safe to send again.
  bool refused() const { return closed_ && close_code_ == NGHTTP2_REFUSED_STREAM; }
  bool closed() const { return closed_; }
  int32_t id() const { return id_; }
  // Cancels the request upstream (RST_STREAM CANCEL); the stream then ends as closed.
  void cancel();

  // BodySink: the request body.
  core::Status write(std::string_view data, core::Duration timeout) override;
  core::Status end(std::span<const http::Header> trailers, core::Duration timeout) override;
  uint64_t bytesWritten() const override { return out_.sent(); }
  uint64_t bytesRead() const override { return received_; }
  // BodySource: the response body.
  core::Result<BodyPiece> read(core::Duration idle) override;
  void consume(size_t n) override;
  std::span<const http::Header> trailers() const override { return {trailers_, trailer_count_}; }

  // --- from the session's callbacks ---
  // A field of the response head, or after it of the trailers.
  void addField(nghttp2_rcbuf* name, nghttp2_rcbuf* value);
  void headEnded(bool end_stream);
  bool addData(const uint8_t* data, size_t len);
  void endOfResponse();
  void closedBySession(uint32_t code);
  ssize_t readRequest(uint8_t* buf, size_t length, uint32_t* data_flags);

  bool abandoned() const { return abandoned_; }
  H2UpstreamStream* prev = nullptr;
  H2UpstreamStream* next = nullptr;

 private:
  friend class H2UpstreamSession;
  friend struct H2UpstreamStreamRelease;
  explicit H2UpstreamStream(H2UpstreamSession& session);
  ~H2UpstreamStream() override;
  // The exchange let go: cancelled upstream if still open; deleted once nghttp2 is done.
  void abandon();
  H2UpstreamSession& session_;
  int32_t id_ = -1;
  // The response head and trailers, kept as nghttp2's reference-counted buffers.
  nghttp2_rcbuf* kept_[2 * (http::kMaxHeaders + 24)];
  size_t kept_count_ = 0;
  int status_ = 0;
  http::Header fields_[http::kMaxHeaders];
  size_t field_count_ = 0;
  http::Header trailers_[16];
  size_t trailer_count_ = 0;
  bool head_done_ = false;
  bool head_end_stream_ = false;
  core::Event head_ready_;

  InputWindow in_;  // response DATA the exchange has not taken (at most the stream window)
  core::Event data_arrived_;
  bool end_of_response_ = false;
  size_t pending_consume_ = 0;

  // The request body: the whole of it in hand, or streamed through `out_`.
  std::string_view body_in_hand_;
  bool streaming_ = false;
  H2OutboundBody out_;
  uint64_t received_ = 0;

  bool closed_ = false;
  bool abandoned_ = false;
  uint32_t close_code_ = 0;
};

// The request head for an HTTP/2 upstream: pseudo-headers from the head (`:authority` from
// Host, or `authority` when there is none), connection-specific fields left out, names
// lowercased, the forwarding fields (X-Forwarded-For/-Proto/-Host, X-Request-Id) set, then
// the route's header rules and prefix rewrite applied.
// Strings it makes live in `scratch`. Returns the fields used in `out`, 0 when they do not
// fit.
struct H2ForwardInfo {
  std::string_view client_ip;
  std::string_view proto;       // X-Forwarded-Proto
  std::string_view request_id;
  std::string_view scheme;      // "http" or "https": how greenlb reaches the upstream
  std::string_view default_authority;
  // As in http::ForwardInfo: the route's request_headers and rewrite_prefix.
  const http::HeaderRules* rules = nullptr;
  const http::RuleVars* vars = nullptr;
  http::PrefixRewrite rewrite{};
};
size_t h2RequestFields(const http::RequestHead& head, const H2ForwardInfo& info,
                       std::span<char> scratch, std::span<nghttp2_nv> out);

}  // namespace greenlb::proxy
