#include "driver/http/http_server.h"

#include <filesystem>
#include <list>
#include <optional>
#include <sys/stat.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace wipam::driver {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::milliseconds kAcceptRetry{100};  // after EMFILE and the like
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

std::string err_body(const std::string& message) { return "{\"Err\":\"" + message + "\"}"; }

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  virtual ~Impl() = default;
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
};

namespace {

template <class Protocol>
class Listener;

// One client connection: read a request, hand it to the handler, write the reply it gives,
// and read the next one if the client keeps the connection alive.
template <class Protocol>
class Connection : public std::enable_shared_from_this<Connection<Protocol>> {
 public:
  using Socket = typename Protocol::socket;

  Connection(std::shared_ptr<Listener<Protocol>> owner, Socket socket)
      : owner_(std::move(owner)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void start() { read_header(); }

  // Closes now if idle; otherwise after the reply being prepared is written.
  void stop() {
    if (!busy_) {
      close();
    }
  }

  bool closed() const { return closed_; }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(owner_->limits().max_body_bytes);
    arm_timer();
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) {
      return on_read_error(ec);
    }
    const auto& header = parser_->get();
    boost::optional<std::uint64_t> length = parser_->content_length();
    if (length && *length > owner_->limits().max_body_bytes) {
      return fail(
          413, "request body over " + std::to_string(owner_->limits().max_body_bytes) + " bytes");
    }
    auto expect = header.find(http::field::expect);
    if (expect != header.end() && boost::beast::iequals(expect->value(), "100-continue")) {
      // curl waits a second for this before sending a larger body.
      asio::async_write(socket_, asio::buffer(kContinue, sizeof kContinue - 1),
                        [self = this->shared_from_this()](error_code wec, std::size_t) {
                          if (wec) {
                            return self->close();
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
        socket_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_read_error(error_code ec) {
    timer_.cancel();
    if (ec == http::error::body_limit) {
      return fail(
          413, "request body over " + std::to_string(owner_->limits().max_body_bytes) + " bytes");
    }
    if (ec.category() == make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return fail(400, "malformed HTTP request: " + ec.message());
    }
    close();  // the client went away, or the idle timer closed the socket
  }

  void on_request(error_code ec) {
    if (ec) {
      return on_read_error(ec);
    }
    timer_.cancel();
    http::request<http::string_body> request = parser_->release();
    parser_.reset();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    busy_ = true;
    HttpRequest r{std::string(request.method_string()), std::string(request.target()),
                  std::move(request.body())};
    auto answered = std::make_shared<bool>(false);
    owner_->handler()(r, [self = this->shared_from_this(), answered](
                             unsigned status, std::string body, std::string content_type) {
      if (*answered) {
        return;
      }
      *answered = true;
      self->write(status, std::move(body), std::move(content_type));
    });
  }

  void fail(unsigned status, const std::string& message) {
    keep_alive_ = false;
    busy_ = true;
    write(status, err_body(message), "application/json");
  }

  void write(unsigned status, std::string body, std::string content_type) {
    if (closed_) {
      return;
    }
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(status), version_ == 0 ? 11 : version_);
    response->set(http::field::server, "weave-ipam");
    response->set(http::field::content_type, content_type);
    response->keep_alive(keep_alive_ && !owner_->stopped());
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(socket_, *response,
                      [self = this->shared_from_this(), response](error_code ec, std::size_t) {
                        self->busy_ = false;
                        if (ec || !response->keep_alive()) {
                          return self->close();
                        }
                        self->read_header();
                      });
  }

  void arm_timer() {
    timer_.expires_after(owner_->limits().read_timeout);
    timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (!ec && self) {
        self->close();
      }
    });
  }

  void close() {
    if (closed_) {
      return;
    }
    closed_ = true;
    timer_.cancel();
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::shared_ptr<Listener<Protocol>> owner_;
  Socket socket_;
  asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool busy_ = false;
  bool closed_ = false;
};

template <class Protocol>
class Listener : public HttpServer::Impl {
 public:
  Listener(asio::io_context& io, HttpHandler handler, HttpLimits limits, std::string path)
      : acceptor_(io),
        retry_(io),
        handler_(std::move(handler)),
        limits_(limits),
        path_(std::move(path)) {}

  typename Protocol::acceptor& acceptor() { return acceptor_; }
  const HttpHandler& handler() const { return handler_; }
  const HttpLimits& limits() const { return limits_; }
  bool stopped() const { return stopped_; }

  std::uint16_t port() const override {
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      error_code ec;
      auto endpoint = acceptor_.local_endpoint(ec);
      return ec ? 0 : endpoint.port();
    } else {
      return 0;
    }
  }

  void accept() {
    acceptor_.async_accept([self = std::static_pointer_cast<Listener>(shared_from_this())](
                               error_code ec, typename Protocol::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void stop() override {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    if (!path_.empty()) {
      std::error_code not_there;
      std::filesystem::remove(path_, not_there);
    }
    for (const auto& weak : connections_) {
      if (auto connection = weak.lock()) {
        connection->stop();
      }
    }
  }

 private:
  void on_accept(error_code ec, typename Protocol::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // Out of file descriptors or similar: try again shortly rather than spin.
      retry_.expires_after(kAcceptRetry);
      retry_.async_wait(
          [self = std::static_pointer_cast<Listener>(shared_from_this())](error_code wec) {
            if (!wec && !self->stopped_) {
              self->accept();
            }
          });
      return;
    }
    connections_.remove_if([](const auto& weak) {
      auto c = weak.lock();
      return !c || c->closed();
    });
    if (connections_.size() >= limits_.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      auto connection = std::make_shared<Connection<Protocol>>(
          std::static_pointer_cast<Listener>(shared_from_this()), std::move(socket));
      connections_.push_back(connection);
      connection->start();
    }
    accept();
  }

  typename Protocol::acceptor acceptor_;
  asio::steady_timer retry_;
  HttpHandler handler_;
  HttpLimits limits_;
  std::string path_;  // the Unix socket file, removed on stop
  std::list<std::weak_ptr<Connection<Protocol>>> connections_;
  bool stopped_ = false;
};

// True iff a process accepts connections on the Unix socket at `path`.
bool someone_listens(asio::io_context& io, const std::string& path) {
  asio::local::stream_protocol::socket probe(io);
  error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

}  // namespace

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::stop() { impl_->stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::listen_unix(asio::io_context& io,
                                                            const std::string& path, unsigned mode,
                                                            HttpHandler handler,
                                                            HttpLimits limits) {
  namespace fs = std::filesystem;
  using Local = asio::local::stream_protocol;
  std::error_code fs_error;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, fs_error);
    if (fs_error) {
      return Status::unavailable("cannot create " + parent.string() + ": " + fs_error.message());
    }
  }
  fs::file_status existing = fs::symlink_status(path, fs_error);
  if (fs::exists(existing)) {
    if (!fs::is_socket(existing)) {
      return Status::invalid_argument(path + " exists and is not a socket; not replacing it");
    }
    if (someone_listens(io, path)) {
      return Status::unavailable("another process is listening on " + path);
    }
    fs::remove(path, fs_error);  // left by a process that died
  }
  auto listener = std::make_shared<Listener<Local>>(io, std::move(handler), limits, path);
  error_code ec;
  Local::acceptor& acceptor = listener->acceptor();
  acceptor.open(Local(), ec);
  if (!ec) {
    acceptor.bind(Local::endpoint(path), ec);
  }
  // Set the mode before listen(): until then, connecting is refused anyway.
  if (!ec && ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    ec = error_code(errno, boost::system::system_category());
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::unavailable("cannot listen on " + path + ": " + ec.message());
  }
  listener->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(listener)));
}

Result<std::unique_ptr<HttpServer>> HttpServer::listen_tcp(asio::io_context& io,
                                                           const std::string& host,
                                                           std::uint16_t port, HttpHandler handler,
                                                           HttpLimits limits) {
  using Tcp = asio::ip::tcp;
  error_code ec;
  asio::ip::address address = host == "localhost"
                                  ? asio::ip::address(asio::ip::address_v4::loopback())
                                  : asio::ip::make_address(host, ec);
  if (ec) {
    return Status::invalid_argument("'" + host + "' is not an IP address");
  }
  auto listener = std::make_shared<Listener<Tcp>>(io, std::move(handler), limits, "");
  Tcp::acceptor& acceptor = listener->acceptor();
  Tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                               ec.message());
  }
  listener->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(listener)));
}

}  // namespace wipam::driver
