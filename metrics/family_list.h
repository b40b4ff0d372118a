// Every greenlb_* metric family, declared once: one row per family, in exposition order
// (the order of docs/observability.md). From the rows come FamilyId and the name, type and
// help of each family (metrics/catalog.h), the fields the proxy and the balancer count
// into (metrics/families.h) and the samples a scrape exports (metrics/registry.cc), as
// Envoy's ALL_*_STATS macros make its stats structs.
//
//   X(id, scope, Field, field, name, help)
//
// id     FamilyId::id
// scope  which object holds the field, and so the labels of its samples:
//          listener  ListenerMetrics {listener}
//          tls       ListenerMetrics {listener}, exported for listeners that have TLS
//          request   RequestMetrics {listener, upstream}, exported for pairs that saw one
//          upstream  UpstreamMetrics {upstream}
//          endpoint  EndpointMetrics {upstream, endpoint} (left out with per_endpoint_metrics
//                    = false)
//          registry  no field: the Registry collects it itself (metrics/registry.cc)
// Field  the field's type (metrics/family_fields.h), which fixes the family's type; a
//        CountersBy<E> adds the label of E (metrics/labels.h), StatusCounters adds "code"
// field  the member name counted into (`listener.bytes_sent.add(hub, n)`)
#pragma once

