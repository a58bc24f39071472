// AdminClient: the CLI's side of the admin API, one blocking HTTP request at a time over the
// admin Unix socket, with a deadline.
#pragma once

#include <chrono>
#include <string>

#include "ring/status.h"

namespace wipam::driver {

struct AdminAnswer {
  unsigned status = 0;
  std::string body;
};

class AdminClient {
 public:
  explicit AdminClient(std::string socket_path) : path_(std::move(socket_path)) {}

  // kUnavailable when nothing answers on the socket, kDeadlineExceeded after `timeout`.
  Result<AdminAnswer> call(const std::string& method, const std::string& target,
                           const std::string& body, std::chrono::milliseconds timeout) const;

  const std::string& socket_path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace wipam::driver
