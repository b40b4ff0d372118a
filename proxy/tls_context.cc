#include "proxy/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "proxy/tls_ticket_keys.h"

namespace greenlb::proxy {

namespace {

// Mozilla's "intermediate" TLS 1.2 suites: forward secret AEAD only (no RSA key exchange,
// no CBC). TLS 1.3 suites are OpenSSL's defaults (all AEAD).
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// What OpenSSL said last, and an empty error queue for whoever comes next.
std::string opensslReason() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Settings every context shares: partial and moving writes (TlsTransport), buffers freed
// while a connection idles (an idle keep-alive connection keeps no 34 KiB of TLS buffers,
// as in nginx), no renegotiation.
void commonSettings(SSL_CTX* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
}

std::vector<std::string> dnsNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = n->d.dNSName;
      names.push_back(lowercase(std::string_view(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
          static_cast<size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {  // no SAN: the subject's common name, as clients used to check
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                  sizeof cn) > 0) {
      names.push_back(lowercase(cn));
    }
  }
  return names;
}

double notAfter(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<double>(timegm(&tm));
}

// "host:port" / "[v6]:port" -> host.
std::string_view hostOf(std::string_view endpoint) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    size_t close = endpoint.find(']');
    return close == std::string_view::npos ? endpoint : endpoint.substr(1, close - 1);
  }
  size_t colon = endpoint.rfind(':');
  return colon == std::string_view::npos ? endpoint : endpoint.substr(0, colon);
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::shared_ptr<const ServerTlsContext> ServerTlsContext::load(const conf::ListenerTls& tls,
                                                               const std::string& listener,
                                                               std::string* error) {
  std::shared_ptr<ServerTlsContext> out(new ServerTlsContext());
  for (const std::string& proto : tls.alpn) {
    out->alpn_.push_back(static_cast<unsigned char>(proto.size()));
    out->alpn_.insert(out->alpn_.end(), proto.begin(), proto.end());
  }
  const std::string where = "listener \"" + listener + "\": ";
  ERR_clear_error();
  for (const conf::CertificateConfig& c : tls.certificates) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (ctx == nullptr) {
      *error = where + opensslReason();
      return nullptr;
    }
    commonSettings(ctx.get());
    SSL_CTX_set_min_proto_version(ctx.get(), tls.min_version == conf::TlsVersion::v1_3
                                                 ? TLS1_3_VERSION
                                                 : TLS1_2_VERSION);
    // Clients often close without close_notify once they have their response: their EOF
    // is an end, not an attack. Upstream contexts keep OpenSSL's default, where a missing
    // close_notify is an error: an until-close body cut short must not look complete.
    SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    const std::string ciphers = tls.ciphers.empty() ? kDefaultCiphers : tls.ciphers;
    if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
      *error = where + "ciphers \"" + ciphers + "\": " + opensslReason();
      return nullptr;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1) {
      *error = where + "certificate " + c.cert + ": " + opensslReason();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      if (ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
        *error = where + "key " + c.key + ": " + opensslReason();
        return nullptr;
      }
      ERR_clear_error();
      *error = where + "key " + c.key + " does not match certificate " + c.cert;
      return nullptr;
    }
    // Sessions resume only on the listener that issued them.
    const auto* id = reinterpret_cast<const unsigned char*>(listener.data());
    SSL_CTX_set_session_id_context(ctx.get(), id,
                                   static_cast<unsigned>(std::min<size_t>(listener.size(),
                                                                          SSL_MAX_SID_CTX_LENGTH)));
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);  // stateless tickets only
    installTicketKeys(ctx.get());
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx.get(), out.get());
    SSL_CTX_set_alpn_select_cb(ctx.get(), onAlpn, out.get());

    X509* leaf = SSL_CTX_get0_certificate(ctx.get());
    std::vector<std::string> names = dnsNames(leaf);
    CertificateInfo info{names.empty() ? c.cert : names.front(), notAfter(leaf)};
    out->names_.push_back(std::move(names));
    out->infos_.push_back(std::move(info));
    out->contexts_.push_back(std::move(ctx));
  }
  if (out->contexts_.empty()) {
    *error = where + "TLS without certificates";
    return nullptr;
  }
  return out;
}

SslPtr ServerTlsContext::newSession() const {
  SslPtr ssl(SSL_new(contexts_.front().get()));
  if (ssl != nullptr) SSL_set_accept_state(ssl.get());
  return ssl;
}

size_t ServerTlsContext::select(std::string_view server_name) const {
  if (server_name.empty()) return 0;
  std::string name = lowercase(server_name);
  for (size_t i = 0; i < names_.size(); ++i) {
    for (const std::string& n : names_[i]) {
      if (n == name) return i;
    }
  }
  // "*.example.com" covers exactly one label: a.example.com, not a.b.example.com.
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return 0;
  std::string_view parent = std::string_view(name).substr(dot);
  for (size_t i = 0; i < names_.size(); ++i) {
    for (const std::string& n : names_[i]) {
      if (n.size() > 2 && n[0] == '*' && n[1] == '.' && std::string_view(n).substr(1) == parent) {
        return i;
      }
    }
  }
  return 0;
}

int ServerTlsContext::onServerName(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerTlsContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  size_t i = self->select(name);
  if (i != 0) SSL_set_SSL_CTX(ssl, self->contexts_[i].get());
  return SSL_TLSEXT_ERR_OK;
}

