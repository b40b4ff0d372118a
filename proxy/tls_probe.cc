#include "proxy/tls_probe.h"

#include "balancer/endpoint.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {

namespace {

class TlsProbeChannel final : public balancer::ProbeChannel {
 public:
  explicit TlsProbeChannel(std::unique_ptr<TlsTransport> tls) : tls_(std::move(tls)) {}
  // No timeouts of their own: the check's Timeout bounds them.
  core::Status writeAll(const void* buf, size_t len) override {
    return writeTimed(*tls_, buf, len, core::Duration::zero());
  }
  core::Result<size_t> readSome(void* buf, size_t len) override {
    return readTimed(*tls_, buf, len, core::Duration::zero());
  }

 private:
  std::unique_ptr<TlsTransport> tls_;
};

}  // namespace

balancer::ProbeChannelFactory tlsProbeChannel(std::shared_ptr<const ClientTlsContext> tls) {
  return [tls](const balancer::Endpoint& ep, core::Stream& socket)
             -> core::Result<std::unique_ptr<balancer::ProbeChannel>> {
    auto session = tls->handshake(ep.name(), socket);
    if (!session.ok()) return session.error();
    return std::unique_ptr<balancer::ProbeChannel>(
        std::make_unique<TlsProbeChannel>(std::move(*session)));
  };
}

}  // namespace greenlb::proxy
