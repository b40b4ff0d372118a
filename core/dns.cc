#include "core/dns.h"

#include <event2/dns.h>
#include <event2/util.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/hub.h"

namespace greenlb::core {
namespace {

// One lookup in flight. Heap-allocated because evdns may call back after the waiting fiber
// gave up (Timeout, kill); whoever comes second frees it.
struct Lookup {
  Fiber* waiter = nullptr;
  bool done = false;
  bool abandoned = false;
  int error = 0;
  std::vector<SocketAddress> addresses;
};

void onResult(int err, evutil_addrinfo* res, void* arg) {
  auto* lookup = static_cast<Lookup*>(arg);
  for (evutil_addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SocketAddress a = SocketAddress::fromSockaddr(ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen));
    auto& v = lookup->addresses;
    if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
  }
  if (res != nullptr) evutil_freeaddrinfo(res);
  lookup->error = err;
  lookup->done = true;
  if (lookup->abandoned) {
    delete lookup;
    return;
  }
  if (lookup->waiter != nullptr) lookup->waiter->hub().wake(lookup->waiter, 0);
}

int toErrno(int eai) {
  switch (eai) {
    case 0: return 0;
    case EVUTIL_EAI_NONAME:
    case EVUTIL_EAI_NODATA: return ENOENT;
    case EVUTIL_EAI_CANCEL: return ECANCELED;
    default: return EIO;
  }
}

}  // namespace

Resolver::Resolver(const ResolverOptions& options) {
  dns_ = evdns_base_new(currentHub().base(), 0);
  evdns_base_resolv_conf_parse(dns_, DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE,
                               options.resolv_conf.c_str());
  evdns_base_load_hosts(dns_, options.hosts_file.c_str());
}

Resolver::~Resolver() { evdns_base_free(dns_, 1); }

Result<std::vector<SocketAddress>> Resolver::resolve(std::string_view host, uint16_t port) {
  if (auto literal = SocketAddress::fromIp(host, port)) return std::vector<SocketAddress>{*literal};
  Hub& hub = currentHub();
  std::string name(host);
  std::string service = std::to_string(port);
  evutil_addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  auto* lookup = new Lookup;
  lookup->waiter = hub.currentFiber();
  evdns_getaddrinfo_request* req =
      evdns_getaddrinfo(dns_, name.c_str(), service.c_str(), &hints, &onResult, lookup);
  while (!lookup->done) {
    int rc = hub.park();
    if (lookup->done) break;
    if (rc != 0) {
      lookup->abandoned = true;
      lookup->waiter = nullptr;
      evdns_getaddrinfo_cancel(req);  // its callback frees the lookup
      return Error{rc};
    }
  }
  std::unique_ptr<Lookup> owned(lookup);
  if (int e = toErrno(owned->error); e != 0) return Error{e};
  if (owned->addresses.empty()) return Error{ENOENT};
  return std::move(owned->addresses);
}

Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port) {
  return currentHub().local<Resolver>().resolve(host, port);
}

}  // namespace greenlb::core
