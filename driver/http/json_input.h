// Parsing JSON that arrives from outside (plugin and admin bodies, CNI stdin, the Docker API,
// stored records): bounded in size and nesting before nlohmann sees it, and never a throw.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ring/status.h"

namespace wipam::driver {

// Deeper than anything any of our formats or Docker's replies nest.
inline constexpr int kMaxJsonDepth = 64;

// The value in `text`, or kInvalidArgument naming `what` when the text is longer than
// `max_bytes`, nests deeper than `max_depth`, or is not JSON.
Result<nlohmann::json> parse_untrusted_json(std::string_view text, std::string_view what,
                                            std::size_t max_bytes, int max_depth = kMaxJsonDepth);

// `j` as compact JSON text, never a throw: a string taken from outside without a JSON parse
// (a path, an environment variable, a message quoting either, cut mid-character) may be
// invalid UTF-8, which nlohmann's dump() throws for; such bytes become U+FFFD instead.
std::string dump_json(const nlohmann::json& j);

// The string at `key` of `j`, or "" when `j` is no object, `key` is absent, or its value is
// not a string: for answers whose shape the reader does not police (the daemon's to the
// CLI and CNI, Docker's to the watcher). Never a throw.
std::string string_or_empty(const nlohmann::json& j, const char* key);
// True iff `key` of `j` is the boolean true. Never a throw.
bool is_true(const nlohmann::json& j, const char* key);

// The strict readers, for request bodies whose shape we police (the plugin's and the admin
// API's; `j` must be an object). A field absent or null reads as "" (or {}), unless it is
// kRequired; a field of another type is an error naming it, e.g. "Pool" must be a string.
enum class FieldNeed { kOptional, kRequired };
Result<std::string> string_field(const nlohmann::json& j, const char* name,
                                 FieldNeed need = FieldNeed::kOptional);
Result<nlohmann::json> object_field(const nlohmann::json& j, const char* name);

// True iff `text` is well-formed UTF-8, as every string in a JSON value must be.
bool valid_utf8(std::string_view text);

// True iff no array or object in `text` nests deeper than `max_depth` (strings skipped).
bool json_depth_within(std::string_view text, int max_depth);

}  // namespace wipam::driver
