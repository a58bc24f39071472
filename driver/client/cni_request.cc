// The CNI plugin's pure half: reading one invocation (CNI_* variables and the network
// configuration) into a CniRequest. Results and errors are rendered in cni_render.cc; the
// I/O is cni.cc.
#include <algorithm>
#include <cctype>
#include <set>

#include "driver/client/cni.h"
#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

Status invalid(std::string message) { return Status::invalid_argument(std::move(message)); }

std::optional<CniCommand> command_named(const std::string& name) {
  static const std::vector<std::pair<std::string, CniCommand>> kNames = {
      {"ADD", CniCommand::kAdd},     {"DEL", CniCommand::kDel},
      {"CHECK", CniCommand::kCheck}, {"VERSION", CniCommand::kVersion},
      {"GC", CniCommand::kGc},       {"STATUS", CniCommand::kStatus}};
  for (const auto& [n, c] : kNames) {
    if (n == name) {
      return c;
    }
  }
  return std::nullopt;
}

Result<std::string> cni_version_of(const json& config, CniCommand command) {
  auto v = config.find("cniVersion");
  if (v == config.end() || !v->is_string()) {
    return invalid("the network configuration has no \"cniVersion\"");
  }
  std::string version = v->get<std::string>();
  const std::vector<std::string>& supported = cni_supported_versions();
  if (std::find(supported.begin(), supported.end(), version) == supported.end()) {
    return invalid("cniVersion " + version + " is not supported; weave-ipam-cni speaks " +
                   json(supported).dump());
  }
  // GC and STATUS are new in 1.1.0; an older configuration does not allow them.
  if ((command == CniCommand::kGc || command == CniCommand::kStatus) && version != "1.1.0") {
    return invalid(std::string(command == CniCommand::kGc ? "GC" : "STATUS") +
                   " needs cniVersion 1.1.0; the configuration says " + version);
  }
  return version;
}

Result<std::string> required_env(const EnvLookup& env, const char* name) {
  std::optional<std::string> value = env(name);
  if (!value || value->empty()) {
    return invalid(std::string(name) + " is not set");
  }
  return *value;
}

// libcni's rule for container IDs and network names alike (ValidateContainerID,
// ValidateNetworkName): an alphanumeric, then alphanumerics, '_', '.' or '-'. Neither can
// hold ':', nor can an interface name, so the fields of an owner never run together.
bool valid_name(const std::string& name) {
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  };
  return !name.empty() && std::isalnum(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), name_char);
}

// The spec's rules for CNI_CONTAINERID and CNI_IFNAME (libcni's ValidateContainerID and
// ValidateInterfaceName).
Status check_attachment(const std::string& container_id, const std::string& ifname) {
  if (!valid_name(container_id)) {
    return invalid("CNI_CONTAINERID " + container_id +
                   " must be alphanumeric, then alphanumerics, '_', '.' or '-'");
  }
  bool bad_char = std::any_of(ifname.begin(), ifname.end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c));
  });
  if (ifname.size() > 15 || ifname == "." || ifname == ".." || bad_char) {
    return invalid("CNI_IFNAME " + ifname + " is not a valid interface name");
  }
  if (!valid_utf8(ifname)) {  // it goes into the owner, a JSON string
    return invalid("CNI_IFNAME is not valid UTF-8");
  }
  return Status();
}

// The configuration's "name": part of every owner, so that one network's DEL and GC never
// touch another's attachments.
Result<std::string> network_name(const json& config) {
  auto it = config.find("name");
  if (it == config.end() || !it->is_string()) {
    return invalid("the network configuration has no \"name\"");
  }
  std::string name = it->get<std::string>();
  if (!valid_name(name)) {
    return invalid("network name \"" + name +
                   "\" must be an alphanumeric, then alphanumerics, '_', '.' or '-'");
  }
  return name;
}

// CNI_CONTAINERID and CNI_IFNAME, checked; CNI_NETNS must be set too unless this is a DEL.
Result<CniAttachment> attachment_env(const EnvLookup& env, bool needs_netns) {
  Result<std::string> id = required_env(env, "CNI_CONTAINERID");
  Result<std::string> ifname = id.ok() ? required_env(env, "CNI_IFNAME") : id;
  Status netns = needs_netns ? required_env(env, "CNI_NETNS").status() : Status();
  Status valid = ifname.ok() ? check_attachment(*id, *ifname) : ifname.status();
  if (!valid.ok() || !netns.ok()) {
    return valid.ok() ? netns : valid;
  }
  return CniAttachment{*id, *ifname};
}

