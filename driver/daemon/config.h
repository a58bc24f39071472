// The daemon's configuration: `weave-ipam launch` flags, with environment fallbacks for the
// managed plugin, parsed into a Config or one clear error line (the binary prints it and
// exits 2). Pure: the environment arrives as a lookup function. Immutable once built.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "driver/base/env.h"
#include "driver/docker/allocation_range.h"
#include "ring/allocator.h"

namespace wipam::driver {

inline const ring::Cidr kDefaultRange(ring::Address::v4(0x0a200000), 12);  // 10.32.0.0/12

struct Config {
  std::optional<ring::PeerName> name;  // unset: the stored name, else a new random one
  std::string nickname;                // unset: the host name
  std::uint16_t port = 6783;
  // What peers allocate from, IPv4 first: at most one range per family.
  std::vector<AllocationRange> ranges = {{kDefaultRange, kDefaultRange, 24}};
  int pool_prefix_len = 24;  // the flags, copied into `ranges` by parse_launch
  int pool_prefix_len_v6 = 64;
  ring::InitMode init = ring::ConsensusInit{1};
  std::string init_text = "consensus";
  std::optional<std::string> password;
  std::optional<std::string> password_file;  // read into `password` by resolve_password_file
  std::string db_path = "/var/lib/weave-ipam";
  // Not a flag: plugin_bench turns it off to measure what the preallocated log saves.
  bool preallocate_log = true;
  std::string plugin_socket = "/run/docker/plugins/weave.sock";
  std::string admin_socket = "/run/weave-ipam/admin.sock";
  std::string http_addr = "127.0.0.1:6784";
  std::string docker_api = "unix:///var/run/docker.sock";
  std::chrono::seconds reconcile_grace{60};  // before an address Docker does not hold is freed
  std::string log_level = "info";
  bool discovery = true;
  std::vector<std::string> peers;  // gossip targets host[:port]
};

// Parses the arguments after `launch`. Environment fallbacks (flags win): WEAVE_PASSWORD,
// WEAVE_PASSWORD_FILE, IPALLOC_RANGE and IPALLOC_DEFAULT_SUBNET (comma-separated lists),
// IPALLOC_INIT, PEERS (space separated), LOG_LEVEL, and EXTRA_ARGS (more flags, space separated,
// parsed before the command line's). A password and a password file together, from flags or
// environment, are refused. The file is not read here: resolve_password_file
// (driver/daemon/password.h) does that.
Result<Config> parse_launch(const std::vector<std::string>& args, const EnvLookup& env);

// The usage text for `weave-ipam launch --help`.
std::string launch_usage();

}  // namespace wipam::driver
