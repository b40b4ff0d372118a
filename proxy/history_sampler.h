// Feeds the status page's history (metrics/history.h) once a second, on hub 0: for each
// listener, upstream and endpoint of the generation in force it sums the per-hub metric
// cells (what a scrape reads) into a reading. Request handling does nothing for it, so the
// hot path pays nothing (docs/observability.md, "History").
#pragma once

#include "core/fiber.h"
#include "metrics/history.h"

namespace greenlb::proxy {

class Server;

class HistorySampler {
 public:
  explicit HistorySampler(Server& server) : server_(server) {}
  HistorySampler(const HistorySampler&) = delete;
  HistorySampler& operator=(const HistorySampler&) = delete;
  ~HistorySampler() { fiber_.kill(); }

  // On hub 0: takes a first round now (the baseline of the first rates), then one a second
  // until stop() or the runtime ends.
  void start();
  void stop();

  // Hub 0 only, like the rounds that write it.
  const metrics::History& history() const { return history_; }

 private:
  void run();
  void sampleOnce();

  Server& server_;
  metrics::History history_;
  core::JoinHandle<void> fiber_;
};

}  // namespace greenlb::proxy
