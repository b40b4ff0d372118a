// The admin listener's status page at / (docs/observability.md, "Status page"): one
// self-contained HTML document (no CDN, works offline) whose script polls /status and
// /status/history once a second and draws the last 15 minutes. Its sources are the files
// in status_page/, inlined into one document at build time.
#pragma once

#include <string_view>

namespace greenlb::proxy {

std::string_view statusPageHtml();

}  // namespace greenlb::proxy
