// `protocol = "tcp"` listeners (docs/proxying.md, "Tunnels"): an L4 tunnel from each client
// connection to an endpoint of the listener's upstream, spliced in both directions until
// either side closes or tunnel_idle passes. A connect failure tries another endpoint.
#pragma once

namespace greenlb::proxy {

class ClientConnection;

// Serves the connection to its end (the caller then deletes it).
void serveTcp(ClientConnection& client);

}  // namespace greenlb::proxy