// clang-format off
#define GREENLB_METRIC_FAMILIES(X)                                                          \
  X(build_info, registry, RegistryGauge, _, "greenlb_build_info",                           \
    "Build of the running greenlb (the value is always 1).")                                \
  X(connections_accepted, listener, Counter, connections_accepted,                          \
    "greenlb_connections_accepted_total", "Client connections accepted by the listener.")   \
  X(connections_active, listener, Gauge, connections_active, "greenlb_connections_active",  \
    "Client connections currently open on the listener.")                                   \
  X(client_errors, listener, CountersBy<ClientError>, client_errors,                        \
    "greenlb_client_errors_total",                                                          \
    "Client requests or connections ended by a client-side error, by reason.")              \
  X(bytes_received, listener, Counter, bytes_received, "greenlb_bytes_received_total",      \
    "Bytes received from clients by the listener.")                                         \
  X(bytes_sent, listener, Counter, bytes_sent, "greenlb_bytes_sent_total",                  \
    "Bytes sent to clients by the listener.")                                               \
  X(http2_connections_active, listener, Gauge, http2_connections,                           \
    "greenlb_http2_connections_active", "Client connections speaking HTTP/2 on the listener.") \
  X(http2_streams_active, listener, Gauge, http2_streams_active,                            \
    "greenlb_http2_streams_active",                                                         \
    "HTTP/2 streams whose exchange is running on the listener.")                            \
  X(rate_limited, registry, RegistryCounter, _, "greenlb_rate_limited_total",               \
    "Requests answered 429 by a rate limit, by listener and route (\"*\": the listener's own).") \
  X(tls_handshakes, tls, CountersBy<CheckResult>, tls_handshakes,                           \
    "greenlb_tls_handshakes_total", "TLS handshakes with clients on the listener, by result.") \
  X(tls_handshake_duration, tls, LatencyHistogram, tls_handshake_duration,                  \
    "greenlb_tls_handshake_duration_seconds",                                               \
    "Duration of TLS handshakes with clients on the listener, in seconds.")                 \
  X(tls_certificate_expiry, registry, RegistryGauge, _,                                     \
    "greenlb_tls_certificate_expiry_timestamp_seconds",                                     \
    "Unix time at which the listener's certificate expires (its notAfter).")                \
  X(requests, request, StatusCounters, requests, "greenlb_requests_total",                  \
    "HTTP requests answered to clients, by listener, upstream and exact status code.")      \
  X(request_duration, request, LatencyHistogram, duration,                                  \
    "greenlb_request_duration_seconds",                                                     \
    "Time from a request's arrival to the end of its response, in seconds.")                \
  X(grpc_requests, request, CountersBy<GrpcStatus>, grpc_requests,                          \
    "greenlb_grpc_requests_total",                                                          \
    "gRPC calls answered, by listener, upstream and the grpc-status they ended with.")      \
  X(upstream_requests, endpoint, StatusCounters, requests, "greenlb_upstream_requests_total", \
    "Responses received from an upstream endpoint, by exact status code.")                  \
  X(upstream_connect_duration, upstream, LatencyHistogram, connect_duration,                \
    "greenlb_upstream_connect_duration_seconds",                                            \
    "Time to open a connection (TCP and TLS) to an upstream endpoint, in seconds.")         \
  X(upstream_first_byte_duration, upstream, LatencyHistogram, first_byte_duration,          \
    "greenlb_upstream_first_byte_duration_seconds",                                         \
    "Time from a request sent upstream to the first byte of its response, in seconds.")     \
  X(upstream_endpoint_up, endpoint, SharedLevel<1>, up, "greenlb_upstream_endpoint_up",     \
    "1 when the endpoint may receive traffic (healthy and not ejected), else 0.")           \
  X(upstream_endpoint_in_flight, endpoint, SharedLevel<0>, in_flight,                       \
    "greenlb_upstream_endpoint_in_flight", "Requests in flight to the endpoint, across all hubs.") \
  X(upstream_connect_failures, endpoint, Counter, connect_failures,                         \
    "greenlb_upstream_connect_failures_total",                                              \
    "Failed connection attempts (TCP or TLS) to the endpoint.")                             \
  X(upstream_timeouts, upstream, CountersBy<TimeoutKind>, timeouts,                         \
    "greenlb_upstream_timeouts_total", "Upstream timeouts, by kind (connect, response, idle).") \
  X(upstream_retries, upstream, Counter, retries, "greenlb_upstream_retries_total",         \
    "Requests retried on another attempt.")                                                 \
  X(upstream_protocol_errors, upstream, Counter, protocol_errors,                           \
    "greenlb_upstream_protocol_errors_total",                                               \
    "Upstream responses that sent bytes past their framing; the connection was closed.")    \
  X(upstream_ejections, endpoint, Counter, ejections, "greenlb_upstream_ejections_total",   \
    "Outlier ejections of the endpoint.")                                                   \
  X(upstream_health_checks, endpoint, CountersBy<CheckResult>, health_checks,               \
    "greenlb_upstream_health_checks_total", "Active health checks of the endpoint, by result.") \
  X(upstream_unavailable, upstream, CountersBy<Unavailable>, unavailable,                   \
    "greenlb_upstream_unavailable_total",                                                   \
    "Requests answered 503 without reaching an endpoint, by reason.")                       \
  X(upstream_panic, upstream, SharedLevel<0>, panic, "greenlb_upstream_panic",              \
    "1 while every endpoint is out and traffic spreads over all of them (panic mode).")     \
  X(upstream_pool_idle, upstream, Gauge, pool_idle, "greenlb_upstream_pool_idle_connections", \
    "Idle keep-alive connections to the upstream's endpoints, over all hubs.")              \
  X(hub_fibers, registry, RegistryGauge, _, "greenlb_hub_fibers", "Live fibers on the hub.") \
  X(hub_loop_lag, registry, RegistryHistogram, _, "greenlb_hub_loop_lag_seconds",           \
    "Lateness of the hub's periodic loop probe timer, in seconds.")                         \
  X(config_reloads, registry, RegistryCounter, _, "greenlb_config_reloads_total",           \
    "Configuration reloads, by result (the initial load is not counted).")                  \
  X(config_last_reload_success, registry, RegistryGauge, _,                                 \
    "greenlb_config_last_reload_success_timestamp_seconds",                                 \
    "Unix time of the last successful configuration load or reload.")
// clang-format on

// GREENLB_METRIC_SCOPE(scope, listener, tls, request, upstream, endpoint, registry): the
// argument named by `scope`. How one expansion of the list keeps only the rows of one
// scope: pass the text for that scope and nothing for the others.
#define GREENLB_METRIC_SCOPE(scope, listener, tls, request, upstream, endpoint, registry) \
  GREENLB_METRIC_SCOPE_##scope(listener, tls, request, upstream, endpoint, registry)
#define GREENLB_METRIC_SCOPE_listener(listener, tls, request, upstream, endpoint, registry) listener
#define GREENLB_METRIC_SCOPE_tls(listener, tls, request, upstream, endpoint, registry) tls
#define GREENLB_METRIC_SCOPE_request(listener, tls, request, upstream, endpoint, registry) request
#define GREENLB_METRIC_SCOPE_upstream(listener, tls, request, upstream, endpoint, registry) upstream
#define GREENLB_METRIC_SCOPE_endpoint(listener, tls, request, upstream, endpoint, registry) endpoint
#define GREENLB_METRIC_SCOPE_registry(listener, tls, request, upstream, endpoint, registry) registry