Result<std::optional<std::string>> optional_string(const json& object, const char* key,
                                                   const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return invalid(where + "." + key + " must be a string");
  }
  return std::optional<std::string>(it->get<std::string>());
}

Status check_routes(const json& routes) {
  const char* shape = "ipam.routes must be a list of {\"dst\": CIDR, \"gw\": address (optional)}";
  if (!routes.is_array()) {
    return invalid(shape);
  }
  for (const json& route : routes) {
    Result<std::optional<std::string>> dst =
        route.is_object() ? optional_string(route, "dst", "route") : invalid(shape);
    Result<std::optional<std::string>> gw = dst.ok() ? optional_string(route, "gw", "route") : dst;
    if (!gw.ok() || !dst->has_value()) {
      return invalid(shape);
    }
    Result<ring::Cidr> cidr = ring::Cidr::parse(**dst);
    if (!cidr.ok()) {
      return cidr.status().with_context("ipam.routes");
    }
    if (gw->has_value()) {
      WIPAM_RETURN_IF_ERROR(ring::Address::parse(**gw).status().with_context("ipam.routes"));
    }
  }
  return Status();
}

// One range: {"subnet", "gateway"?}; host-local's rangeStart and rangeEnd are refused, as
// addresses come from the whole subnet.
Result<CniRange> cni_range(const json& object, const std::string& where, bool subnet_required) {
  CniRange range;
  Result<std::optional<std::string>> subnet = optional_string(object, "subnet", where);
  Result<std::optional<std::string>> gateway =
      subnet.ok() ? optional_string(object, "gateway", where) : subnet;
  if (!gateway.ok()) {
    return gateway.status();
  }
  if (object.contains("rangeStart") || object.contains("rangeEnd")) {
    return invalid(where + ": rangeStart and rangeEnd are not supported; give a subnet");
  }
  if (subnet->has_value()) {
    Result<ring::Cidr> parsed = ring::Cidr::parse_subnet(**subnet);
    if (!parsed.ok()) {
      return parsed.status().with_context(where + ".subnet");
    }
    range.subnet = *parsed;
  } else if (subnet_required) {
    return invalid(where + " needs a subnet");
  }
  if (gateway->has_value()) {
    Result<ring::Address> parsed = ring::Address::parse(**gateway);
    if (!parsed.ok()) {
      return parsed.status().with_context(where + ".gateway");
    }
    if (range.subnet && !range.subnet->range().contains(*parsed)) {
      return invalid(where + ".gateway " + **gateway + " is not in subnet " +
                     range.subnet->to_string());
    }
    range.gateway = *parsed;
  }
  return range;
}

// host-local's "ranges": a list of range sets, each a list of ranges. One address comes from
// each set; weave-ipam takes one range per set (the daemon already spreads a subnet's
// addresses over the cluster, so a set's alternatives would add nothing).
Result<std::vector<CniRange>> range_sets(const json& ranges) {
  if (!ranges.is_array() || ranges.empty() || ranges.size() > 8) {
    return invalid("ipam.ranges must be a list of 1 to 8 range sets");
  }
  std::vector<CniRange> out;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    std::string where = "ipam.ranges[" + std::to_string(i) + "]";
    const json& set = ranges[i];
    if (!set.is_array() || set.size() != 1 || !set[0].is_object()) {
      return invalid(where + " must be a list of one range ({\"subnet\": ...})");
    }
    Result<CniRange> range = cni_range(set[0], where + "[0]", /*subnet_required=*/true);
    if (!range.ok()) {
      return range.status();
    }
    for (const CniRange& other : out) {
      if (other.subnet->range().overlaps(range->subnet->range())) {
        return invalid(where + " overlaps another range set's subnet " + other.subnet->to_string());
      }
    }
    out.push_back(*range);
  }
  return out;
}

