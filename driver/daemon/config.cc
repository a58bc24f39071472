#include "driver/daemon/config.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

namespace wipam::driver {
namespace {

using Lists = std::map<std::string, std::vector<std::string>>;

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) {
    out.push_back(word);
  }
  return out;
}

Status bad(const std::string& flag, const std::string& value, const std::string& why) {
  return Status::invalid_argument("--" + flag + " " + value + ": " + why);
}

Result<ring::InitMode> parse_init(const std::string& text, std::size_t peers) {
  if (text == "observer") {
    return ring::InitMode(ring::ObserverInit{});
  }
  if (text == "consensus" || text.rfind("consensus=", 0) == 0) {
    unsigned n = static_cast<unsigned>(peers) + 1;
    if (text.size() > 10) {
      std::string digits = text.substr(10);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc() || end != digits.data() + digits.size() || n < 1 || n > 1024) {
        return bad("ipalloc-init", text, "N must be a number of peers from 1 to 1024");
      }
    }
    return ring::InitMode(ring::ConsensusInit{n / 2 + 1});
  }
  if (text.rfind("seed=", 0) == 0) {
    ring::SeedInit seed;
    std::string names = text.substr(5);
    std::size_t at = 0;
    while (at <= names.size()) {
      std::size_t comma = names.find(',', at);
      std::string one =
          names.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      Result<ring::PeerName> name = ring::PeerName::parse(one);
      if (!name.ok()) {
        return bad("ipalloc-init", text, name.status().message());
      }
      seed.seeds.push_back(*name);
      if (comma == std::string::npos) {
        break;
      }
      at = comma + 1;
    }
    return ring::InitMode(std::move(seed));
  }
  return bad("ipalloc-init", text, "expected consensus[=N], seed=NAME,... or observer");
}

// Applies one flag with its value to `c`; the raw text is kept for cross-checks.
Status apply(Config& c, const std::string& flag, const std::string& value, Lists& lists) {
  if (flag == "ipalloc-range" || flag == "ipalloc-default-subnet") {
    std::istringstream in(value);
    for (std::string text; std::getline(in, text, ',');) {
      if (Result<ring::Cidr> cidr = ring::Cidr::parse_subnet(text); !cidr.ok()) {
        return bad(flag, text, cidr.status().message());  // here, so it names its source
      }
    }
    lists[flag].push_back(value);  // families are checked once all are in: resolve_ranges
  } else if (flag == "name") {
    Result<ring::PeerName> name = ring::PeerName::parse(value);
    if (!name.ok()) {
      return bad(flag, value, name.status().message());
    }
    c.name = *name;
  } else if (flag == "nickname") {
    c.nickname = value;
  } else if (flag == "port") {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (ec != std::errc() || end != value.data() + value.size() || port < 1 || port > 65535) {
      return bad(flag, value, "must be a port number from 1 to 65535");
    }
    c.port = static_cast<std::uint16_t>(port);
  } else if (flag == "ipalloc-default-pool-size" || flag == "ipalloc-default-pool-size-v6") {
    int n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 128) {
      return bad(flag, value, "must be a prefix length");
    }
    (flag == "ipalloc-default-pool-size" ? c.pool_prefix_len : c.pool_prefix_len_v6) = n;
  } else if (flag == "reconcile-grace") {
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 86400) {
      // 0 would free the address of a container that is still being attached.
      return bad(flag, value, "must be a number of seconds from 1 to 86400");
    }
    c.reconcile_grace = std::chrono::seconds(seconds);
  } else if (flag == "password") {
    c.password = value;
  } else if (flag == "password-file") {
    c.password_file = value;
  } else if (flag == "log-level") {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      return bad(flag, value, "must be debug, info, warn or error");
    }
    c.log_level = value;
  } else {
    static const std::map<std::string, std::string Config::*> kStrings = {
        {"db-path", &Config::db_path},           {"plugin-socket", &Config::plugin_socket},
        {"admin-socket", &Config::admin_socket}, {"http-addr", &Config::http_addr},
        {"docker-api", &Config::docker_api},     {"ipalloc-init", &Config::init_text}};
    auto it = kStrings.find(flag);
    if (it == kStrings.end()) {
      return Status::invalid_argument("unknown flag --" + flag + " (see weave-ipam launch --help)");
    }
    c.*(it->second) = value;
  }
  return Status();
}

