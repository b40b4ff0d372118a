#include "proxy/upstream_pool.h"

#include "metrics/families.h"

namespace greenlb::proxy {

void UpstreamConnection::onIdleReadable(core::Socket&) {
  // An idle upstream connection only becomes readable when the upstream closes it (or
  // sends something unasked): either way it is of no further use.
  pool_->drop(this);
}

void UpstreamConnection::onIdleTimeout(core::Socket&) { pool_->drop(this); }

EndpointPool::~EndpointPool() { close(); }

std::unique_ptr<UpstreamConnection> EndpointPool::take() {
  while (UpstreamConnection* c = head_) {
    head_ = c->next_;
    if (head_ != nullptr) head_->prev_ = nullptr;
    c->next_ = c->prev_ = nullptr;
    --idle_;
    metrics_->pool_idle.add(hub_, -1);
    c->stream_.unwatchIdle();
    std::unique_ptr<UpstreamConnection> out(c);
    // Readiness since it was pooled (an edge the idle watcher has not been told of yet)
    // means unasked bytes or a close: never reused.
    if (out->stream_.quiet()) return out;
  }
  return nullptr;
}

void EndpointPool::give(std::unique_ptr<UpstreamConnection> c) {
  // Only a quiet connection: the caller checked that its response ended exactly at its
  // framing with nothing pending behind it (docs/security.md).
  if (closed_ || idle_ >= max_idle_ || !c->stream_.valid() || !c->stream_.quiet()) return;
  UpstreamConnection* raw = c.release();
  raw->prev_ = nullptr;
  raw->next_ = head_;
  if (head_ != nullptr) head_->prev_ = raw;
  head_ = raw;
  ++idle_;
  metrics_->pool_idle.add(hub_, 1);
  raw->stream_.watchIdle(raw, idle_timeout_);
}

void EndpointPool::drop(UpstreamConnection* c) {
  if (c->prev_ != nullptr) {
    c->prev_->next_ = c->next_;
  } else {
    head_ = c->next_;
  }
  if (c->next_ != nullptr) c->next_->prev_ = c->prev_;
  --idle_;
  metrics_->pool_idle.add(hub_, -1);
  delete c;
}

void EndpointPool::close() {
  closed_ = true;
  while (head_ != nullptr) drop(head_);
}

}  // namespace greenlb::proxy
