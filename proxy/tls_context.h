// TLS settings and certificates, loaded from files off the hubs (at startup and on every
// reload, so a reload re-reads them) and then shared read-only by every hub:
//  - ServerTlsContext: a TLS listener's certificates, chosen per connection by SNI against
//    each certificate's names (exact, then wildcard; the first certificate otherwise),
//    TLS 1.2+ (min_version), AEAD-only TLS 1.2 ciphers unless configured, ALPN, and
//    stateless session tickets with rotating keys (tls_ticket_keys.h).
//  - ClientTlsContext: TLS to an upstream: verification against `ca`, SNI and the name
//    checked, optional client certificate (mTLS).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "core/time.h"
#include "proxy/tls_transport.h"

namespace greenlb::proxy {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

struct CertificateInfo {
  std::string name;        // its first DNS name (else subject CN, else the file)
  double not_after = 0;    // expiry, Unix seconds
};

class ServerTlsContext {
 public:
  // Loads every certificate of `tls`; nullptr and the reason (naming `listener` and the
  // file) when one cannot be used.
  static std::shared_ptr<const ServerTlsContext> load(const conf::ListenerTls& tls,
                                                      const std::string& listener,
                                                      std::string* error);

  // A server session for an accepted connection (its handshake picks the certificate).
  SslPtr newSession() const;
  // The certificate for a client's server name: exact name, then wildcard, else 0.
  size_t select(std::string_view server_name) const;
  const std::vector<CertificateInfo>& certificates() const { return infos_; }

 private:
  ServerTlsContext() = default;
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  std::vector<SslCtxPtr> contexts_;              // one per certificate; [0] the default
  std::vector<std::vector<std::string>> names_;  // each certificate's DNS names, lowercase
  std::vector<CertificateInfo> infos_;
  std::vector<unsigned char> alpn_;              // wire format, our order of preference
};

class ClientTlsContext {
 public:
  // `http2`: offer (and require) "h2" by ALPN.
  static std::shared_ptr<const ClientTlsContext> load(const conf::UpstreamTls& tls,
                                                      const std::string& upstream, bool http2,
                                                      std::string* error);

  // A client session to the endpoint `endpoint` ("host:port", "[v6]:port"): SNI is `sni`
  // or the endpoint's host when it is a name; that name (or the IP) is verified.
  SslPtr newSession(std::string_view endpoint) const;
  // A new session's handshake over the connected `socket`, bounded by the caller's
  // Timeouts. Verification failures are errors (EPROTO). A failure's reason (OpenSSL's,
  // with the certificate verification result) is logged, at most once per
  // kFailureLogInterval per upstream: a misconfigured CA fails every request.
  core::Result<std::unique_ptr<TlsTransport>> handshake(std::string_view endpoint,
                                                       core::Stream& socket) const;

  static constexpr core::Duration kFailureLogInterval = std::chrono::seconds(10);

 private:
  ClientTlsContext() = default;
  void logFailure(std::string_view endpoint, TlsTransport& tls, const core::Error& e) const;

  SslCtxPtr ctx_;
  std::string upstream_;
  std::string sni_;
  bool verify_ = true;
  mutable std::atomic<int64_t> next_log_ns_{0};  // steady clock; hubs race for it
};

// Every TLS context one Config needs, by listener and upstream name.
struct TlsContexts {
  std::map<std::string, std::shared_ptr<const ServerTlsContext>> listeners;
  std::map<std::string, std::shared_ptr<const ClientTlsContext>> upstreams;
};

// Reads the certificate, key and CA files of `config` (blocking file I/O: call it off the
// hubs, e.g. through core::runBlocking). False and every problem, one per line, in `error`.
bool loadTlsContexts(const conf::Config& config, TlsContexts* out, std::string* error);

}  // namespace greenlb::proxy
