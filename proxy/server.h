// The composition root of a running greenlb (docs/operations.md): loads the config, starts one
// hub per worker, binds every listener on every hub, serves the admin listener, and lives
// through SIGHUP reloads until SIGTERM drains it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "core/event.h"
#include "core/runtime.h"
#include "metrics/registry.h"
#include "proxy/access_log.h"
#include "proxy/generation.h"
#include "proxy/hub_context.h"

namespace greenlb::proxy {

class AdminServer;
class HistorySampler;

// The latest reload attempt (SIGHUP or POST /reload), shown by /status and the status page.
struct ReloadOutcome {
  bool ok = false;
  std::string errors;  // one per line when it failed
  double at = 0;       // Unix seconds
};

struct ServerOptions {
  std::string version;
  std::string config_path;  // "" for an embedded config (demo)
  // Called on hub 0's main fiber before anything is bound (the demo starts its upstreams).
  std::function<void()> on_start;
  // Called on hub 0 once listeners are up and signals are handled (demo prints its help).
  std::function<void()> on_ready;
};

class Server {
 public:
  Server(std::shared_ptr<const conf::Config> config, ServerOptions options);
  ~Server();

  // Runs until drained; returns the process exit code. Startup failures print one line.
  int run();

  // --- used by hubs, admin and listeners ---
  bool admitConnection();
  void connectionClosed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t openConnections() const { return open_connections_.load(std::memory_order_relaxed); }
  void noteAcceptFailure(int err);

  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  const std::string& version() const { return options_.version; }
  bool allowReload() const { return config_->admin.allow_reload; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  uint64_t generationNumber() const { return generation_number_.load(std::memory_order_relaxed); }
  metrics::Registry& registry() { return *registry_; }
  HubContext& hubContext(size_t i) { return *hubs_[i]; }
  size_t hubCount() const { return hubs_.size(); }
  core::Runtime& runtime() { return *runtime_; }
  // Hub 0's view of the config in force (admin fibers run on hub 0).
  const Generation& currentGeneration() { return hubs_[0]->current(); }

  // Re-reads the config file and applies it if valid (SIGHUP, POST /reload). Runs on a
  // hub-0 fiber; returns false with every error in `errors`.
  bool reload(std::vector<std::string>* errors);
  // Hub 0: the latest reload attempt, none before the first.
  const std::optional<ReloadOutcome>& lastReload() const { return last_reload_; }
  // Hub 0: the status page's history, sampled once a second.
  const HistorySampler& history() const { return *history_; }
  // Starts the graceful drain (SIGTERM) if not started; the main fiber finishes it.
  void requestDrain();

 private:
  void mainFiber();
  bool start(std::string* error);
  bool bindListeners(const conf::Config& config, const Generation* previous,
                     std::vector<std::vector<std::unique_ptr<ListenerSocket>>>* fresh,
                     std::string* error);
  void publish(std::shared_ptr<Generation> gen,
               std::vector<std::vector<std::unique_ptr<ListenerSocket>>> fresh,
               const std::vector<std::string>& removed);
  void signalLoop();
  void drain();
  // Runs fn on every hub's thread and waits until all have run it.
  void onEveryHub(const std::function<void(HubContext&)>& fn);

  std::shared_ptr<const conf::Config> config_;
  ServerOptions options_;
  std::unique_ptr<core::Runtime> runtime_;
  std::unique_ptr<metrics::Registry> registry_;
  std::vector<std::unique_ptr<HubContext>> hubs_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<HistorySampler> history_;
  std::shared_ptr<Generation> generation_;
  std::atomic<uint64_t> generation_number_{0};
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> max_connections_;  // [global] max_connections; follows reloads
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  core::Event drain_requested_;
  bool reloading_ = false;    // hub 0
  bool hup_pending_ = false;  // hub 0: a SIGHUP reload waits for the running one
  std::optional<ReloadOutcome> last_reload_;  // hub 0
  int exit_code_ = 0;
  std::string startup_error_;
  core::TimePoint last_accept_warning_{};
};

}  // namespace greenlb::proxy
