// Name resolution that parks the fiber instead of blocking the hub: libevent's evdns,
// configured from resolv.conf (nameservers, search domains, ndots) and a hosts file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/socket.h"

struct evdns_base;

namespace greenlb::core {

struct ResolverOptions {
  std::string resolv_conf = "/etc/resolv.conf";
  std::string hosts_file = "/etc/hosts";
};

class Resolver {
 public:
  // Reads both files now (a blocking read: do it at startup or reload, not per request).
  // A missing resolv.conf leaves evdns's defaults (127.0.0.1 as nameserver).
  explicit Resolver(const ResolverOptions& options = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // IPv4 and IPv6 addresses of `host` with `port`; a literal IP comes back as is.
  // ENOENT when the name does not exist or has no address, EIO on other failures;
  // bounded by the caller's Timeout scopes and evdns's own retry timeouts.
  Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port);

 private:
  evdns_base* dns_ = nullptr;
};

// resolve() through the current hub's resolver with default options.
Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port);

}  // namespace greenlb::core
