#include "driver/client/admin_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "driver/http/json_input.h"

namespace wipam::driver {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

// `weave-ipam ps` of a peer holding every address of a /12 is some tens of MiB.
constexpr std::size_t kMaxAnswerBytes = std::size_t{64} << 20;

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

DecodedAnswer decode_answer(const AdminAnswer& answer) {
  Result<nlohmann::json> parsed =
      parse_untrusted_json(answer.body, "the daemon's answer", kMaxAnswerBytes);
  DecodedAnswer out{parsed.ok() ? *parsed : nlohmann::json(), std::nullopt};
  if (answer.status != 200) {
    std::string err = string_or_empty(out.body, "Err");
    out.refusal = err.empty() ? answer.body : err;
  }
  return out;
}

}  // namespace wipam::driver
