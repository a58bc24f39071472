#include "driver/json_input.h"

#include <string>

namespace wipam::driver {

bool json_depth_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return false;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Result<nlohmann::json> parse_untrusted_json(std::string_view text, std::string_view what,
                                            std::size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) {
    return Status::invalid_argument(std::string(what) + " is larger than " +
                                    std::to_string(max_bytes) + " bytes");
  }
  if (!json_depth_within(text, max_depth)) {
    return Status::invalid_argument(std::string(what) + " nests deeper than " +
                                    std::to_string(max_depth) + " levels");
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::invalid_argument(std::string(what) + " is not valid JSON");
  }
  return j;
}

}  // namespace wipam::driver
