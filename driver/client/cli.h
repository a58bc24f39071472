// The weave-like command line: subcommands of the weave-ipam binary that ask the running
// daemon over its admin socket, printing for people by default and JSON with --json.
//   status | status ipam | status peers | ps | prime | rmpeer NAME... | forget ADDR... |
//   connect ADDR... | allocate OWNER [SUBNET] | claim OWNER ADDRESS | release OWNER|ADDRESS
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wipam::driver {

// True iff `command` is one of the CLI's subcommands.
bool is_cli_command(const std::string& command);

// Runs one subcommand (args[0]) with its options; returns the exit code: 0 done, 1 failed,
// 2 bad usage.
int run_cli(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

// Renderings, exposed for tests: `weave status`'s IPAM section and `weave status ipam`.
std::string render_status(const nlohmann::json& status);
std::string render_status_ipam(const nlohmann::json& status);
// One range's part of `status ipam` (what a one-range daemon's whole status shows).
std::string render_range_ipam(const nlohmann::json& range_status);
std::string render_status_peers(const nlohmann::json& peers);
std::string render_ps(const nlohmann::json& owners);

}  // namespace wipam::driver
