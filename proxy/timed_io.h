// Reads and writes over a Transport bounded by a progress timeout: each wait for readiness
// may last at most `timeout` (zero = no bound). The Timeout is armed only when the call
// must wait, so the common case (data already there, buffer space free) costs no timer.
#pragma once

#include <sys/uio.h>

#include "core/result.h"
#include "core/time.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

// Reads what is available (0 = end of stream); ETIMEDOUT when nothing came within timeout.
core::Result<size_t> readTimed(Transport& t, void* buf, size_t len, core::Duration timeout);
// Writes everything; ETIMEDOUT when the peer accepted nothing for `timeout`.
core::Status writeTimed(Transport& t, const void* buf, size_t len, core::Duration timeout);
// `written` (optional) gets how many bytes went out, also when the write failed part way:
// whether anything reached the peer at all.
core::Status writevTimed(Transport& t, iovec* iov, int count, core::Duration timeout,
                         size_t* written = nullptr);

}  // namespace greenlb::proxy
