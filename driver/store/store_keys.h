// The store's key schema in one place (STORE_FORMAT.md beside this file). The allocator's
// own keys ("a/", "m/ring", "m/identity", "m/paxos", "m/universe") and their codecs live in
// ring/store_records.h, because the pure core writes them; the keys below are the daemon's.
#pragma once

#include "ring/store_records.h"

namespace wipam::driver {

// The layout of the store; bumped on incompatible changes, checked at start-up.
inline constexpr const char* kFormatKey = "m/format";
inline constexpr const char* kFormat = "1";
// One key per Docker pool: "p/<pool id>" -> the pool record (docker/ipam_api).
inline constexpr const char* kPoolKeyPrefix = "p/";
// The time of the last Docker event seen, so a restart replays what it missed.
inline constexpr const char* kDockerSinceKey = "m/docker-since";
// The ID of the dockerd whose view showed this host's pools, so a view from another
// dockerd is never taken as proof they are gone.
inline constexpr const char* kDockerIdKey = "m/docker-id";

}  // namespace wipam::driver
