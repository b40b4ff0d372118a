#include "proxy/upstream_pool.h"

#include "core/hub.h"
#include "metrics/families.h"
#include "proxy/h2/upstream_session.h"

namespace greenlb::proxy {

void UpstreamConnection::onIdleReadable(core::Socket&) {
  // An idle upstream connection only becomes readable when the upstream closes it (or
  // sends something unasked): either way it is of no further use.
  pool_->drop(this);
}

void UpstreamConnection::onIdleTimeout(core::Socket&) { pool_->drop(this); }

EndpointPool::EndpointPool(uint32_t max_idle, core::Duration idle_timeout,
                           metrics::UpstreamMetrics* metrics, size_t hub)
    : max_idle_(max_idle), idle_timeout_(idle_timeout), metrics_(metrics), hub_(hub) {}

EndpointPool::~EndpointPool() { close(); }

std::unique_ptr<UpstreamConnection> EndpointPool::take(const core::SocketAddress& proxied_for) {
  for (UpstreamConnection* c = head_; c != nullptr;) {
    UpstreamConnection* next = c->next_;
    if (c->proxied_for_ == proxied_for) {
      unlink(c);
      c->stream_.unwatchIdle();
      std::unique_ptr<UpstreamConnection> out(c);
      // Readiness since it was pooled (an edge the idle watcher has not been told of yet)
      // means unasked bytes or a close: never reused.
      if (out->stream_.quiet()) return out;
    }
    c = next;
  }
  return nullptr;
}

void EndpointPool::give(std::unique_ptr<UpstreamConnection> c) {
  // Only a quiet connection: the caller checked that its response ended exactly at its
  // framing with nothing pending behind it (docs/security.md).
  if (closed_ || max_idle_ == 0 || !c->stream_.valid() || !c->stream_.quiet()) return;
  if (idle_ >= max_idle_) {
    // Full. A connection that sent a PROXY header serves only its client: it replaces the
    // coldest idle one, so that clients gone for good do not keep the pool full of
    // connections nobody else may use until they time out.
    if (c->proxied_for_.length == 0 || head_ == nullptr) return;
    UpstreamConnection* coldest = head_;
    while (coldest->next_ != nullptr) coldest = coldest->next_;
    drop(coldest);
  }
  UpstreamConnection* raw = c.release();
  raw->prev_ = nullptr;
  raw->next_ = head_;
  if (head_ != nullptr) head_->prev_ = raw;
  head_ = raw;
  ++idle_;
  metrics_->pool_idle.add(hub_, 1);
  raw->stream_.watchIdle(raw, idle_timeout_);
}

void EndpointPool::unlink(UpstreamConnection* c) {
  if (c->prev_ != nullptr) {
    c->prev_->next_ = c->next_;
  } else {
    head_ = c->next_;
  }
  if (c->next_ != nullptr) c->next_->prev_ = c->prev_;
  c->next_ = c->prev_ = nullptr;
  --idle_;
  metrics_->pool_idle.add(hub_, -1);
}

void EndpointPool::drop(UpstreamConnection* c) {
  unlink(c);
  delete c;
}

void EndpointPool::close() {
  closed_ = true;
  while (head_ != nullptr) drop(head_);
  // HTTP/2 sessions end with their readers: closing their sockets wakes them. A pool only
  // goes when no request uses it (no stream is left), and at hub shutdown every fiber is
  // already gone.
  for (auto& s : h2_) s->close();
  if (core::Hub* hub = core::Hub::current(); hub != nullptr && hub->currentFiber() != nullptr) {
    for (auto& s : h2_) {
      while (!s->readerDone()) core::yield();
    }
  }
  h2_.clear();
}

H2UpstreamSession* EndpointPool::h2Session() {
  H2UpstreamSession* best = nullptr;
  for (auto& s : h2_) {
    if (!s->hasRoom()) continue;
    if (best == nullptr || s->streams() < best->streams()) best = s.get();
  }
  return best;
}

H2UpstreamSession& EndpointPool::addH2Session(std::unique_ptr<H2UpstreamSession> s) {
  h2_.push_back(std::move(s));
  return *h2_.back();
}

void EndpointPool::h2SessionEnded(H2UpstreamSession* s) {
  if (closed_ || !s->finished()) return;  // close() takes the rest
  for (size_t i = 0; i < h2_.size(); ++i) {
    if (h2_[i].get() != s) continue;
    h2_[i] = std::move(h2_.back());
    h2_.pop_back();
    return;
  }
}

}  // namespace greenlb::proxy
