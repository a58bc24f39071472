#include "driver/daemon/config.h"

#include <charconv>
#include <map>
#include <sstream>

namespace wipam::driver {
namespace {

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
Status apply(Config& c, const std::string& flag, const std::string& value,
             std::map<std::string, std::string>& raw) {
  raw[flag] = value;
  if (flag == "name") {
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
  } else if (flag == "ipalloc-range" || flag == "ipalloc-default-subnet") {
    Result<ring::Cidr> cidr = ring::Cidr::parse_subnet(value);
    if (!cidr.ok()) {
      return bad(flag, value, cidr.status().message());
    }
    (flag == "ipalloc-range" ? c.range : c.default_subnet) = *cidr;
  } else if (flag == "ipalloc-default-pool-size") {
    int n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 128) {
      return bad(flag, value, "must be a prefix length");
    }
    c.pool_prefix_len = n;
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

Status parse_args(Config& c, const std::vector<std::string>& args,
                  std::map<std::string, std::string>& raw) {
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
    WIPAM_RETURN_IF_ERROR(apply(c, flag, value, raw));
  }
  return Status();
}

}  // namespace

Result<Config> parse_launch(const std::vector<std::string>& args, const EnvLookup& env) {
  Config c;
  std::map<std::string, std::string> raw;
  static const std::pair<const char*, const char*> kEnvFlags[] = {
      {"IPALLOC_RANGE", "ipalloc-range"}, {"IPALLOC_DEFAULT_SUBNET", "ipalloc-default-subnet"},
      {"IPALLOC_INIT", "ipalloc-init"},   {"LOG_LEVEL", "log-level"},
      {"WEAVE_PASSWORD", "password"},     {"WEAVE_PASSWORD_FILE", "password-file"}};
  for (const auto& [variable, flag] : kEnvFlags) {
    std::optional<std::string> value = env(variable);
    if (value && !value->empty()) {
      WIPAM_RETURN_IF_ERROR(apply(c, flag, *value, raw).with_context(variable));
    }
  }
  if (std::optional<std::string> peers = env("PEERS")) {
    c.peers = split_words(*peers);
  }
  if (std::optional<std::string> extra = env("EXTRA_ARGS")) {
    WIPAM_RETURN_IF_ERROR(parse_args(c, split_words(*extra), raw).with_context("EXTRA_ARGS"));
  }
  WIPAM_RETURN_IF_ERROR(parse_args(c, args, raw));
  if (c.password && c.password_file) {
    // Neither may silently win: a peer keyed with the other secret could not join.
    return bad("password-file", *c.password_file,
               "--password is given too (or WEAVE_PASSWORD); give only one");
  }
  if (!raw.contains("ipalloc-default-subnet")) {
    c.default_subnet = c.range;
  }
  if (!c.range.range().contains(c.default_subnet.range())) {
    return Status::invalid_argument("--ipalloc-default-subnet " + c.default_subnet.to_string() +
                                    " must lie inside --ipalloc-range " + c.range.to_string());
  }
  if (c.pool_prefix_len < c.default_subnet.prefix_len() ||
      c.pool_prefix_len > c.default_subnet.address().bits() - 2) {
    return Status::invalid_argument("--ipalloc-default-pool-size " +
                                    std::to_string(c.pool_prefix_len) +
                                    " must be between the default subnet's prefix (" +
                                    std::to_string(c.default_subnet.prefix_len()) + ") and " +
                                    std::to_string(c.default_subnet.address().bits() - 2));
  }
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
  --ipalloc-range CIDR           the range all peers share (default 10.32.0.0/12)
  --ipalloc-default-subnet CIDR  where networks without --subnet get theirs (default: the range)
  --ipalloc-default-pool-size N  their prefix length (default 24)
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