int ServerTlsContext::onAlpn(SSL*, const unsigned char** out, unsigned char* outlen,
                             const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* self = static_cast<const ServerTlsContext*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, self->alpn_.data(),
                            static_cast<unsigned>(self->alpn_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    // No protocol in common: go on without ALPN (as nginx does for HTTP/1.1) rather than
    // failing a client that would speak HTTP/1.1 anyway.
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<const ClientTlsContext> ClientTlsContext::load(const conf::UpstreamTls& tls,
                                                               const std::string& upstream,
                                                               bool http2, std::string* error) {
  std::shared_ptr<ClientTlsContext> out(new ClientTlsContext());
  out->upstream_ = upstream;
  const std::string where = "upstream \"" + upstream + "\": ";
  ERR_clear_error();
  out->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = out->ctx_.get();
  if (ctx == nullptr) {
    *error = where + opensslReason();
    return nullptr;
  }
  commonSettings(ctx);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // What the upstream is asked to speak: HTTP/2 upstreams must agree to h2 (docs/grpc.md).
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static const unsigned char kH2[] = {2, 'h', '2'};
  if (http2) {
    SSL_CTX_set_alpn_protos(ctx, kH2, sizeof kH2);
  } else {
    SSL_CTX_set_alpn_protos(ctx, kHttp11, sizeof kHttp11);
  }
  out->verify_ = tls.verify;
  out->sni_ = tls.sni;
  if (tls.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = tls.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                            : SSL_CTX_load_verify_file(ctx, tls.ca.c_str());
    if (ok != 1) {
      *error = where + "ca " + tls.ca + ": " + opensslReason();
      return nullptr;
    }
  }
  if (!tls.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert.c_str()) != 1) {
      *error = where + "client certificate " + tls.cert + ": " + opensslReason();
      return nullptr;
    }
    const std::string& key = tls.key.empty() ? tls.cert : tls.key;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = where + "client key " + key + ": " + opensslReason();
      return nullptr;
    }
  }
  return out;
}

SslPtr ClientTlsContext::newSession(std::string_view endpoint) const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (ssl == nullptr) return ssl;
  SSL_set_connect_state(ssl.get());
  std::string host = sni_.empty() ? std::string(hostOf(endpoint)) : sni_;
  if (isIpLiteral(host)) {
    // No SNI for an address (RFC 6066); verification checks the certificate's IP SANs.
    if (verify_) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    if (verify_) SSL_set1_host(ssl.get(), host.c_str());
  }
  return ssl;
}

core::Result<std::unique_ptr<TlsTransport>> ClientTlsContext::handshake(
    std::string_view endpoint, core::Stream& socket) const {
  SslPtr ssl = newSession(endpoint);
  if (ssl == nullptr) return core::Error{ENOMEM};
  auto tls = std::make_unique<TlsTransport>(std::move(ssl), socket);
  core::Status st = tls->handshake();
  if (!st.ok()) {
    if (!st.error().cancelled()) logFailure(endpoint, *tls, st.error());
    return st.error();
  }
  return tls;
}

void ClientTlsContext::logFailure(std::string_view endpoint, TlsTransport& tls,
                                  const core::Error& e) const {
  int64_t now = core::Clock::now().time_since_epoch().count();
  int64_t next = next_log_ns_.load(std::memory_order_relaxed);
  if (now < next) return;
  int64_t then = now + std::chrono::duration_cast<core::Duration>(kFailureLogInterval).count();
  if (!next_log_ns_.compare_exchange_strong(next, then, std::memory_order_relaxed)) return;
  std::string why = e.timedOut() ? std::string("timed out") : tls.why();
  long verify = SSL_get_verify_result(tls.ssl());
  if (verify != X509_V_OK) {
    why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
  }
  std::fprintf(stderr,
               "greenlb: upstream '%s': TLS handshake with %.*s failed: %s (further failures "
               "within %llds not logged)\n",
               upstream_.c_str(), static_cast<int>(endpoint.size()), endpoint.data(), why.c_str(),
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::seconds>(kFailureLogInterval).count()));
}

bool loadTlsContexts(const conf::Config& config, TlsContexts* out, std::string* error) {
  std::string problems;
  for (const conf::ListenerConfig& l : config.listeners) {
    if (!l.tls) continue;
    std::string why;
    if (auto ctx = ServerTlsContext::load(*l.tls, l.name, &why)) {
      out->listeners[l.name] = std::move(ctx);
    } else {
      problems += (problems.empty() ? "" : "\n") + why;
    }
  }
  for (const conf::UpstreamConfig& u : config.upstreams) {
    if (!u.tls) continue;
    std::string why;
    conf::UpstreamTls tls = *u.tls;
    // Endpoints found by DNS discovery are addresses; the service's name is what its
    // certificate carries.
    if (tls.sni.empty() && u.dns && !u.dns->is_ip) tls.sni = u.dns->host;
    if (auto ctx = ClientTlsContext::load(tls, u.name,
                                          u.protocol == conf::UpstreamProtocol::http2, &why)) {
      out->upstreams[u.name] = std::move(ctx);
    } else {
      problems += (problems.empty() ? "" : "\n") + why;
    }
  }
  if (problems.empty()) return true;
  *error = problems;
  return false;
}

}  // namespace greenlb::proxy
