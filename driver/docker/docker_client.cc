#include "driver/docker/docker_client.h"

#include <array>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace wipam::driver {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using Local = asio::local::stream_protocol;

constexpr std::chrono::seconds kCallTimeout{15};
constexpr std::uint64_t kMaxReplyBytes = 64u << 20;  // a network inspect of a huge network

}  // namespace

// One request on its own connection. Holds itself alive through its pending handlers.
class DockerClient::Call : public std::enable_shared_from_this<DockerClient::Call> {
 public:
  Call(asio::io_context& io, std::string target) : socket_(io), timer_(io) {
    request_.method(http::verb::get);
    request_.target(target);
    request_.version(11);
    request_.set(http::field::host, "docker");
    request_.set(http::field::user_agent, "weave-ipam");
    request_.set(http::field::connection, "close");
  }

  void get(const std::string& path, std::function<void(Result<std::string>)> done) {
    get_done_ = std::move(done);
    arm_timer(kCallTimeout);
    connect_and_send(path, [self = shared_from_this()] {
      self->full_.body_limit(kMaxReplyBytes);
      http::async_read(
          self->socket_, self->buffer_, self->full_, [self](error_code ec, std::size_t) {
            if (ec) {
              return self->finish_get(self->failure(ec));
            }
            const auto& reply = self->full_.get();
            if (reply.result_int() / 100 != 2) {
              return self->finish_get(
                  Status::unavailable("Docker API " + std::string(self->request_.target()) + ": " +
                                      std::to_string(reply.result_int()) + " " + reply.body()));
            }
            self->finish_get(std::string(reply.body()));
          });
    });
  }

  void stream(const std::string& path, std::function<void()> on_open,
              std::function<void(std::string_view)> on_data, std::function<void(Status)> on_end) {
    on_open_ = std::move(on_open);
    on_data_ = std::move(on_data);
    on_end_ = std::move(on_end);
    arm_timer(kCallTimeout);  // until the header arrives; a stream itself has no end
    connect_and_send(path, [self = shared_from_this()] {
      http::async_read_header(
          self->socket_, self->buffer_, self->chunks_, [self](error_code ec, std::size_t) {
            if (ec) {
              return self->finish_stream(self->failure(ec));
            }
            self->timer_.cancel();
            if (self->chunks_.get().result_int() != 200) {
              return self->finish_stream(
                  Status::unavailable("Docker API " + std::string(self->request_.target()) + ": " +
                                      std::to_string(self->chunks_.get().result_int())));
            }
            if (self->on_open_) {
              self->on_open_();
            }
            self->read_chunk();
          });
    });
  }

  // Drops the callbacks too: their owner may be going away.
  void cancel() {
    cancelled_ = true;
    get_done_ = nullptr;
    on_open_ = nullptr;
    on_data_ = nullptr;
    on_end_ = nullptr;
    close();
  }

 private:
  template <class Then>
  void connect_and_send(const std::string& path, Then then) {
    socket_.async_connect(Local::endpoint(path), [self = shared_from_this(), then](error_code ec) {
      if (ec) {
        return self->fail(self->failure(ec));
      }
      http::async_write(self->socket_, self->request_, [self, then](error_code wec, std::size_t) {
        if (wec) {
          return self->fail(self->failure(wec));
        }
        then();
      });
    });
  }

  void read_chunk() {
    auto& body = chunks_.get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    http::async_read_some(socket_, buffer_, chunks_,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (ec == http::error::need_buffer) {
                              ec = {};
                            }
                            std::size_t got = self->chunk_.size() - self->chunks_.get().body().size;
                            if (got > 0 && self->on_data_) {
                              self->on_data_(std::string_view(self->chunk_.data(), got));
                            }
                            if (ec) {
                              return self->finish_stream(self->failure(ec));
                            }
                            if (self->chunks_.is_done()) {
                              return self->finish_stream(Status());
                            }
                            self->read_chunk();
                          });
  }

  Status failure(error_code ec) const {
    if (cancelled_) {
      return Status::cancelled("Docker API call cancelled");
    }
    if (timed_out_) {
      return Status::deadline_exceeded("Docker API " + std::string(request_.target()) +
                                       " did not answer in time");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      return Status();
    }
    return Status::unavailable("Docker API " + std::string(request_.target()) + ": " +
                               ec.message());
  }

  void fail(Status status) {
    if (get_done_) {
      finish_get(std::move(status));
    } else {
      finish_stream(std::move(status));
    }
  }

  void finish_get(Result<std::string> result) {
    close();
    if (auto done = std::exchange(get_done_, nullptr)) {
      if (result.ok() && cancelled_) {
        result = Status::cancelled("Docker API call cancelled");
      }
      done(std::move(result));
    }
  }

  void finish_stream(Status status) {
    close();
    if (auto done = std::exchange(on_end_, nullptr)) {
      done(status.ok() && cancelled_ ? Status::cancelled("Docker API call cancelled") : status);
    }
  }

  void arm_timer(std::chrono::seconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (auto self = weak.lock(); self && !ec) {
        self->timed_out_ = true;
        self->close();
      }
    });
  }

  void close() {
    error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  Local::socket socket_;
  asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> full_;
  http::response_parser<http::buffer_body> chunks_;
  std::array<char, 16 * 1024> chunk_{};
  std::function<void(Result<std::string>)> get_done_;
  std::function<void()> on_open_;
  std::function<void(std::string_view)> on_data_;
  std::function<void(Status)> on_end_;
  bool cancelled_ = false;
  bool timed_out_ = false;
};

DockerClient::DockerClient(asio::io_context& io, std::string path)
    : io_(io), path_(std::move(path)) {}

DockerClient::~DockerClient() { cancel(); }

Result<std::unique_ptr<DockerClient>> DockerClient::make(asio::io_context& io,
                                                         const std::string& endpoint) {
  constexpr std::string_view kUnix = "unix://";
  if (endpoint.rfind(kUnix, 0) != 0 || endpoint.size() == kUnix.size()) {
    return Status::invalid_argument("--docker-api " + endpoint +
                                    " is not unix:///path/to/docker.sock");
  }
  return std::unique_ptr<DockerClient>(new DockerClient(io, endpoint.substr(kUnix.size())));
}

std::shared_ptr<DockerClient::Call> DockerClient::start_call(const std::string& target) {
  calls_.remove_if([](const std::weak_ptr<Call>& c) { return c.expired(); });
  auto call = std::make_shared<Call>(io_, target);
  calls_.push_back(call);
  return call;
}

void DockerClient::get(const std::string& target, std::function<void(Result<std::string>)> done) {
  start_call(target)->get(path_, std::move(done));
}

void DockerClient::stream(const std::string& target, std::function<void()> on_open,
                          std::function<void(std::string_view)> on_data,
                          std::function<void(Status)> on_end) {
  start_call(target)->stream(path_, std::move(on_open), std::move(on_data), std::move(on_end));
}

void DockerClient::cancel() {
  for (const std::weak_ptr<Call>& weak : calls_) {
    if (auto call = weak.lock()) {
      call->cancel();
    }
  }
  calls_.clear();
}

}  // namespace wipam::driver
