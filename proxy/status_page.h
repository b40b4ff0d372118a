// The admin listener's HTML status page: self-contained (no CDN, works offline), it polls
// /status every two seconds and shows listeners, upstreams and endpoints with their health
// and request rates (computed from the change in the totals between polls).
#pragma once

#include <string_view>

namespace greenlb::proxy {

std::string_view statusPageHtml();

}  // namespace greenlb::proxy
