// Active health checks of upstreams reached over TLS: the check's socket gets the same TLS
// session setup as requests (verification, SNI, client certificate), so a check passes
// only when a request could.
#pragma once

#include <memory>

#include "balancer/probe_channel.h"
#include "proxy/tls_context.h"

namespace greenlb::proxy {

balancer::ProbeChannelFactory tlsProbeChannel(std::shared_ptr<const ClientTlsContext> tls);

}  // namespace greenlb::proxy