// The "ipam" section; DEL needs only the socket, so only that has to be well formed then.
Result<CniIpamConfig> ipam_config(const json& config, bool socket_only) {
  CniIpamConfig ipam;
  auto section = config.find("ipam");
  if (section == config.end() || section->is_null()) {
    return ipam;
  }
  if (!section->is_object()) {
    return invalid("\"ipam\" must be an object");
  }
  Result<std::optional<std::string>> socket = optional_string(*section, "admin_socket", "ipam");
  if (!socket.ok()) {
    return socket.status();
  }
  if (socket->has_value() && !(*socket)->empty()) {
    ipam.admin_socket = **socket;
  }
  if (socket_only) {
    return ipam;
  }
  auto ranges = section->find("ranges");
  if (ranges != section->end() && !ranges->is_null()) {
    if (section->contains("subnet") || section->contains("gateway")) {
      return invalid("give ipam.ranges or ipam.subnet, not both");
    }
    Result<std::vector<CniRange>> sets = range_sets(*ranges);
    if (!sets.ok()) {
      return sets.status();
    }
    ipam.ranges = std::move(*sets);
  } else {
    Result<CniRange> one = cni_range(*section, "ipam", /*subnet_required=*/false);
    if (!one.ok()) {
      return one.status();
    }
    ipam.ranges = {*one};
  }
  if (auto routes = section->find("routes"); routes != section->end() && !routes->is_null()) {
    WIPAM_RETURN_IF_ERROR(check_routes(*routes));
    ipam.routes = *routes;
  }
  return ipam;
}

// CNI_ARGS is "KEY=VALUE;..." ("IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.32.1.7"). As in
// host-local, IP may list several addresses separated by commas; other keys are ignored.
Result<std::vector<std::string>> cni_args_ips(const std::string& args) {
  std::vector<std::string> ips;
  for (std::size_t start = 0; start <= args.size();) {
    std::size_t end = std::min(args.find(';', start), args.size());
    std::string pair = args.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) {
      continue;
    }
    std::size_t eq = pair.find('=');
    if (eq == std::string::npos) {
      return invalid("CNI_ARGS entry \"" + pair + "\" is not KEY=VALUE");
    }
    if (pair.substr(0, eq) != "IP") {
      continue;
    }
    std::string list = pair.substr(eq + 1);
    for (std::size_t s = 0; s <= list.size();) {
      std::size_t e = std::min(list.find(',', s), list.size());
      if (e > s) {
        ips.push_back(list.substr(s, e - s));
      }
      s = e + 1;
    }
  }
  return ips;
}

// A requested address as /claim takes it: with its range's prefix when that has a subnet.
Result<std::string> claimable(const std::string& requested, const CniIpamConfig& ipam) {
  std::size_t slash = requested.find('/');
  Result<ring::Address> address = ring::Address::parse(requested.substr(0, slash));
  if (!address.ok()) {
    return address.status().with_context("requested address");
  }
  const CniRange* range = ipam.range_of(*address);
  if (range == nullptr) {
    std::string subnets;
    for (const CniRange& r : ipam.ranges) {
      subnets += (subnets.empty() ? "" : ", ") + r.subnet->to_string();
    }
    return invalid("requested address " + requested + " is not in subnet " + subnets);
  }
  if (slash != std::string::npos) {
    Result<ring::Cidr> cidr = ring::Cidr::parse(requested);
    if (!cidr.ok()) {
      return cidr.status().with_context("requested address");
    }
    if (range->subnet && cidr->prefix_len() != range->subnet->prefix_len()) {
      return invalid("requested address " + requested +
                     " does not have the prefix length of subnet " + range->subnet->to_string());
    }
  }
  if (range->gateway && *address == *range->gateway) {
    return invalid("requested address " + requested + " is the gateway");
  }
  if (!range->subnet) {
    return requested;
  }
  if (!range->subnet->host_range().contains(*address)) {
    return invalid("requested address " + requested + " is not a host address of subnet " +
                   range->subnet->to_string());
  }
  return ring::Cidr(*address, range->subnet->prefix_len()).to_string();
}

Result<std::vector<std::string>> string_list(const json& parent, const char* key,
                                             const std::string& where) {
  std::vector<std::string> out;
  auto it = parent.is_object() ? parent.find(key) : parent.end();
  if (!parent.is_object() || it == parent.end() || it->is_null()) {
    return out;
  }
  if (!it->is_array() ||
      !std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_string(); })) {
    return invalid(where + " must be a list of addresses");
  }
  for (const json& v : *it) {
    out.push_back(v.get<std::string>());
  }
  return out;
}