// Every CIDR of a flag given (perhaps several times, each perhaps a comma-separated list),
// one per address family: a later flag's CIDR replaces an earlier one of its family (later
// flags win, as for every flag), and one list naming a family twice is refused.
Result<std::vector<ring::Cidr>> one_per_family(const Lists& lists, const std::string& flag) {
  std::vector<ring::Cidr> out;
  auto it = lists.find(flag);
  if (it == lists.end()) {
    return out;
  }
  for (const std::string& value : it->second) {
    std::vector<ring::Cidr> listed;
    std::istringstream in(value);
    for (std::string text; std::getline(in, text, ',');) {
      ring::Cidr cidr = *ring::Cidr::parse_subnet(text);  // apply() checked it
      for (const ring::Cidr& other : listed) {
        if (other.family() == cidr.family()) {
          return bad(flag, value,
                     "a second " + std::string(cidr.address().is_v4() ? "IPv4" : "IPv6") +
                         " range besides " + other.to_string() +
                         " (at most one per address family)");
        }
      }
      listed.push_back(cidr);
      std::erase_if(out, [&](const ring::Cidr& c) { return c.family() == cidr.family(); });
      out.push_back(cidr);
    }
  }
  return out;
}

Status check_pool_size(const AllocationRange& r) {
  const char* flag = r.range.address().is_v4() ? "--ipalloc-default-pool-size "
                                               : "--ipalloc-default-pool-size-v6 ";
  if (r.pool_prefix_len < r.default_subnet.prefix_len() ||
      r.pool_prefix_len > r.default_subnet.address().bits() - 2) {
    return Status::invalid_argument(flag + std::to_string(r.pool_prefix_len) +
                                    " must be between the default subnet's prefix (" +
                                    std::to_string(r.default_subnet.prefix_len()) + ") and " +
                                    std::to_string(r.default_subnet.address().bits() - 2));
  }
  return Status();
}

// The ranges to serve, IPv4 first: those given, and 10.32.0.0/12 unless an IPv4 one is.
// Each default subnet goes with the range of its family and must lie inside it.
Result<std::vector<AllocationRange>> resolve_ranges(const Config& c, const Lists& lists) {
  Result<std::vector<ring::Cidr>> given = one_per_family(lists, "ipalloc-range");
  Result<std::vector<ring::Cidr>> subnets = one_per_family(lists, "ipalloc-default-subnet");
  if (!given.ok() || !subnets.ok()) {
    return !given.ok() ? given.status() : subnets.status();
  }
  std::vector<AllocationRange> ranges;
  for (ring::Family family : {ring::Family::kV4, ring::Family::kV6}) {
    auto range = std::find_if(given->begin(), given->end(),
                              [&](const ring::Cidr& r) { return r.family() == family; });
    if (range == given->end() && family == ring::Family::kV6) {
      continue;
    }
    ring::Cidr cidr = range != given->end() ? *range : kDefaultRange;
    ranges.push_back(
        {cidr, cidr, family == ring::Family::kV4 ? c.pool_prefix_len : c.pool_prefix_len_v6});
  }
  for (const ring::Cidr& subnet : *subnets) {
    auto it = std::find_if(ranges.begin(), ranges.end(), [&](const AllocationRange& r) {
      return r.range.family() == subnet.family();
    });
    if (it == ranges.end() || !it->range.range().contains(subnet.range())) {
      return Status::invalid_argument(
          "--ipalloc-default-subnet " + subnet.to_string() + " must lie inside --ipalloc-range " +
          (it == ranges.end() ? std::string("(no IPv6 range is given)") : it->range.to_string()));
    }
    it->default_subnet = subnet;
  }
  for (const AllocationRange& r : ranges) {
    WIPAM_RETURN_IF_ERROR(check_pool_size(r));
  }
  return ranges;
}

Status parse_args(Config& c, const std::vector<std::string>& args, Lists& lists) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      c.peers.push_back(arg);
      continue;
    }
    std::string flag = arg.substr(2);
    if (flag == "no-discovery") {
      c.discovery = false;
      continue;
    }
    std::string value;
    auto eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Status::invalid_argument("--" + flag + " needs a value");
    }
    WIPAM_RETURN_IF_ERROR(apply(c, flag, value, lists));
  }
  return Status();
}

}  // namespace

