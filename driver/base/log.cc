#include "driver/base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace wipam::driver {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;

std::string quoted(const std::string& value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\\\n\t") == std::string::npos;
  if (plain) {
    return value;
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }

void set_log_level(const std::string& name) {
  static const std::pair<const char*, LogLevel> kNames[] = {{"debug", LogLevel::kDebug},
                                                            {"info", LogLevel::kInfo},
                                                            {"warn", LogLevel::kWarn},
                                                            {"error", LogLevel::kError}};
  for (const auto& [text, level] : kNames) {
    if (name == text) {
      set_log_level(level);
    }
  }
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

namespace {

std::string timestamp() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return ts;
}

}  // namespace

void log_logfmt(const std::string& line) {
  static constexpr std::pair<const char*, LogLevel> kPrefixes[] = {
      {"level=debug", LogLevel::kDebug},
      {"level=info", LogLevel::kInfo},
      {"level=warn", LogLevel::kWarn},
      {"level=error", LogLevel::kError}};
  LogLevel level = LogLevel::kInfo;
  for (const auto& [prefix, l] : kPrefixes) {
    if (line.rfind(prefix, 0) == 0) {
      level = l;
    }
  }
  if (!log_enabled(level)) {
    return;
  }
  std::string out = "ts=" + timestamp() + " " + line;
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s\n", out.c_str());
}

void log(LogLevel level, const std::string& component, const std::string& message,
         const std::vector<std::pair<std::string, std::string>>& fields) {
  if (!log_enabled(level)) {
    return;
  }
  static constexpr const char* kLevels[] = {"debug", "info", "warn", "error"};
  std::string line = "ts=" + timestamp() + " level=" + kLevels[static_cast<int>(level)] +
                     " component=" + component + " msg=" + quoted(message);
  for (const auto& [key, value] : fields) {
    line += " " + key + "=" + quoted(value);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace wipam::driver
