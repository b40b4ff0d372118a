#include "proxy/status_page.h"

namespace greenlb::proxy {

std::string_view statusPageHtml() {
  // Generated from status_page/ at build time (status_page/embed.cmake).
  static constexpr std::string_view kPage =
#include "status_page.html.inc"
      ;
  return kPage;
}

}  // namespace greenlb::proxy
