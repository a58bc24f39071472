// The CNI 1.1 IPAM plugin (issue #7): what the weave-ipam binary does when a container
// runtime executes it as `weave-ipam-cni` (or as `weave-ipam cni`). One invocation is one
// command: the CNI_* environment and the network configuration on stdin in, a result or the
// spec's error JSON on stdout out. Addresses come from the running daemon over its admin
// socket, held there by the owner "cni:<network name>:<container id>:<interface>" (before
// issue #11 "cni:<container id>:<interface>"; DEL and CHECK still honour those).
// Parsing and rendering are pure; run_cni() blocks on the daemon. Immutable values.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver/base/env.h"
#include "driver/client/admin_client.h"
#include "ring/address.h"

namespace wipam::driver {

enum class CniCommand { kAdd, kDel, kCheck, kVersion, kGc, kStatus };

// The spec's well-known error codes, then ours (the spec leaves 100 and up to plugins).
enum class CniCode : int {
  kIncompatibleVersion = 1,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  kDaemonRefused = 100,  // the daemon answered with an error ("address ... is already in use")
  kCheckMismatch = 101,  // CHECK: the attachment holds other addresses than it should
};

// What goes to stdout on failure; `cni_version` is the request's once it is known.
struct CniError {
  CniCode code = CniCode::kInvalidConfig;
  std::string msg;
  std::string details;
  std::string cni_version = "1.1.0";
};

// A value, or the CNI error to print instead.
template <typename T>
using CniResult = std::variant<T, CniError>;

// One range set of the "ipam" section: one address of the attachment comes from each.
struct CniRange {
  std::optional<ring::Cidr> subnet;  // unset: the daemon's default subnet
  std::optional<ring::Address> gateway;
};

// The "ipam" section of the network configuration: "subnet" and "gateway" for one range,
// or host-local's "ranges", a list of range sets of one range each ([[{"subnet": ...,
// "gateway": ...}], [{"subnet": ...}]]), for one address of each (dual-stack).
struct CniIpamConfig {
  std::string admin_socket = "/run/weave-ipam/admin.sock";
  std::vector<CniRange> ranges = {CniRange{}};
  nlohmann::json routes = nlohmann::json::array();  // validated, passed to the result as given

  // The range a requested address belongs to: the first whose subnet holds it, or a range
  // without a subnet; null if none.
  const CniRange* range_of(const ring::Address& address) const;
};

// One entry of GC's "cni.dev/valid-attachments"; an empty ifname keeps all of a container's.
struct CniAttachment {
  std::string container_id;
  std::string ifname;
};

struct CniRequest {
  CniCommand command = CniCommand::kVersion;
  std::string cni_version = "1.1.0";
  std::string network;       // the configuration's "name": ADD, DEL, CHECK, GC
  std::string container_id;  // ADD, DEL, CHECK
  std::string ifname;        // ADD, DEL, CHECK
  CniIpamConfig ipam;
  // ADD, CHECK: requested addresses (runtimeConfig.ips, args.cni.ips, CNI_ARGS IP=), each
  // "a.b.c.d/len" in the subnet, or bare when no subnet is configured (the daemon then
  // applies its default subnet's prefix). Empty: allocate any free address.
  std::vector<std::string> ips;
  std::vector<ring::Cidr> prev_ips;              // CHECK: the addresses of prevResult
  std::vector<CniAttachment> valid_attachments;  // GC

  // The daemon's owner of this attachment: "cni:<network>:<container id>:<interface>".
  std::string owner() const;
  // What versions before issue #11 called it: "cni:<container id>:<interface>".
  std::string legacy_owner() const;
};

// The CNI versions this plugin speaks, oldest first.
const std::vector<std::string>& cni_supported_versions();

// True iff the binary was executed under the plugin's name (the basename of argv[0]).
bool invoked_as_cni(const std::string& argv0);

// Reads one invocation. Errors: unsupported cniVersion (code 1), stdin not a JSON object
// (6), missing or malformed CNI_* variables (4), bad configuration values or a missing or
// malformed network name (7). DEL reads only the name and the admin socket from the
// configuration, so a changed ipam section cannot strand addresses.
CniResult<CniRequest> parse_cni_request(const EnvLookup& env, const std::string& stdin_text);

// ADD's result for `cni_version` (0.4.0 adds "version" to each ip); each gateway goes on the
// ips of its subnet, and "routes" appears iff there are any.
std::string render_cni_result(const std::string& cni_version, const std::vector<ring::Cidr>& ips,
                              const std::vector<ring::Address>& gateways,
                              const nlohmann::json& routes);
std::string render_cni_error(const CniError& error);
std::string render_cni_version();

// How the plugin reaches the daemon: AdminClient in production, a fake in tests.
using AdminTransport = std::function<Result<AdminAnswer>(
    const std::string& socket_path, const std::string& method, const std::string& target,
    const std::string& body, std::chrono::milliseconds timeout)>;

// Every owner the plugin makes starts so: "cni:<network>:<container id>:<interface>".
inline constexpr const char* kCniOwnerPrefix = "cni:";

// The largest network configuration read from stdin; a longer one is refused.
inline constexpr std::size_t kMaxCniConfigBytes = std::size_t{1} << 20;

// Runs one invocation and returns the exit code (0, or 1 with the error JSON in stdout_text).
int run_cni(const EnvLookup& env, const std::string& stdin_text, std::string& stdout_text);
int run_cni(const EnvLookup& env, const std::string& stdin_text, std::string& stdout_text,
            const AdminTransport& transport);

}  // namespace wipam::driver
