// DNS discovery ([upstream] dns + resolve_every): the upstream's membership is whatever
// the name resolves to, re-resolved every resolve_every with core's evdns Resolver (the
// [global] resolv_conf and hosts_file). This is how greenlb follows a Kubernetes headless
// Service.
//
//  - Endpoints are named "IP:port" (the port is the dns address's), weight 1, in address
//    order. An address seen before keeps its Endpoint object, so health, ejection and
//    pooled connections survive a re-resolution; one that appears while the upstream runs
//    starts its slow-start ramp.
//  - A removed endpoint only leaves the membership: requests in flight on it hold it (the
//    hubs' old sets) and finish.
//  - An answer with no address (NXDOMAIN, NODATA) empties the upstream (503 no_healthy,
//    docs/balancing.md, "Panic mode"); a failed resolution (timeout, SERVFAIL, unreachable
//    nameserver) keeps the last good membership and is logged (once per run of the same
//    error).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "core/dns.h"
#include "core/fiber.h"
#include "core/time.h"

namespace greenlb::balancer {

class Endpoint;
struct EndpointSet;
class Upstream;

// The membership for the addresses DNS answered: endpoints of `current` whose name is in
// the answer keep their object; new ones are made by `upstream` (ramping from `now` when
// `ramp`). Sorted by name, duplicates dropped. `added` / `removed` count the difference.
std::vector<std::shared_ptr<Endpoint>> mergeMembership(Upstream& upstream,
                                                       const EndpointSet& current,
                                                       const std::vector<core::SocketAddress>& found,
                                                       bool ramp, core::TimePoint now,
                                                       size_t* added, size_t* removed);

class DnsDiscovery {
 public:
  DnsDiscovery(Upstream& upstream, conf::Address name, core::Duration every,
               core::ResolverOptions options);
  ~DnsDiscovery();
  DnsDiscovery(const DnsDiscovery&) = delete;
  DnsDiscovery& operator=(const DnsDiscovery&) = delete;

  // On a fiber: creates the resolver on this hub (it reads resolv_conf and hosts_file
  // now: startup or reload), resolves once, then re-resolves in a fiber on this hub.
  void start();
  // On a fiber of the same hub: kills the re-resolving fiber and waits for it to end,
  // then frees the resolver. After it returns nothing touches the Upstream.
  void stop();

  // Rounds that produced an answer (an address list or an authoritative empty one).
  uint64_t resolutions() const { return resolutions_; }

 private:
  void loop();
  // One resolution and membership update; false when the fiber was killed meanwhile.
  bool resolveOnce();

  Upstream& upstream_;
  conf::Address name_;
  core::Duration every_;
  core::ResolverOptions options_;
  std::unique_ptr<core::Resolver> resolver_;
  core::JoinHandle<void> fiber_;
  uint64_t resolutions_ = 0;
  int last_error_ = 0;  // of the current run of failures, 0 after a success
};

}  // namespace greenlb::balancer
