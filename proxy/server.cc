#include "proxy/server.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "conf/loader.h"
#include "core/blocking.h"
#include "core/dns.h"
#include "core/event.h"
#include "core/signals.h"
#include "core/timeout.h"
#include "proxy/admin_server.h"
#include "proxy/history_sampler.h"
#include "proxy/listener_socket.h"

namespace greenlb::proxy {

using core::Clock;

namespace {

core::RuntimeOptions runtimeOptions(const conf::Config& c) {
  core::RuntimeOptions o;
  o.hubs = c.global.workers;
  o.pin = c.global.pin_workers;
  o.stack_size = c.global.fiber_stack;
  return o;
}

// The socket address of a configured listen address; names are resolved once.
core::Result<core::SocketAddress> listenAddress(const conf::Address& a) {
  if (auto ip = core::SocketAddress::fromIp(a.host, a.port)) return *ip;
  core::Timeout t(std::chrono::seconds(10));
  auto addrs = core::resolve(a.host, a.port);
  if (!addrs.ok()) return addrs.error();
  return addrs->front();
}

bool sameSocket(const conf::ListenerConfig& a, const conf::ListenerConfig& b) {
  return a.listen == b.listen && a.protocol == b.protocol;
}

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Server::Server(std::shared_ptr<const conf::Config> config, ServerOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      max_connections_(static_cast<int64_t>(config_->global.max_connections)) {
  runtime_ = std::make_unique<core::Runtime>(runtimeOptions(*config_));
  registry_ = std::make_unique<metrics::Registry>(runtime_->size(), options_.version);
  for (size_t i = 0; i < runtime_->size(); ++i) {
    hubs_.push_back(std::make_unique<HubContext>(*this, i, runtime_->hub(i)));
  }
}

Server::~Server() {
  // Hub state first (pools and sockets live on the hubs' loops), then what it points into.
  admin_.reset();
  history_.reset();
  hubs_.clear();
  generation_.reset();
  access_log_.reset();
}

int Server::run() {
  runtime_->run([this] { mainFiber(); });
  return exit_code_;
}

bool Server::admitConnection() {
  // Not config_: hubs call this while a reload on hub 0 replaces it.
  int64_t limit = max_connections_.load(std::memory_order_relaxed);
  if (open_connections_.fetch_add(1, std::memory_order_relaxed) >= limit) {
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Server::noteAcceptFailure(int err) {
  // Rate-limited: under fd exhaustion every hub would log on every accept.
  core::TimePoint now = Clock::now();
  if (now - last_accept_warning_ < std::chrono::seconds(1)) return;
  last_accept_warning_ = now;
  std::fprintf(stderr, "greenlb: accept: %s (open connections %lld); pausing accepts briefly\n",
               std::strerror(err), static_cast<long long>(openConnections()));
}

void Server::onEveryHub(const std::function<void(HubContext&)>& fn) {
  core::Event all_done;
  size_t remaining = hubs_.size();
  core::Hub& home = core::currentHub();
  for (auto& h : hubs_) {
    HubContext* ctx = h.get();
    ctx->hub().post([ctx, &fn, &home, &remaining, &all_done] {
      fn(*ctx);
      home.post([&remaining, &all_done] {
        if (--remaining == 0) all_done.set();
      });
    });
  }
  while (!all_done.isSet()) {
    if (!all_done.wait().ok()) core::yield();  // not cancellable: fn's captures live here
  }
}

bool Server::bindListeners(const conf::Config& config, const Generation* previous,
                           std::vector<std::vector<std::unique_ptr<ListenerSocket>>>* fresh,
                           std::string* error) {
  fresh->clear();
  fresh->resize(hubs_.size());
  for (const auto& lc : config.listeners) {
    if (previous != nullptr) {
      const ListenerPlan* old = previous->findListener(lc.name);
      if (old != nullptr && sameSocket(*old->config, lc)) continue;  // keeps its sockets
    }
    core::Result<core::SocketAddress> at = listenAddress(lc.listen);
    if (!at.ok()) {
      *error = "cannot resolve listen address " + lc.listen.str() + " of listener '" + lc.name +
               "': " + at.error().message();
      return false;
    }
    for (size_t i = 0; i < hubs_.size(); ++i) {
      core::Result<core::Listener> sock = core::Listener::bind(*at);
      if (!sock.ok()) {
        *error = "cannot listen on " + lc.listen.str() + " for listener '" + lc.name +
                 "': " + sock.error().message();
        return false;
      }
      (*fresh)[i].push_back(std::make_unique<ListenerSocket>(
          *hubs_[i], lc.name, lc.protocol, std::move(*sock), registry_->listener(lc.name)));
    }
  }
  return true;
}

void Server::publish(std::shared_ptr<Generation> gen,
                     std::vector<std::vector<std::unique_ptr<ListenerSocket>>> fresh,
                     const std::vector<std::string>& removed) {
  // Background work (health checks, DNS discovery) follows the upstream objects: new ones
  // start, ones no longer used stop; carried-over ones keep running.
  auto contains = [](const Generation* g, const balancer::Upstream* up) {
    if (g == nullptr) return false;
    for (const auto& u : g->upstreams) {
      if (u.get() == up) return true;
    }
    return false;
  };
  // Old ones stop first: they retire their endpoints, whose `up` gauge series the new
  // upstream's endpoints of the same name share, and start() then sets each afresh.
  if (generation_ != nullptr) {
    for (const auto& up : generation_->upstreams) {
      if (!contains(gen.get(), up.get())) up->stop();
    }
  }
  for (const auto& up : gen->upstreams) {
    if (!contains(generation_.get(), up.get())) up->start();
  }
  generation_ = gen;
  generation_number_.store(gen->number, std::memory_order_relaxed);
  AccessLog* log = access_log_.get();
  onEveryHub([&](HubContext& h) {
    for (const auto& name : removed) h.retireListener(name);
    h.publish(gen);
    h.setAccessLog(log);
    for (auto& l : fresh[h.index()]) h.addListener(std::move(l));
  });
}

bool Server::start(std::string* error) {
  std::vector<core::Hub*> hubs;
  for (auto& h : hubs_) hubs.push_back(&h->hub());
  registry_->attachHubs(hubs);
  registry_->setPerEndpointMetrics(config_->admin.per_endpoint_metrics);
  access_log_ = AccessLog::open(config_->access_log, hubs_.size(), error);
  if (access_log_ == nullptr && config_->access_log.path != "off") return false;
  TlsContexts tls;
  if (!core::runBlocking([&] { return loadTlsContexts(*config_, &tls, error); })) return false;
  auto gen = buildGeneration(config_, tls, nullptr, 1, *registry_, hubs, error);
  if (gen == nullptr) return false;
  std::vector<std::vector<std::unique_ptr<ListenerSocket>>> fresh;
  if (!bindListeners(*config_, nullptr, &fresh, error)) return false;
  core::Result<core::SocketAddress> admin_at = listenAddress(config_->admin.listen);
  if (!admin_at.ok()) {
    *error = "cannot resolve admin address " + config_->admin.listen.str();
    return false;
  }
  history_ = std::make_unique<HistorySampler>(*this);
  admin_ = AdminServer::start(*this, *admin_at, error);
  if (admin_ == nullptr) return false;
  publish(gen, std::move(fresh), {});
  history_->start();  // its first round needs the generation in force
  onEveryHub([](HubContext& h) { h.startHousekeeping(); });
  return true;
}

void Server::mainFiber() {
  if (options_.on_start) options_.on_start();
  std::string error;
  if (!start(&error)) {
    std::fprintf(stderr, "greenlb: %s\n", error.c_str());
    exit_code_ = 1;
    return;
  }
  auto signals = core::spawn([this] { signalLoop(); }, "signals");
  ready_.store(true, std::memory_order_relaxed);
  std::fprintf(stderr, "greenlb: serving %zu listener(s) on %zu hub(s); admin on %s\n",
               config_->listeners.size(), hubs_.size(), config_->admin.listen.str().c_str());
  if (options_.on_ready) options_.on_ready();
  while (!drain_requested_.isSet()) {
    if (!drain_requested_.wait().ok()) break;
  }
  drain();
  signals.kill();
  (void)signals.join();
  // The drain is over and the process is on its way out. Ending the signal fiber gave
  // SIGTERM and SIGINT their default action back: a supervisor's repeated signal (or a
  // test's) landing in the teardown would turn a clean exit into "killed by signal 15".
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);
  history_->stop();
  for (const auto& up : generation_->upstreams) up->stop();
}

void Server::signalLoop() {
  core::SignalSet signals({SIGHUP, SIGTERM, SIGINT, SIGUSR1});
  for (;;) {
    core::Result<int> sig = signals.wait();
    if (!sig.ok()) return;
    switch (*sig) {
      case SIGHUP:
        // A SIGHUP during a reload is not dropped (the file may have changed again since
        // that reload read it): one more reload runs after it. Several coalesce.
        if (hup_pending_) break;
        hup_pending_ = true;
        core::spawn([this] {
          while (reloading_) {
            if (!core::sleep(std::chrono::milliseconds(10)).ok()) return;
          }
          hup_pending_ = false;
          std::vector<std::string> errors;
          (void)reload(&errors);
        }, "reload");
        break;
      case SIGUSR1:
        if (access_log_ != nullptr) access_log_->reopen();
        break;
      default:  // SIGTERM, SIGINT
        if (draining()) {
          std::fprintf(stderr, "greenlb: second %s: exiting now, %lld connection(s) cut\n",
                       *sig == SIGINT ? "SIGINT" : "SIGTERM",
                       static_cast<long long>(openConnections()));
          std::fflush(stderr);
          std::_Exit(0);
        }
        requestDrain();
    }
  }
}

void Server::requestDrain() {
  if (draining_.exchange(true)) return;
  ready_.store(false, std::memory_order_relaxed);  // /readyz turns 503 at once
  drain_requested_.set();
}

void Server::drain() {
  draining_.store(true, std::memory_order_relaxed);
  ready_.store(false, std::memory_order_relaxed);
  const conf::GlobalConfig g = config_->global;  // a copy: config_ may not outlive the waits
  std::fprintf(stderr, "greenlb: draining: accepting for %.1fs more, then up to %.1fs for %lld open connection(s)\n",
               core::toSeconds(g.drain_delay), core::toSeconds(g.graceful_timeout),
               static_cast<long long>(openConnections()));
  // From now on every response tells its client to go; idle kept-alive connections stay
  // until the listeners close, so a client that speaks meanwhile is answered, not reset.
  onEveryHub([](HubContext& h) { h.stopKeepAlive(); });
  // Kubernetes keeps sending new connections until endpoint removal has propagated.
  if (g.drain_delay > conf::Duration::zero()) (void)core::sleep(g.drain_delay);
  onEveryHub([](HubContext& h) {
    h.stopListeners();
    h.startDrain();
  });
  core::TimePoint deadline = Clock::now() + g.graceful_timeout;
  while (openConnections() > 0 && Clock::now() < deadline) {
    if (!core::sleep(std::chrono::milliseconds(20)).ok()) break;
  }
  if (int64_t left = openConnections(); left > 0) {
    size_t cut = 0;
    std::mutex mu;
    onEveryHub([&](HubContext& h) {
      size_t n = h.closeAll();
      std::lock_guard<std::mutex> lock(mu);
      cut += n;
    });
    std::fprintf(stderr,
                 "greenlb: graceful timeout: cut %zu request(s) or tunnel(s) still in flight\n",
                 cut);
    for (int i = 0; i < 50 && openConnections() > 0; ++i) {
      if (!core::sleep(std::chrono::milliseconds(20)).ok()) break;
    }
  } else {
    std::fprintf(stderr, "greenlb: drained: every connection finished\n");
  }
  if (access_log_ != nullptr) {
    onEveryHub([this](HubContext& h) { access_log_->flush(h.index()); });
  }
}

bool Server::reload(std::vector<std::string>* errors) {
  if (reloading_) {
    errors->push_back("a reload is already in progress");
    return false;
  }
  reloading_ = true;
  struct Done {
    bool* flag;
    ~Done() { *flag = false; }
  } done{&reloading_};
  auto fail = [&](const std::string& why) {
    errors->push_back(why);
    ReloadOutcome outcome{false, "", unixNow()};
    for (const auto& e : *errors) {
      std::fprintf(stderr, "greenlb: reload failed: %s\n", e.c_str());
      outcome.errors += e + "\n";
    }
    last_reload_ = std::move(outcome);
    registry_->configReloaded(false);
    return false;
  };
  if (options_.config_path.empty()) return fail("the embedded demo config cannot be reloaded");
  if (draining()) {  // not a failed reload: there is nothing left to apply it to
    errors->push_back("draining: the process is shutting down");
    std::fprintf(stderr, "greenlb: reload ignored: draining\n");
    return false;
  }
  std::string path = options_.config_path;
  conf::LoadResult loaded = core::runBlocking([&] { return conf::loadConfigFile(path); });
  if (!loaded.ok()) {
    for (size_t i = 0; i + 1 < loaded.errors.size(); ++i) errors->push_back(loaded.errors[i].str());
    return fail(loaded.errors.empty() ? "invalid config" : loaded.errors.back().str());
  }
  const conf::Config& next = *loaded.config;
  if (next.global.workers != config_->global.workers ||
      next.global.fiber_stack != config_->global.fiber_stack || !(next.admin.listen == config_->admin.listen)) {
    std::fprintf(stderr, "greenlb: reload: [global] workers/fiber_stack and [admin] listen take "
                         "effect at the next restart\n");
  }
  std::string error;
  TlsContexts tls;  // certificates are re-read on every reload
  if (!core::runBlocking([&] { return loadTlsContexts(next, &tls, &error); })) return fail(error);
  std::vector<core::Hub*> hubs;
  for (auto& h : hubs_) hubs.push_back(&h->hub());
  auto gen = buildGeneration(loaded.config, tls, generation_.get(), generation_->number + 1,
                             *registry_, hubs, &error);
  if (gen == nullptr) return fail(error);
  std::vector<std::vector<std::unique_ptr<ListenerSocket>>> fresh;
  if (!bindListeners(next, generation_.get(), &fresh, &error)) return fail(error);
  std::vector<std::string> removed;
  for (const auto& old : config_->listeners) {
    const conf::ListenerConfig* kept = next.findListener(old.name);
    if (kept == nullptr || !sameSocket(old, *kept)) removed.push_back(old.name);
  }
  std::unique_ptr<AccessLog> old_log;
  if (!(next.access_log == config_->access_log)) {
    std::unique_ptr<AccessLog> log = AccessLog::open(next.access_log, hubs_.size(), &error);
    if (log == nullptr && next.access_log.path != "off") return fail(error);
    old_log = std::move(access_log_);
    access_log_ = std::move(log);
  }
  publish(gen, std::move(fresh), removed);
  old_log.reset();  // no hub writes to it any more: flushes what it still holds
  config_ = loaded.config;
  max_connections_.store(static_cast<int64_t>(next.global.max_connections),
                         std::memory_order_relaxed);
  registry_->setPerEndpointMetrics(next.admin.per_endpoint_metrics);
  registry_->configReloaded(true);
  last_reload_ = ReloadOutcome{true, "", unixNow()};
  std::fprintf(stderr, "greenlb: reloaded %s (generation %llu)\n", path.c_str(),
               static_cast<unsigned long long>(gen->number));
  return true;
}

}  // namespace greenlb::proxy
