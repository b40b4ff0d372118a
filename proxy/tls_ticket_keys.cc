#include "proxy/tls_ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <initializer_list>

namespace greenlb::proxy {

namespace {

constexpr long kRotationSeconds = kTicketLifetimeSeconds / 2;

struct Keys {
  uint64_t period = UINT64_MAX;
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
};

// The process secret: random, made once, before any hub runs a handshake (contexts are
// built at startup or on reload, and installTicketKeys touches it first).
const unsigned char* secret() {
  static const auto* s = [] {
    static unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: nothing is safe
    return bytes;
  }();
  return s;
}

void derive(uint64_t period, unsigned char purpose, unsigned char* out, size_t len) {
  unsigned char input[9];
  std::memcpy(input, &period, sizeof period);
  input[8] = purpose;
  unsigned char mac[32];
  size_t mac_len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret(), 32, input, sizeof input, mac,
            sizeof mac, &mac_len);
  std::memcpy(out, mac, len);
}

const Keys& keysFor(uint64_t period) {
  thread_local Keys cache[2];  // the two periods a hub is asked about
  Keys& slot = cache[period & 1];
  if (slot.period != period) {
    derive(period, 'n', slot.name, sizeof slot.name);
    derive(period, 'a', slot.aes, sizeof slot.aes);
    derive(period, 'h', slot.hmac, sizeof slot.hmac);
    slot.period = period;
  }
  return slot;
}

bool initCipherAndMac(const Keys& k, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int enc) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv, enc) != 1) return false;
  return EVP_MAC_init(mac, k.hmac, sizeof k.hmac, params) == 1;
}

// SSL_CTX_set_tlsext_ticket_key_evp_cb: 1 = use these keys, 2 = accepted but issue a new
// ticket, 0 = unknown key (full handshake), -1 = error. A new ticket goes to TLS 1.2
// clients holding an old period's ticket, and to every resumed TLS 1.3 client: OpenSSL
// sends none after a 1.3 resumption unless asked, and 1.3 clients use a ticket once
// (RFC 8446 C.4), so without it every other connection would be a full handshake.
int ticketKeyCallback(SSL* ssl, unsigned char name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  uint64_t now = static_cast<uint64_t>(std::time(nullptr)) / kRotationSeconds;
  if (enc == 1) {
    const Keys& k = keysFor(now);
    std::memcpy(name, k.name, sizeof k.name);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    return initCipherAndMac(k, iv, cipher, mac, 1) ? 1 : -1;
  }
  for (uint64_t period : {now, now - 1}) {
    const Keys& k = keysFor(period);
    if (std::memcmp(name, k.name, sizeof k.name) != 0) continue;
    if (!initCipherAndMac(k, iv, cipher, mac, 0)) return -1;
    return period == now && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
  }
  return 0;
}

}  // namespace

void installTicketKeys(SSL_CTX* ctx) {
  (void)secret();
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketKeyCallback);
  SSL_CTX_set_timeout(ctx, kTicketLifetimeSeconds);
}

}  // namespace greenlb::proxy