Result<Config> parse_launch(const std::vector<std::string>& args, const EnvLookup& env) {
  Config c;
  Lists env_lists;  // IPALLOC_RANGE and IPALLOC_DEFAULT_SUBNET, unless flags give them
  Lists lists;
  static const std::pair<const char*, const char*> kEnvFlags[] = {
      {"IPALLOC_RANGE", "ipalloc-range"}, {"IPALLOC_DEFAULT_SUBNET", "ipalloc-default-subnet"},
      {"IPALLOC_INIT", "ipalloc-init"},   {"LOG_LEVEL", "log-level"},
      {"WEAVE_PASSWORD", "password"},     {"WEAVE_PASSWORD_FILE", "password-file"}};
  for (const auto& [variable, flag] : kEnvFlags) {
    std::optional<std::string> value = env(variable);
    if (value && !value->empty()) {
      WIPAM_RETURN_IF_ERROR(apply(c, flag, *value, env_lists).with_context(variable));
    }
  }
  if (std::optional<std::string> peers = env("PEERS")) {
    c.peers = split_words(*peers);
  }
  if (std::optional<std::string> extra = env("EXTRA_ARGS")) {
    WIPAM_RETURN_IF_ERROR(parse_args(c, split_words(*extra), lists).with_context("EXTRA_ARGS"));
  }
  WIPAM_RETURN_IF_ERROR(parse_args(c, args, lists));
  if (c.password && c.password_file) {
    // Neither may silently win: a peer keyed with the other secret could not join.
    return bad("password-file", *c.password_file,
               "--password is given too (or WEAVE_PASSWORD); give only one");
  }
  for (const char* flag : {"ipalloc-range", "ipalloc-default-subnet"}) {
    if (!lists.contains(flag) && env_lists.contains(flag)) {
      lists[flag] = env_lists[flag];
    }
  }
  Result<std::vector<AllocationRange>> ranges = resolve_ranges(c, lists);
  if (!ranges.ok()) {
    return ranges.status();
  }
  c.ranges = std::move(*ranges);
  Result<ring::InitMode> init = parse_init(c.init_text, c.peers.size());
  if (!init.ok()) {
    return init.status();
  }
  c.init = *init;
  return c;
}

std::string launch_usage() {
  return R"(usage: weave-ipam launch [flags] [PEER[:PORT]...]
  --name NAME                    peer name, 01:23:45:67:89:ab or ::1 (default: stored or random)
  --nickname NAME                name shown to people (default: host name)
  --port N                       gossip port (default 6783)
  --ipalloc-range CIDR           a range all peers share, at most one IPv4 and one IPv6; give
                                 it twice, or CIDR,CIDR, for both (default 10.32.0.0/12; no
                                 IPv6 range unless one is given)
  --ipalloc-default-subnet CIDR  where networks without --subnet get theirs, one per range
                                 (default: the range)
  --ipalloc-default-pool-size N  their prefix length in IPv4 (default 24)
  --ipalloc-default-pool-size-v6 N  and in IPv6 (default 64)
  --ipalloc-init MODE            consensus[=N] | seed=NAME,... | observer (default consensus)
  --password SECRET              encrypt and authenticate peer links (also WEAVE_PASSWORD)
  --password-file PATH           the same, read from PATH without its trailing newline
                                 (also WEAVE_PASSWORD_FILE); make one with weave-ipam genkey
  --no-discovery                 connect only to the peers given
  --db-path DIR                  state directory (default /var/lib/weave-ipam)
  --plugin-socket PATH           Docker plugin socket (default /run/docker/plugins/weave.sock)
  --admin-socket PATH            admin API socket (default /run/weave-ipam/admin.sock)
  --http-addr HOST:PORT          loopback status and metrics, empty disables (default 127.0.0.1:6784)
  --docker-api URL               Docker API for the events watcher, empty disables
                                 (default unix:///var/run/docker.sock)
  --reconcile-grace SECONDS      release a plugin allocation Docker has not held for this
                                 long (default 60)
  --log-level LEVEL              debug | info | warn | error (default info)
)";
}

}  // namespace wipam::driver
