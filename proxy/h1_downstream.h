// The client side of an exchange on an HTTP/1.1 connection (proxy/downstream.h): the
// request head the connection parsed, its body in the connection's window, and the
// response written back on the connection. Between two HTTP/1.1 sides the exchange uses its
// byte-level paths (pumpBodyTo, relayFrom, tunnel): bodies move verbatim, chunked framing
// included, with no decoding (docs/architecture.md, "One exchange for every protocol").
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/body_pump.h"
#include "proxy/buffer_pool.h"
#include "proxy/downstream.h"
#include "proxy/h1_body.h"
#include "proxy/input_window.h"
#include "proxy/tunnel.h"

namespace greenlb::proxy {

class ClientConnection;
struct ListenerPlan;

class H1Downstream final : public Downstream {
 public:
  // `in` holds the bytes read past the head (the body's start, pipelined requests).
  // `keep_alive_allowed`: the connection may carry another request (listener open,
  // max_requests_per_connection not reached).
  H1Downstream(ClientConnection& c, const ListenerPlan& plan, const http::RequestHead& head,
               InputWindow& in, bool keep_alive_allowed);

  const http::RequestHead& head() const override { return head_; }
  std::string_view protocol() const override;
  const core::SocketAddress& peer() const override;
  const core::Stream* socket() const override;
  bool tls() const override;
  HubContext& hub() override;
  H1Downstream* http1() override { return this; }

  bool bodyInHand() const override { return in_hand_; }
  std::string_view bodyInHandView() const override;
  void takeBodyInHand() override;
  BodySource& requestBody() override;
  bool requestBodyDone() const override { return body_done_; }
  void setRequestBodyDone() override { body_done_ = true; }
  uint64_t bytesReceived() const override {
    return body_bytes_ + (body_reader_ ? body_reader_->bytesRead() : 0);
  }

  core::Status sendResponseHead(const http::ResponseHead& head,
                                std::string_view request_id) override;
  BodySink& responseBody() override;
  size_t sendError(int status, std::string_view request_id, uint32_t retry_after) override;
  bool responseStarted() const override { return response_started_; }
  void abortResponse() override { keep_alive_ = false; }

  // After the exchange: the connection may carry another request (nothing of this one is
  // left unread on it).
  bool keepAlive() const { return keep_alive_ && body_done_; }

  // --- byte-level paths to and from an HTTP/1.1 upstream ---
  // The rest of the request body, after `sent_with_head` bytes of it went with the head:
  // answers Expect: 100-continue first, then streams the body verbatim.
  PumpResult pumpBodyTo(Transport& upstream, core::Duration upstream_timeout,
                        size_t sent_with_head);
  // The upstream's response: the head rewritten, then the body from `out` (and `upstream`)
  // verbatim, de-chunked for an HTTP/1.0 client. `bytes_sent` gets what reached the client.
  // The result's error is destination for the client, anything else for the upstream.
  PumpResult relayFrom(const http::ResponseHead& response, std::string_view request_id,
                       InputWindow& out, Transport& upstream, core::Duration upstream_idle,
                       uint64_t* bytes_sent);
  // A 101: the head, then a two-way tunnel until either side closes (tunnel_idle).
  // `out` holds what the upstream sent after its 101.
  TunnelResult tunnel(const http::ResponseHead& response, std::string_view request_id,
                      InputWindow& out, Transport& upstream, bool* head_sent);

  Transport& transport();
  // The connection's window: what was read past the head.
  InputWindow& window() { return in_; }

 private:
  // Writes the response head for `response`; decides keep-alive and HTTP/1.0 de-chunking.
  core::Status writeHead(const http::ResponseHead& response, std::string_view request_id,
                         size_t body_part, const char* body, uint64_t* bytes_sent);
  core::Status sendContinue();

  ClientConnection& client_;
  const ListenerPlan& plan_;
  const http::RequestHead& head_;
  InputWindow& in_;
  bool keep_alive_allowed_;
  bool in_hand_;             // the whole body is buffered (or there is none)
  bool body_done_;           // nothing of the request is left unread on the connection
  bool in_hand_taken_ = false;
  bool continue_sent_ = false;
  bool response_started_ = false;
  bool keep_alive_ = false;
  bool dechunk_ = false;     // HTTP/1.0 client, chunked response: payload only
  uint64_t body_bytes_ = 0;
  Buffer scratch_;  // the rewritten response head
  std::optional<H1BodyReader> body_reader_;  // requestBody(), when the upstream is not HTTP/1.1
  std::optional<H1BodyWriter> body_writer_;  // responseBody(), likewise
  // The reader that answers Expect: 100-continue before its first read.
  class ContinueFirst final : public BodySource {
   public:
    explicit ContinueFirst(H1Downstream& d) : d_(d) {}
    core::Result<BodyPiece> read(core::Duration idle) override;
    void consume(size_t n) override { d_.body_reader_->consume(n); }
    uint64_t bytesRead() const override { return d_.body_reader_->bytesRead(); }

   private:
    H1Downstream& d_;
  };
  ContinueFirst continue_first_{*this};
};

}  // namespace greenlb::proxy
