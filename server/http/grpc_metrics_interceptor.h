// GrpcMetricsInterceptor: counts every gRPC call the server answers, by full
// method name and status code, into Metrics (crucible_grpc_requests_total).
// It sees the status as it is sent, so errors returned by handlers and by
// gRPC itself (e.g. a message over the size limit) are both counted.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(std::make_unique<GrpcMetricsInterceptorFactory>(&metrics));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
#ifndef CRUCIBLE_SERVER_HTTP_GRPC_METRICS_INTERCEPTOR_H_
#define CRUCIBLE_SERVER_HTTP_GRPC_METRICS_INTERCEPTOR_H_

#include <string>

#include "grpcpp/support/server_interceptor.h"
#include "server/http/metrics.h"

namespace crucible {

// The name gRPC gives a status code ("OK", "NOT_FOUND", ...).
std::string GrpcCodeName(grpc::StatusCode code);

class GrpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(Metrics* metrics, std::string method) : metrics_(metrics), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  Metrics* metrics_;
  std::string method_;
};

class GrpcMetricsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
};

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_GRPC_METRICS_INTERCEPTOR_H_
