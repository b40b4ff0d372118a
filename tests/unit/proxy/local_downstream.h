// The client side of an exchange, in memory, for unit tests of the exchange
// (docs/architecture.md, "Testing the exchange"): the request is HTTP/1.1 text parsed by
// greenlb's own parser, its body (if any) is in hand or streamed from a string, and what
// the exchange answers is kept: the status, the fields, the body, the trailers, and
// whether greenlb made the answer itself or cut it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proxy/downstream.h"
#include "proxy/http/request_parser.h"
#include "proxy/hub_context.h"

namespace greenlb::proxy::testing {

class LocalDownstream final : public Downstream, private BodySource, private BodySink {
 public:
  // `request`: a whole HTTP/1.1 request head; `body`: its body. `in_hand`: the body is all
  // there when the exchange starts (it can be sent again), else it is streamed.
  LocalDownstream(HubContext& hub, std::string request, std::string body = "",
                  bool in_hand = true)
      : hub_(hub), text_(std::move(request)), body_(std::move(body)), in_hand_(in_hand) {
    http::RequestParser parser(64 * 1024);
    parsed_ = parser.parse(text_, head_) == http::ParseStatus::done;
    peer_ = *core::SocketAddress::fromIp("192.0.2.7", 40000);
  }
  bool parsed() const { return parsed_; }

  // --- what the exchange answered ---
  int status = 0;
  bool made_by_proxy = false;  // sendError
  bool aborted = false;        // abortResponse: the client's stream was cut
  std::map<std::string, std::string> fields;
  std::string response_body;
  std::vector<std::pair<std::string, std::string>> response_trailers;

  // --- Downstream ---
  const http::RequestHead& head() const override { return head_; }
  std::string_view protocol() const override { return "HTTP/1.1"; }
  const core::SocketAddress& peer() const override { return peer_; }
  bool tls() const override { return false; }
  HubContext& hub() override { return hub_; }
  bool bodyInHand() const override { return in_hand_; }
  std::string_view bodyInHandView() const override {
    return in_hand_ ? std::string_view(body_) : std::string_view();
  }
  void takeBodyInHand() override {}
  BodySource& requestBody() override { return *this; }
  bool requestBodyDone() const override { return in_hand_ || body_sent_; }
  void setRequestBodyDone() override { body_sent_ = true; }
  uint64_t bytesReceived() const override { return body_.size(); }
  core::Status sendResponseHead(const http::ResponseHead& h, std::string_view id) override {
    status = h.status;
    for (const http::Header& f : h.fields()) fields[lower(f.name)] = std::string(f.value);
    fields["x-request-id"] = std::string(id);
    started_ = true;
    return {};
  }
  BodySink& responseBody() override { return *this; }
  size_t sendError(int s, std::string_view id, uint32_t /*retry_after*/) override {
    status = s;
    made_by_proxy = true;
    fields["x-request-id"] = std::string(id);
    started_ = true;
    return 1;
  }
  bool responseStarted() const override { return started_; }
  void abortResponse() override { aborted = true; }

 private:
  static std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  // BodySource: the request body, streamed in one piece.
  core::Result<BodyPiece> read(core::Duration) override {
    if (body_sent_) return BodyPiece{{}, true};
    return BodyPiece{body_, true};
  }
  void consume(size_t) override { body_sent_ = true; }
  uint64_t bytesRead() const override { return body_.size(); }
  uint64_t bytesWritten() const override { return response_body.size(); }
  // BodySink: the response body.
  core::Status write(std::string_view data, core::Duration) override {
    response_body.append(data);
    return {};
  }
  core::Status end(std::span<const http::Header> trailers, core::Duration) override {
    for (const http::Header& t : trailers) {
      response_trailers.emplace_back(std::string(t.name), std::string(t.value));
    }
    return {};
  }

  HubContext& hub_;
  std::string text_;
  std::string body_;
  bool in_hand_;
  bool parsed_ = false;
  bool body_sent_ = false;
  bool started_ = false;
  http::RequestHead head_;
  core::SocketAddress peer_;
};

}  // namespace greenlb::proxy::testing
