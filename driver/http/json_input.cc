#include "driver/http/json_input.h"

#include <string>

namespace wipam::driver {

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xc2 && c <= 0xdf   ? 1
                    : c >= 0xe0 && c <= 0xef ? 2
                    : c >= 0xf0 && c <= 0xf4 ? 3
                                             : 0;
    if (n == 0 || i + n >= text.size()) {
      return false;
    }
    // The first continuation byte's range excludes overlong forms, surrogates and > U+10FFFF.
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    for (std::size_t k = 1; k <= n; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

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

std::string string_or_empty(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) {
    return std::string();
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_true(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) {
    return false;
  }
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

Result<std::string> string_field(const nlohmann::json& j, const char* name, FieldNeed need) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (need == FieldNeed::kRequired) {
      return Status::invalid_argument(std::string("\"") + name + "\" is required");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return Status::invalid_argument(std::string("\"") + name + "\" must be a string");
  }
  return it->get<std::string>();
}

Result<nlohmann::json> object_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    return nlohmann::json::object();
  }
  if (!it->is_object()) {
    return Status::invalid_argument(std::string("\"") + name + "\" must be a map or null");
  }
  return *it;
}

}  // namespace wipam::driver
