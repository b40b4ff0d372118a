#include "proxy/http/header_names.h"

#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {

HeaderId headerId(std::string_view name) {
  // Dispatch on length first: most names then need no comparison at all.
  switch (name.size()) {
    case 2:
      if (equalsIgnoreCase(name, "te")) return HeaderId::te;
      break;
    case 4:
      if (equalsIgnoreCase(name, "host")) return HeaderId::host;
      break;
    case 6:
      if (equalsIgnoreCase(name, "expect")) return HeaderId::expect;
      break;
    case 7:
      if (equalsIgnoreCase(name, "upgrade")) return HeaderId::upgrade;
      if (equalsIgnoreCase(name, "trailer")) return HeaderId::trailer;
      break;
    case 10:
      if (equalsIgnoreCase(name, "connection")) return HeaderId::connection;
      if (equalsIgnoreCase(name, "keep-alive")) return HeaderId::keep_alive;
      break;
    case 12:
      if (equalsIgnoreCase(name, "x-request-id")) return HeaderId::x_request_id;
      break;
    case 14:
      if (equalsIgnoreCase(name, "content-length")) return HeaderId::content_length;
      break;
    case 15:
      if (equalsIgnoreCase(name, "x-forwarded-for")) return HeaderId::x_forwarded_for;
      break;
    case 16:
      if (equalsIgnoreCase(name, "proxy-connection")) return HeaderId::proxy_connection;
      if (equalsIgnoreCase(name, "x-forwarded-host")) return HeaderId::x_forwarded_host;
      break;
    case 17:
      if (equalsIgnoreCase(name, "transfer-encoding")) return HeaderId::transfer_encoding;
      if (equalsIgnoreCase(name, "x-forwarded-proto")) return HeaderId::x_forwarded_proto;
      break;
    default:
      break;
  }
  return HeaderId::other;
}

bool isHopByHop(HeaderId id) {
  switch (id) {
    case HeaderId::connection:
    case HeaderId::keep_alive:
    case HeaderId::proxy_connection:
    case HeaderId::te:
    case HeaderId::trailer:
    case HeaderId::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace greenlb::proxy::http
