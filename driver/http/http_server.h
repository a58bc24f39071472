// HttpServer: a small HTTP/1.1 server (Boost.Beast) on a Unix or a loopback TCP socket, for
// Docker's plugin calls, the admin API and the status page. Keep-alive; one request at a
// time per connection, so replies go out in request order; any number of connections.
// Loop-confined: handlers run on the io_context's thread and answer through a Responder,
// now or later (the allocator may defer a reply until a donation or a durable write).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "ring/status.h"

namespace wipam::driver {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // the path, query string included
  std::string body;
};

// Sends the reply. Call it once, on the loop thread; it is safe to call after the client went
// away (the reply is dropped) and to keep it beyond the server's lifetime.
using Responder = std::function<void(unsigned status, std::string body, std::string content_type)>;
using HttpHandler = std::function<void(const HttpRequest&, Responder)>;

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;    // larger bodies get 413 and the connection closes
  std::chrono::seconds read_timeout{300};  // an idle keep-alive connection is closed after it
  std::size_t max_connections = 256;       // more are accepted and closed at once
};

class HttpServer {
 public:
  // Listens on the Unix socket `path` with file mode `mode`, creating its directory. A socket
  // file left by a process that died is replaced; one that a live process answers on is not.
  static Result<std::unique_ptr<HttpServer>> listen_unix(boost::asio::io_context& io,
                                                         const std::string& path, unsigned mode,
                                                         HttpHandler handler,
                                                         HttpLimits limits = {});
  // Listens on host:port (port 0 picks a free one, see port()).
  static Result<std::unique_ptr<HttpServer>> listen_tcp(boost::asio::io_context& io,
                                                        const std::string& host, std::uint16_t port,
                                                        HttpHandler handler,
                                                        HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The TCP port listened on; 0 for a Unix socket.
  std::uint16_t port() const;
  // Stops accepting, removes the socket file and closes idle connections; a connection whose
  // request is being handled closes once its reply is written. Idempotent.
  void stop();

  class Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace wipam::driver
