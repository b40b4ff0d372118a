// TLS session ticket keys that rotate without shared mutable state.
//
// Resumption with tickets keeps no per-session state on the server, so it works across hubs
// and needs no session cache (and its lock). The keys must rotate, or one stolen key
// decrypts every past session. Instead of a key list that a timer rotates (and every hub
// reads under a lock), each hour's keys are derived from one random process secret:
// key(hour) = HMAC-SHA256(secret, hour, purpose). Any hub computes the same keys on its own
// (cached per thread), a ticket is issued under the current hour's keys and accepted under
// the previous hour's too (then renewed), so a ticket lives at most two hours.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

namespace greenlb::proxy {

// Installs the rotating ticket keys on `ctx` (server contexts only).
void installTicketKeys(SSL_CTX* ctx);

// Seconds a ticket stays valid (the session timeout to set on the context).
inline constexpr long kTicketLifetimeSeconds = 2 * 3600;

}  // namespace greenlb::proxy
