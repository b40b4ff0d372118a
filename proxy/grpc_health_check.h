// The active gRPC health check ([upstream.health] grpc_service; docs/grpc.md): one
// grpc.health.v1.Health/Check call over HTTP/2 on the check's channel (plain h2c, or TLS
// with ALPN h2). SERVING is up; any other answer, a grpc-status other than OK, or no
// answer, is down. The request and response messages are tiny protobufs, encoded and read
// here by hand (field 1 of each: the service name, the serving status).
#pragma once

#include <string>

#include "balancer/health_probe.h"
#include "balancer/probe_channel.h"

namespace greenlb::proxy {

// The conversation a check of `service` ("" = the server as a whole) has with an endpoint;
// `scheme` is "http" or "https" (how the upstream is reached).
balancer::ProbeConversation grpcHealthCheck(std::string service, std::string scheme);

}  // namespace greenlb::proxy
