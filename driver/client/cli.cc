#include "driver/client/cli.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>

#include "driver/client/admin_client.h"
#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

constexpr const char* kDefaultAdminSocket = "/run/weave-ipam/admin.sock";
const std::set<std::string> kCommands = {"status",  "ps",       "prime", "rmpeer", "forget",
                                         "connect", "allocate", "claim", "release"};

constexpr const char* kUsage =
    "usage: weave-ipam [--admin-socket PATH] [--json] COMMAND\n"
    "  status                 the IPAM summary (Status, Range, DefaultSubnet)\n"
    "  status ipam            one line per peer: owned addresses, share, reachability\n"
    "  status peers           gossip peers and connection targets\n"
    "  ps                     owner -> addresses held on this peer\n"
    "  prime [--timeout S]    wait until this peer can allocate (default 60 s)\n"
    "  rmpeer [--force] NAME...  take over the ranges of dead peers (name or nickname)\n"
    "  connect ADDR... | forget ADDR...   add or drop gossip targets host[:port]\n"
    "  allocate OWNER [SUBNET] | claim OWNER ADDRESS | release OWNER|ADDRESS\n";

double to_double(const std::string& decimal) { return std::strtod(decimal.c_str(), nullptr); }

struct Cli {
  AdminClient client;
  bool json_output = false;
  std::chrono::milliseconds timeout{10000};
  std::FILE* out;
  std::FILE* err;

  // Calls the daemon; on success returns the body as JSON, else prints one line and fails.
  bool call(const std::string& method, const std::string& target, const json& body, json& answer) {
    Result<AdminAnswer> a = client.call(method, target, body.is_null() ? "" : body.dump(), timeout);
    if (!a.ok()) {
      std::fprintf(err, "weave-ipam: %s\n", a.status().message().c_str());
      return false;
    }
    DecodedAnswer decoded = decode_answer(*a);
    if (decoded.refusal) {
      std::fprintf(err, "weave-ipam: %s\n", decoded.refusal->c_str());
      return false;
    }
    answer = std::move(decoded.body);
    return true;
  }

  int print(const json& answer, const std::string& human) {
    std::fputs(json_output ? (answer.dump(2) + "\n").c_str() : human.c_str(), out);
    return 0;
  }
};

std::string address_list(const json& list) {
  std::string line;
  if (list.is_array()) {
    for (const json& a : list) {
      line += (line.empty() ? "" : " ") + (a.is_string() ? a.get<std::string>() : a.dump());
    }
  }
  return line;
}

}  // namespace

bool is_cli_command(const std::string& command) { return kCommands.count(command) > 0; }

// The status of every range: "ranges", or the one range a one-range daemon describes.
std::vector<json> ranges_of(const json& s) {
  if (s.contains("ranges") && s["ranges"].is_array() && !s["ranges"].empty()) {
    return std::vector<json>(s["ranges"].begin(), s["ranges"].end());
  }
  return {s};
}

std::string render_status(const json& s) {
  // Concatenated, not printed into a fixed buffer: a conflict's status line can be long.
  std::string out =
      "        Service: ipam\n         Status: " + string_or_empty(s, "status") + "\n";
  std::vector<json> ranges = ranges_of(s);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    // The first range's status is the one above; another's is shown beside it.
    std::string own = i == 0 ? "" : " (status: " + string_or_empty(ranges[i], "status") + ")";
    out += "          Range: " + string_or_empty(ranges[i], "range") + own +
           "\n  DefaultSubnet: " + string_or_empty(ranges[i], "default_subnet") + "\n";
  }
  return out;
}

std::string render_status_ipam(const json& s) {
  std::vector<json> ranges = ranges_of(s);
  if (ranges.size() == 1) {
    return render_range_ipam(ranges.front());
  }
  std::string out;
  for (const json& r : ranges) {
    out += string_or_empty(r, "range") + ":\n" + render_range_ipam(r);
  }
  return out;
}

