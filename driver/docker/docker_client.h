// DockerClient: asynchronous calls to the Docker Engine API on its Unix socket (Boost.Beast),
// one connection per call. Loop-confined: callbacks run on the io_context's thread. Every
// call has a timeout except streams, which last until the daemon or cancel() ends them.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "ring/status.h"

namespace wipam::driver {

class DockerClient {
 public:
  // `endpoint` is "unix:///path/to/docker.sock"; anything else is kInvalidArgument.
  static Result<std::unique_ptr<DockerClient>> make(boost::asio::io_context& io,
                                                    const std::string& endpoint);
  ~DockerClient();
  DockerClient(const DockerClient&) = delete;
  DockerClient& operator=(const DockerClient&) = delete;

  // GET `target`; `done` gets the body of a 2xx reply, or why there is none.
  void get(const std::string& target, std::function<void(Result<std::string>)> done);
  // GET `target` and hand its body to `on_data` as it arrives; `on_open` runs once the reply
  // header said 200, `on_end` once at the end (OK if the daemon closed the stream).
  void stream(const std::string& target, std::function<void()> on_open,
              std::function<void(std::string_view)> on_data, std::function<void(Status)> on_end);
  // Aborts every call; their callbacks are never called.
  void cancel();

  const std::string& socket_path() const { return path_; }

  class Call;

 private:
  DockerClient(boost::asio::io_context& io, std::string path);
  std::shared_ptr<Call> start_call(const std::string& target);

  boost::asio::io_context& io_;
  std::string path_;
  std::list<std::weak_ptr<Call>> calls_;
};

}  // namespace wipam::driver
