// One-line logfmt logging to stderr: `ts=... level=info component=plugin msg="..." k=v`.
// Thread-safe (a mutex in this leaf serialises lines).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wipam::driver {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
// "debug" | "info" | "warn" | "error"; anything else keeps the level unchanged.
void set_log_level(const std::string& name);
bool log_enabled(LogLevel level);
void log(LogLevel level, const std::string& component, const std::string& message,
         const std::vector<std::pair<std::string, std::string>>& fields = {});
// A line already in logfmt beginning "level=..." (the gossip layer's): timestamped and
// filtered by its level like the others.
void log_logfmt(const std::string& line);

}  // namespace wipam::driver