// runtimeConfig.ips (the "ips" capability), args.cni.ips and CNI_ARGS IP=, without repeats.
Result<std::vector<std::string>> requested_ips(const json& config,
                                               const std::vector<std::string>& from_env,
                                               const CniIpamConfig& ipam) {
  auto member = [&config](const char* key) {
    auto it = config.find(key);
    return it == config.end() ? json() : *it;
  };
  json cni_args = member("args").is_object() ? member("args").value("cni", json()) : json();
  Result<std::vector<std::string>> runtime =
      string_list(member("runtimeConfig"), "ips", "runtimeConfig.ips");
  Result<std::vector<std::string>> from_args =
      runtime.ok() ? string_list(cni_args, "ips", "args.cni.ips") : runtime;
  if (!from_args.ok()) {
    return from_args.status();
  }
  std::vector<std::string> all = *runtime;
  all.insert(all.end(), from_args->begin(), from_args->end());
  all.insert(all.end(), from_env.begin(), from_env.end());
  std::vector<std::string> out;
  for (const std::string& each : all) {
    Result<std::string> address = claimable(each, ipam);
    if (!address.ok()) {
      return address.status();
    }
    if (std::find(out.begin(), out.end(), *address) == out.end()) {
      out.push_back(*address);
    }
  }
  return out;
}

Result<std::vector<ring::Cidr>> prev_result_ips(const json& config) {
  std::vector<ring::Cidr> out;
  auto prev = config.find("prevResult");
  if (prev == config.end() || !prev->is_object() || !prev->contains("ips")) {
    return out;
  }
  const json& ips = (*prev)["ips"];
  for (const json& ip : ips.is_array() ? ips : json::array()) {
    Result<std::optional<std::string>> address =
        ip.is_object() ? optional_string(ip, "address", "prevResult.ips")
                       : invalid("not an object");
    Result<ring::Cidr> cidr = address.ok() && address->has_value()
                                  ? ring::Cidr::parse(**address)
                                  : Result<ring::Cidr>(invalid("prevResult.ips needs addresses"));
    if (!cidr.ok()) {
      return cidr.status().with_context("prevResult");
    }
    out.push_back(*cidr);
  }
  return out;
}

// libcni sends the list under both names; either will do.
Result<std::vector<CniAttachment>> valid_attachments(const json& config) {
  auto list = config.find("cni.dev/valid-attachments");
  if (list == config.end()) {
    list = config.find("cni.dev/attachments");
  }
  // Without the list every attachment would look stale; refuse rather than release them all.
  if (list == config.end() || !list->is_array()) {
    return invalid("GC needs the list \"cni.dev/valid-attachments\"");
  }
  std::vector<CniAttachment> out;
  for (const json& a : *list) {
    Result<std::optional<std::string>> id =
        a.is_object() ? optional_string(a, "containerID", "attachment") : invalid("not an object");
    Result<std::optional<std::string>> ifname =
        id.ok() ? optional_string(a, "ifname", "attachment") : id;
    if (!ifname.ok() || !id->has_value()) {
      return invalid("each valid attachment needs a \"containerID\" (and an \"ifname\")");
    }
    out.push_back({**id, ifname->value_or("")});
  }
  return out;
}

bool needs_attachment(CniCommand c) {
  return c == CniCommand::kAdd || c == CniCommand::kDel || c == CniCommand::kCheck;
}

// An owner this plugin wrote, split: "cni:<network>:<container>:<ifname>", or one of a
// version before issue #11, "cni:<container>:<ifname>", whose network is left empty.
// Anything else (another tool's owner, an operator's "cni:..." claim) is not ours.
struct CniFailure {
  CniCode code;
  Status why;
};

