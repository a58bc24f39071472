#include "driver/admin_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace wipam::driver {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

Result<AdminAnswer> AdminClient::call(const std::string& method, const std::string& target,
                                      const std::string& body,
                                      std::chrono::milliseconds timeout) const {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "weave-ipam");
  request.set(http::field::connection, "close");
  request.body() = body;
  request.prepare_payload();
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  error_code failure;
  bool done = false;
  socket.async_connect(asio::local::stream_protocol::endpoint(path_), [&](error_code ec) {
    if (ec) {
      failure = ec;
      done = true;
      return;
    }
    http::async_write(socket, request, [&](error_code wec, std::size_t) {
      if (wec) {
        failure = wec;
        done = true;
        return;
      }
      http::async_read(socket, buffer, response, [&](error_code rec, std::size_t) {
        failure = rec;
        done = true;
      });
    });
  });
  io.run_for(timeout);
  if (!done) {
    return Status::deadline_exceeded("no answer from the daemon within " +
                                     std::to_string(timeout.count() / 1000) + " s");
  }
  if (failure) {
    return Status::unavailable("the weave-ipam daemon is not running (nothing answers on " + path_ +
                               ": " + failure.message() + ")");
  }
  return AdminAnswer{response.result_int(), response.body()};
}

}  // namespace wipam::driver
