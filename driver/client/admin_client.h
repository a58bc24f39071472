// AdminClient: the CLI's side of the admin API, one blocking HTTP request at a time over the
// admin Unix socket, with a deadline.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ring/status.h"

namespace wipam::driver {

struct AdminAnswer {
  unsigned status = 0;
  std::string body;
};

// What an answer says, read once for the CLI and the CNI plugin: its JSON body (null if it
// is not JSON) and, for a status other than 200, the daemon's reason (its "Err", else the
// raw body).
struct DecodedAnswer {
  nlohmann::json body;
  std::optional<std::string> refusal;
};
DecodedAnswer decode_answer(const AdminAnswer& answer);

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
