// How the doors read their environment: a lookup function, so parsing stays pure and tests
// hand in a map. Used by launch flags (daemon/config) and the CNI plugin (client/cni).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace wipam::driver {

using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

}  // namespace wipam::driver
