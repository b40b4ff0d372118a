#include "proxy/hub_context.h"

#include <algorithm>

#include "core/timeout.h"
#include "proxy/access_log.h"
#include "proxy/client_connection.h"
#include "proxy/h2/server_session.h"
#include "proxy/listener_socket.h"
#include "proxy/server.h"

namespace greenlb::proxy {

namespace {
// How often a hub frees pools of departed endpoints, deletes finished listener sockets and
// hands its access-log lines to the writer.
constexpr core::Duration kHousekeepingInterval = std::chrono::milliseconds(200);
constexpr int kSweepEvery = 25;  // housekeeping rounds per pool/listener sweep (5 s)
}  // namespace

HubContext::HubContext(Server& server, size_t index, core::Hub& hub)
    : server_(&server), index_(index), hub_(hub) {}

HubContext::HubContext(size_t index, core::Hub& hub) : server_(nullptr), index_(index), hub_(hub) {}

HubContext::~HubContext() {
  for (auto& e : pools_) {
    for (auto& ep : e.endpoints) ep->hubState(index_) = nullptr;
  }
}

void HubContext::publish(std::shared_ptr<Generation> g) {
  if (current_ != nullptr && current_->users(index_) > 0) retired_.push_back(current_);
  current_ = std::move(g);
  for (auto& l : listeners_) l->published(current_);
}

void HubContext::retire(Generation* g) {
  auto it = std::find_if(retired_.begin(), retired_.end(),
                         [g](const std::shared_ptr<Generation>& r) { return r.get() == g; });
  if (it != retired_.end()) retired_.erase(it);
}

EndpointPool& HubContext::attachPool(balancer::Upstream& up, balancer::Endpoint& ep) {
  const conf::UpstreamConfig& uc = up.config();
  const conf::PoolConfig& pc = uc.pool;
  PoolEntry* entry = nullptr;
  for (PoolEntry& e : pools_) {
    if (e.upstream == uc.name && e.address == ep.address() && e.tls == uc.tls &&
        e.protocol == uc.protocol) {
      entry = &e;
    }
  }
  if (entry == nullptr) {
    pools_.push_back(PoolEntry{uc.name, ep.address(), uc.tls, uc.protocol,
                               std::make_unique<EndpointPool>(pc.max_idle_per_endpoint,
                                                              pc.idle_timeout, &up.metrics(),
                                                              index_),
                               {}});
    entry = &pools_.back();
  }
  entry->pool->configure(pc.max_idle_per_endpoint, pc.idle_timeout);
  // The slot is set only for an endpoint this hub can hold on to (one of its current
  // membership), so the sweep can clear it before the endpoint goes.
  for (const auto& e : up.hubEndpoints(index_).endpoints) {
    if (e.get() == &ep) {
      entry->endpoints.push_back(e);
      ep.hubState(index_) = entry->pool.get();
    }
  }
  return *entry->pool;
}

void HubContext::sweepPools() {
  // Requests hold raw Endpoint pointers: a pool a request pins keeps its endpoints.
  for (size_t i = 0; i < pools_.size();) {
    PoolEntry& e = pools_[i];
    if (e.pool->pins() == 0) {
      std::erase_if(e.endpoints, [this](const std::shared_ptr<balancer::Endpoint>& ep) {
        if (!ep->retired()) return false;
        ep->hubState(index_) = nullptr;
        return true;
      });
      if (e.endpoints.empty()) {
        pools_[i] = std::move(pools_.back());
        pools_.pop_back();
        continue;
      }
    }
    ++i;
  }
}

ListenerSocket* HubContext::findListener(const std::string& name) {
  for (auto& l : listeners_) {
    if (l->name() == name) return l.get();
  }
  return nullptr;
}

void HubContext::addListener(std::unique_ptr<ListenerSocket> l) {
  l->start();
  listeners_.push_back(std::move(l));
}

void HubContext::retireListener(const std::string& name) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i]->name() != name) continue;
    ListenerSocket* gone = listeners_[i].get();
    gone->stop();
    // Its idle kept-alive connections close now; busy ones after their response, which
    // says Connection: close (docs/operations.md#drain).
    for (ClientConnection* c = connections_; c != nullptr;) {
      ClientConnection* next = c->next;
      if (&c->listener() == gone) c->closeIfDormant();
      c = next;
    }
    drainHttp2(gone);
    retired_listeners_.push_back(std::move(listeners_[i]));
    listeners_.erase(listeners_.begin() + static_cast<ptrdiff_t>(i));
    return;
  }
}

void HubContext::stopListeners() {
  for (auto& l : listeners_) l->stop();
}

namespace {

// The hub's intrusive lists (members `prev` and `next`).
template <class T>
void pushFront(T*& head, T* x) {
  x->prev = nullptr;
  x->next = head;
  if (head != nullptr) head->prev = x;
  head = x;
}

template <class T>
void unlink(T*& head, T* x) {
  if (x->prev != nullptr) {
    x->prev->next = x->next;
  } else {
    head = x->next;
  }
  if (x->next != nullptr) x->next->prev = x->prev;
}

}  // namespace

void HubContext::addConnection(ClientConnection* c) {
  pushFront(connections_, c);
  ++connection_count_;
}

void HubContext::removeConnection(ClientConnection* c) {
  unlink(connections_, c);
  --connection_count_;
  if (server_ != nullptr) server_->connectionClosed();
}

void HubContext::stopKeepAlive() {
  draining_ = true;
  // HTTP/2 connections are told at once (GOAWAY); HTTP/1.1 ones on their next response.
  drainHttp2(nullptr);
}

void HubContext::startDrain() {
  draining_ = true;
  for (ClientConnection* c = connections_; c != nullptr;) {
    ClientConnection* next = c->next;
    c->closeIfDormant();
    c = next;
  }
  drainHttp2(nullptr);
}

void HubContext::addHttp2(H2ServerSession* s) { pushFront(h2_sessions_, s); }

void HubContext::removeHttp2(H2ServerSession* s) { unlink(h2_sessions_, s); }

void HubContext::drainHttp2(const ListenerSocket* listener) {
  // drain() only queues frames and starts a timer fiber: the list does not change under us.
  for (H2ServerSession* s = h2_sessions_; s != nullptr; s = s->next) {
    if (listener == nullptr || &s->connection().listener() == listener) s->drain();
  }
}

size_t HubContext::closeAll() {
  size_t n = 0;
  for (ClientConnection* c = connections_; c != nullptr;) {
    ClientConnection* next = c->next;
    if (!c->closeIfDormant()) {
      c->abort();  // its fiber's I/O fails and it unwinds
      ++n;
    }
    c = next;
  }
  return n;
}

void HubContext::startHousekeeping() {
  housekeeping_ = hub_.spawn(
      [this] {
        for (int round = 1;; ++round) {
          if (!core::sleep(kHousekeepingInterval).ok()) return;
          if (access_log_ != nullptr) access_log_->flush(index_);
          if (round % kSweepEvery != 0) continue;
          sweepPools();
          buffers_.trim();
          for (size_t i = 0; i < retired_listeners_.size();) {
            if (retired_listeners_[i]->connections == 0) {
              retired_listeners_.erase(retired_listeners_.begin() + static_cast<ptrdiff_t>(i));
              continue;
            }
            ++i;
          }
        }
      },
      "housekeeping");
}

}  // namespace greenlb::proxy