std::string render_range_ipam(const json& s) {
  std::string out;
  double universe = to_double(string_or_empty(s, "range_size"));
  const json& peers = s.contains("peers") ? s["peers"] : json::array();
  // This peer first, then the others in the status's order; only peers that own addresses.
  for (int pass = 0; pass < 2; ++pass) {
    for (const json& p : peers) {
      bool self = p.value("self", false);
      double owned = to_double(string_or_empty(p, "owned"));
      if (self != (pass == 0) || owned == 0) {
        continue;
      }
      std::string who = string_or_empty(p, "name") + "(" + string_or_empty(p, "nickname") + ")";
      char line[512];
      std::snprintf(line, sizeof line, "%-37s%8s IPs (%04.1f%% of total)", who.c_str(),
                    string_or_empty(p, "owned").c_str(),
                    universe > 0 ? 100.0 * owned / universe : 0.0);
      out += line;
      if (self) {
        out += " (" + string_or_empty(s, "allocated") + " active)";
      } else if (!p.value("reachable", false)) {
        out += " - unreachable!";
      }
      out += "\n";
    }
  }
  return out;
}

std::string render_status_peers(const json& j) {
  std::string out;
  for (const json& p : j.value("peers", json::array())) {
    std::string who = string_or_empty(p, "name") + "(" + string_or_empty(p, "nickname") + ")";
    std::string how =
        p.value("direct", false)
            ? std::string("direct") + (p.value("encrypted", false) ? ", encrypted" : "")
        : p.value("reachable", false) ? "via " + string_or_empty(p, "via")
                                      : std::string("unreachable");
    char line[512];
    std::snprintf(line, sizeof line, "%-37s %-22s %s\n", who.c_str(),
                  string_or_empty(p, "address").c_str(), how.c_str());
    out += line;
  }
  for (const json& t : j.value("targets", json::array())) {
    char line[512];
    std::string error = string_or_empty(t, "last_error");
    std::snprintf(line, sizeof line, "target %-30s %s", string_or_empty(t, "address").c_str(),
                  string_or_empty(t, "state").c_str());
    out += line + (error.empty() ? "" : " (" + error + ")") + "\n";  // an error may be long
  }
  return out;
}

std::string render_ps(const json& owners) {
  std::string out;
  for (const auto& [owner, list] : owners.items()) {
    out += owner + " " + address_list(list) + "\n";
  }
  return out;
}