// What only some commands read: ADD's and CHECK's addresses, GC's valid attachments.
std::optional<CniFailure> read_command_fields(const EnvLookup& env, const json& config,
                                              CniRequest& r) {
  if (r.command == CniCommand::kAdd || r.command == CniCommand::kCheck) {
    Result<std::vector<std::string>> from_env = cni_args_ips(env("CNI_ARGS").value_or(""));
    if (!from_env.ok()) {
      return CniFailure{CniCode::kInvalidEnvironment, from_env.status()};
    }
    Result<std::vector<std::string>> ips = requested_ips(config, *from_env, r.ipam);
    Result<std::vector<ring::Cidr>> prev = ips.ok() ? prev_result_ips(config) : ips.status();
    if (!prev.ok()) {
      return CniFailure{CniCode::kInvalidConfig, prev.status()};
    }
    r.ips = *ips;
    r.prev_ips = *prev;
  }
  if (r.command == CniCommand::kGc) {
    Result<std::vector<CniAttachment>> valid = valid_attachments(config);
    if (!valid.ok()) {
      return CniFailure{CniCode::kInvalidConfig, valid.status()};
    }
    r.valid_attachments = *valid;
  }
  return std::nullopt;
}

}  // namespace

const CniRange* CniIpamConfig::range_of(const ring::Address& address) const {
  const CniRange* same_family = nullptr;
  for (const CniRange& r : ranges) {
    if (!r.subnet || r.subnet->range().contains(address)) {
      return &r;
    }
    if (same_family == nullptr && r.subnet->family() == address.family()) {
      same_family = &r;  // outside it: claimable() says so, naming the subnet
    }
  }
  return same_family;
}

std::string CniRequest::owner() const {
  return kCniOwnerPrefix + network + ":" + container_id + ":" + ifname;
}

std::string CniRequest::legacy_owner() const {
  return kCniOwnerPrefix + container_id + ":" + ifname;
}

const std::vector<std::string>& cni_supported_versions() {
  static const std::vector<std::string> kVersions = {"0.4.0", "1.0.0", "1.1.0"};
  return kVersions;
}

bool invoked_as_cni(const std::string& argv0) {
  return argv0.substr(argv0.rfind('/') + 1) == "weave-ipam-cni";
}

CniResult<CniRequest> parse_cni_request(const EnvLookup& env, const std::string& stdin_text) {
  CniRequest r;
  auto fail = [&r](CniCode code, const Status& why) {
    return CniError{code, why.message(), "", r.cni_version};
  };
  std::optional<std::string> name = env("CNI_COMMAND");
  std::optional<CniCommand> command = name ? command_named(*name) : std::nullopt;
  if (!command) {
    return fail(CniCode::kInvalidEnvironment,
                invalid(name ? "CNI_COMMAND " + *name +
                                   " is not one of ADD, DEL, CHECK, VERSION, GC, STATUS"
                             : "CNI_COMMAND is not set"));
  }
  r.command = *command;
  if (r.command == CniCommand::kVersion) {
    return r;
  }
  // A runtime's configuration is small; anything deeper or larger is not one.
  Result<json> parsed =
      parse_untrusted_json(stdin_text, "the network configuration", kMaxCniConfigBytes);
  json config = parsed.ok() ? *parsed : json();
  if (!config.is_object()) {
    return fail(CniCode::kDecodeFailure,
                invalid("the network configuration on stdin is not a JSON object"));
  }
  Result<std::string> version = cni_version_of(config, r.command);
  if (!version.ok()) {
    return fail(CniCode::kIncompatibleVersion, version.status());
  }
  r.cni_version = *version;
  if (needs_attachment(r.command)) {
    Result<CniAttachment> who = attachment_env(env, r.command != CniCommand::kDel);
    if (!who.ok()) {
      return fail(CniCode::kInvalidEnvironment, who.status());
    }
    r.container_id = who->container_id;
    r.ifname = who->ifname;
  }
  if (r.command != CniCommand::kStatus) {
    Result<std::string> network = network_name(config);
    if (!network.ok()) {
      return fail(CniCode::kInvalidConfig, network.status());
    }
    r.network = *network;
  }
  Result<CniIpamConfig> ipam = ipam_config(config, r.command == CniCommand::kDel);
  if (!ipam.ok()) {
    return fail(CniCode::kInvalidConfig, ipam.status());
  }
  r.ipam = *ipam;
  if (std::optional<CniFailure> bad = read_command_fields(env, config, r)) {
    return fail(bad->code, bad->why);
  }
  return r;
}

}  // namespace wipam::driver