namespace {

struct CliOptions {
  bool force = false;
  std::chrono::milliseconds prime_timeout{60000};
  std::vector<std::string> args;  // the command and its arguments
};

// Reads the options in `all` into `cli` and `o`; an exit code if one is wrong.
std::optional<int> parse_cli_options(const std::vector<std::string>& all, Cli& cli, CliOptions& o) {
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string& a = all[i];
    if (a == "--json") {
      cli.json_output = true;
    } else if (a == "--force") {
      o.force = true;
    } else if ((a == "--admin-socket" || a == "--timeout") && i + 1 < all.size()) {
      if (a == "--admin-socket") {
        cli.client = AdminClient(all[++i]);
      } else {
        char* end = nullptr;
        double seconds = std::strtod(all[++i].c_str(), &end);
        if (*end != '\0' || seconds <= 0) {
          std::fprintf(cli.err, "weave-ipam: --timeout needs a number of seconds\n");
          return 2;
        }
        o.prime_timeout = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
      }
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(cli.err, "weave-ipam: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      o.args.push_back(a);
    }
  }
  return std::nullopt;
}

int cli_status(Cli& cli, const std::vector<std::string>& rest) {
  json answer;
  std::string what = rest.empty() ? "" : rest[0];
  if (what == "peers") {
    return cli.call("GET", "/peers", nullptr, answer)
               ? cli.print(answer, render_status_peers(answer))
               : 1;
  }
  if (!what.empty() && what != "ipam") {
    std::fprintf(cli.err, "weave-ipam: status [ipam|peers]\n");
    return 2;
  }
  if (!cli.call("GET", "/status", nullptr, answer)) {
    return 1;
  }
  return cli.print(answer, what == "ipam" ? render_status_ipam(answer) : render_status(answer));
}

// rmpeer PEER..., forget ADDRESS..., connect ADDRESS...
int cli_peers(Cli& cli, const std::string& command, const std::vector<std::string>& rest,
              bool force) {
  json answer;
  if (rest.empty()) {
    std::fprintf(cli.err, "weave-ipam: %s needs at least one %s\n", command.c_str(),
                 command == "rmpeer" ? "peer" : "address");
    return 2;
  }
  if (command != "rmpeer") {
    return cli.call("POST", "/" + command, {{"targets", rest}}, answer) ? cli.print(answer, "") : 1;
  }
  int status = 0;
  json all_answers = json::array();
  for (const std::string& peer : rest) {
    if (!cli.call("DELETE", "/peer/" + peer + (force ? "?force=1" : ""), nullptr, answer)) {
      status = 1;
      continue;
    }
    all_answers.push_back(answer);
    if (!cli.json_output) {
      std::fprintf(cli.out, "%s\n", string_or_empty(answer, "result").c_str());
    }
  }
  if (cli.json_output) {
    std::fputs((all_answers.dump(2) + "\n").c_str(), cli.out);
  }
  return status;
}

// allocate OWNER [SUBNET], claim OWNER ADDRESS
int cli_allocate(Cli& cli, const std::string& command, const std::vector<std::string>& rest) {
  if (rest.empty() || rest.size() > 2 || (command == "claim" && rest.size() != 2)) {
    std::fprintf(cli.err, "weave-ipam: %s\n",
                 command == "claim" ? "claim OWNER ADDRESS" : "allocate OWNER [SUBNET]");
    return 2;
  }
  json body = {{"owner", rest[0]}};
  if (rest.size() == 2) {
    body[command == "claim" ? "address" : "subnet"] = rest[1];
  }
  json answer;
  return cli.call("POST", "/" + command, body, answer)
             ? cli.print(answer, address_list(answer["addresses"]) + "\n")
             : 1;
}

// release OWNER|ADDRESS: an address if it parses as one.
int cli_release(Cli& cli, const std::vector<std::string>& rest) {
  if (rest.size() != 1) {
    std::fprintf(cli.err, "weave-ipam: release OWNER|ADDRESS\n");
    return 2;
  }
  bool is_address =
      rest[0].find_first_not_of("0123456789./:abcdefABCDEF") == std::string::npos &&
      (rest[0].find('.') != std::string::npos || rest[0].find(':') != std::string::npos);
  json body = {{is_address ? "address" : "owner", rest[0]}};
  json answer;
  return cli.call("POST", "/release", body, answer)
             ? cli.print(answer, address_list(answer["released"]) + "\n")
             : 1;
}

}  // namespace

int run_cli(const std::vector<std::string>& all, std::FILE* out, std::FILE* err) {
  Cli cli{AdminClient(kDefaultAdminSocket), false, std::chrono::milliseconds(10000), out, err};
  if (const char* env = std::getenv("WEAVE_IPAM_ADMIN_SOCKET"); env != nullptr && *env) {
    cli.client = AdminClient(env);
  }
  CliOptions o;
  if (std::optional<int> code = parse_cli_options(all, cli, o)) {
    return *code;
  }
  if (o.args.empty() || !is_cli_command(o.args[0])) {
    std::fprintf(err, "%s", kUsage);
    return 2;
  }
  const std::string& command = o.args[0];
  std::vector<std::string> rest(o.args.begin() + 1, o.args.end());
  json answer;
  if (command == "status") {
    return cli_status(cli, rest);
  }
  if (command == "ps") {
    return cli.call("GET", "/owners", nullptr, answer) ? cli.print(answer, render_ps(answer)) : 1;
  }
  if (command == "prime") {
    cli.timeout = o.prime_timeout;
    return cli.call("POST", "/prime", nullptr, answer) ? cli.print(answer, "ready\n") : 1;
  }
  if (command == "rmpeer" || command == "forget" || command == "connect") {
    return cli_peers(cli, command, rest, o.force);
  }
  if (command == "allocate" || command == "claim") {
    return cli_allocate(cli, command, rest);
  }
  return cli_release(cli, rest);
}

}  // namespace wipam::driver
