#include "driver/client/cni.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

// The gateway is held under its own owner so that no container is given it; the prefix
// differs from kCniOwnerPrefix, so GC leaves it alone. The owner is keyed by the address, not
// the network: networks that share nothing have different gateways, so different owners,
// and networks on one subnet that name the same gateway want the same reservation (the
// second ADD's claim is refused as held, which add() accepts).
constexpr const char* kGatewayOwnerPrefix = "cni-gateway:";
constexpr std::chrono::milliseconds kShortTimeout{10000};
// Longer than the daemon's own 15 s deadline for a deferred allocation, so its reason arrives.
constexpr std::chrono::milliseconds kAllocateTimeout{30000};
// STATUS is polled by runtimes: a daemon that cannot become ready this fast is "not available".
constexpr std::chrono::milliseconds kPrimeTimeout{5000};

struct CniOwner {
  std::string network;
  CniAttachment attachment;
};

std::optional<CniOwner> parse_owner(const std::string& owner) {
  if (owner.rfind(kCniOwnerPrefix, 0) != 0) {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  for (std::size_t start = std::string(kCniOwnerPrefix).size();;) {
    std::size_t colon = owner.find(':', start);
    parts.push_back(owner.substr(start, colon - start));
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    return std::nullopt;
  }
  if (parts.size() == 3) {
    return CniOwner{parts[0], {parts[1], parts[2]}};
  }
  if (parts.size() == 2) {
    return CniOwner{"", {parts[0], parts[1]}};
  }
  return std::nullopt;
}

// Whether GC of `network` releases `owner`: an attachment of that network which `keep`
// (the runtime's valid attachments) does not list. Other networks' owners are never stale
// to it, whatever their subnet. Neither is a legacy owner ("cni:<container>:<ifname>"):
// it names no network, and networks may share a subnet, so nothing tells whose it is.
// The DEL of its attachment frees it (DEL releases the legacy owner too), or an operator's
// `weave-ipam release OWNER`.
bool stale(const std::string& owner, const std::string& network,
           const std::set<std::pair<std::string, std::string>>& keep) {
  std::optional<CniOwner> o = parse_owner(owner);
  if (!o || o->network.empty() || o->network != network) {
    return false;
  }
  return keep.count({o->attachment.container_id, o->attachment.ifname}) == 0 &&
         keep.count({o->attachment.container_id, ""}) == 0;
}

// One invocation against the daemon. Each command returns the text for stdout.
class CniRun {
 public:
  CniRun(const CniRequest& request, const AdminTransport& transport)
      : r_(request), transport_(transport) {}

  CniResult<std::string> run() {
    switch (r_.command) {
      case CniCommand::kAdd:
        return add();
      case CniCommand::kDel:
        return del();
      case CniCommand::kCheck:
        return check();
      case CniCommand::kGc:
        return gc();
      case CniCommand::kStatus:
        return status();
      case CniCommand::kVersion:
        break;
    }
    return render_cni_version();
  }

 private:
  CniError fail(CniCode code, std::string msg, std::string details = "") const {
    return CniError{code, std::move(msg), std::move(details), r_.cni_version};
  }

  // The JSON body of a 200 answer. A daemon that does not answer is "try again later"; its
  // refusals keep its own words.
  CniResult<json> call(const std::string& method, const std::string& target, const json& body,
                       std::chrono::milliseconds timeout) const {
    Result<AdminAnswer> a = transport_(r_.ipam.admin_socket, method, target,
                                       body.is_null() ? "" : body.dump(), timeout);
    if (!a.ok()) {
      return fail(CniCode::kTryAgainLater, a.status().message(),
                  "start the weave-ipam daemon, or set ipam.admin_socket to its --admin-socket");
    }
    DecodedAnswer decoded = decode_answer(*a);
    if (decoded.refusal) {
      return fail(a->status == 400 ? CniCode::kInvalidConfig : CniCode::kDaemonRefused,
                  *decoded.refusal);
    }
    if (!decoded.body.is_object()) {
      return fail(CniCode::kIoFailure, "the daemon's answer to " + target + " is not JSON");
    }
    return std::move(decoded.body);
  }

  CniResult<std::vector<ring::Cidr>> addresses(const json& answer, const char* key) const {
    std::vector<ring::Cidr> out;
    auto list = answer.find(key);
    for (const json& a : list != answer.end() && list->is_array() ? *list : json::array()) {
      Result<ring::Cidr> c = a.is_string()
                                 ? ring::Cidr::parse(a.get<std::string>())
                                 : Result<ring::Cidr>(Status::invalid_argument("not a string"));
      if (!c.ok()) {
        return fail(CniCode::kIoFailure, "the daemon answered a bad address: " + a.dump());
      }
      out.push_back(*c);
    }
    return out;
  }

  // A claim or allocation for this attachment; its addresses.
  CniResult<std::vector<ring::Cidr>> take(const std::string& target, const json& body) const {
    CniResult<json> answer = call("POST", target, body, kAllocateTimeout);
    if (auto* e = std::get_if<CniError>(&answer)) {
      return *e;
    }
    return addresses(std::get<json>(answer), "addresses");
  }

  CniResult<std::string> add() const;
  CniResult<std::vector<ring::Cidr>> allocate_in(const CniRange& range) const;
  CniResult<std::vector<ring::Cidr>> claim_all(const std::vector<std::string>& ips) const;
  CniResult<std::string> del() const;
  CniResult<std::string> check() const;
  CniResult<std::string> gc() const;
  CniResult<std::string> status() const;

  const CniRequest& r_;
  const AdminTransport& transport_;
};

// One address from each range set: the requested one in it if any, else a free one (after
// holding the set's gateway, so that no container gets it).
CniResult<std::string> CniRun::add() const {
  std::vector<ring::Cidr> got;
  std::vector<ring::Address> gateways;
  for (const CniRange& range : r_.ipam.ranges) {
    std::vector<std::string> wanted;
    for (const std::string& ip : r_.ips) {
      if (r_.ipam.range_of(*ring::Address::parse(ip.substr(0, ip.find('/')))) == &range) {
        wanted.push_back(ip);
      }
    }
    if (range.gateway) {
      gateways.push_back(*range.gateway);
    }
    CniResult<std::vector<ring::Cidr>> taken =
        wanted.empty() ? allocate_in(range) : claim_all(wanted);
    if (auto* e = std::get_if<CniError>(&taken)) {
      // Give back what this ADD took; the runtime's DEL after a failed ADD would too, but a
      // runtime that gives up must not leave addresses behind. Best effort, so a failure is
      // ignored: what it misses, that DEL or the next GC frees.
      for (const ring::Cidr& c : got) {
        (void)call("POST", "/release", {{"owner", r_.owner()}, {"address", c.to_string()}},
                   kShortTimeout);
      }
      if (!wanted.empty()) {
        e->details = "requested " + dump_json(json(r_.ips));
      }
      return *e;
    }
    const auto& list = std::get<std::vector<ring::Cidr>>(taken);
    got.insert(got.end(), list.begin(), list.end());
  }
  return render_cni_result(r_.cni_version, got, gateways, r_.ipam.routes);
}

CniResult<std::vector<ring::Cidr>> CniRun::allocate_in(const CniRange& range) const {
  if (range.gateway) {
    // Held by someone already is fine: either way no container gets it. Only a daemon that
    // does not answer stops the ADD.
    std::string gw = range.gateway->to_string();
    std::string address =
        range.subnet ? ring::Cidr(*range.gateway, range.subnet->prefix_len()).to_string() : gw;
    CniResult<json> held =
        call("POST", "/claim", {{"owner", kGatewayOwnerPrefix + gw}, {"address", address}},
             kAllocateTimeout);
    if (auto* e = std::get_if<CniError>(&held); e && e->code == CniCode::kTryAgainLater) {
      return *e;
    }
  }
  json body = {{"owner", r_.owner()}};
  if (range.subnet) {
    body["subnet"] = range.subnet->to_string();
  }
  return take("/allocate", body);
}

CniResult<std::vector<ring::Cidr>> CniRun::claim_all(const std::vector<std::string>& ips) const {
  std::vector<ring::Cidr> got;
  for (const std::string& ip : ips) {
    CniResult<std::vector<ring::Cidr>> claimed =
        take("/claim", {{"owner", r_.owner()}, {"address", ip}});
    if (auto* e = std::get_if<CniError>(&claimed)) {
      for (const ring::Cidr& c : got) {
        (void)call("POST", "/release", {{"owner", r_.owner()}, {"address", c.to_string()}},
                   kShortTimeout);
      }
      return *e;
    }
    const auto& list = std::get<std::vector<ring::Cidr>>(claimed);
    got.insert(got.end(), list.begin(), list.end());
  }
  return got;
}

// Releases this attachment, and what a version before issue #11 held for it: runtimes give
// each network of a container its own interface name, so "cni:<container>:<ifname>" was
// this network's (that version could not tell networks apart either).
CniResult<std::string> CniRun::del() const {
  for (const std::string& owner : {r_.owner(), r_.legacy_owner()}) {
    CniResult<json> released = call("POST", "/release", {{"owner", owner}}, kShortTimeout);
    if (auto* e = std::get_if<CniError>(&released)) {
      return *e;
    }
  }
  return std::string();
}

CniResult<std::string> CniRun::check() const {
  CniResult<json> owners = call("GET", "/owners", nullptr, kShortTimeout);
  if (auto* e = std::get_if<CniError>(&owners)) {
    return *e;
  }
  const json& all = std::get<json>(owners);
  // An attachment ADDed by a version before issue #11 is still held under its old owner.
  std::string owner =
      !all.contains(r_.owner()) && all.contains(r_.legacy_owner()) ? r_.legacy_owner() : r_.owner();
  CniResult<std::vector<ring::Cidr>> held_or =
      all.contains(owner) ? addresses(all, owner.c_str()) : std::vector<ring::Cidr>();
  if (auto* e = std::get_if<CniError>(&held_or)) {
    return *e;
  }
  const auto& held = std::get<std::vector<ring::Cidr>>(held_or);
  if (held.empty()) {
    return fail(CniCode::kUnknownContainer,
                "weave-ipam holds no address for container " + r_.container_id + " interface " +
                    r_.ifname + " on network " + r_.network,
                "it was never added, or was deleted or garbage-collected");
  }
  auto holds = [&held](const ring::Address& a) {
    return std::any_of(held.begin(), held.end(),
                       [&a](const ring::Cidr& c) { return c.address() == a; });
  };
  std::vector<ring::Address> wanted;
  for (const std::string& ip : r_.ips) {
    wanted.push_back(*ring::Address::parse(ip.substr(0, ip.find('/'))));
  }
  // prevResult may hold other plugins' addresses: check only those in our subnets.
  for (const ring::Cidr& prev : r_.prev_ips) {
    bool ours = std::any_of(r_.ipam.ranges.begin(), r_.ipam.ranges.end(),
                            [&prev](const CniRange& r) {
                              return r.subnet && r.subnet->range().contains(prev.address());
                            }) ||
                std::any_of(held.begin(), held.end(), [&prev](const ring::Cidr& c) {
                  return c.subnet().range().contains(prev.address());
                });
    if (ours) {
      wanted.push_back(prev.address());
    }
  }
  for (const ring::Address& a : wanted) {
    if (!holds(a)) {
      json list = json::array();
      for (const ring::Cidr& c : held) {
        list.push_back(c.to_string());
      }
      return fail(CniCode::kCheckMismatch, "container " + r_.container_id + " interface " +
                                               r_.ifname + " holds " + list.dump() + ", not " +
                                               a.to_string());
    }
  }
  return std::string();
}

CniResult<std::string> CniRun::gc() const {
  CniResult<json> owners = call("GET", "/owners", nullptr, kShortTimeout);
  if (auto* e = std::get_if<CniError>(&owners)) {
    return *e;
  }
  std::set<std::pair<std::string, std::string>> keep;  // an empty ifname keeps them all
  for (const CniAttachment& a : r_.valid_attachments) {
    keep.insert({a.container_id, a.ifname});
  }
  std::vector<std::string> errors;
  for (const auto& item : std::get<json>(owners).items()) {
    const std::string& owner = item.key();
    if (!stale(owner, r_.network, keep)) {
      continue;
    }
    CniResult<json> released = call("POST", "/release", {{"owner", owner}}, kShortTimeout);
    if (auto* e = std::get_if<CniError>(&released)) {
      errors.push_back(owner + ": " + e->msg);
    }
  }
  if (!errors.empty()) {
    return fail(CniCode::kDaemonRefused,
                "GC could not release " + std::to_string(errors.size()) + " stale attachments",
                dump_json(json(errors)));
  }
  return std::string();
}

CniResult<std::string> CniRun::status() const {
  auto not_available = [this](const std::string& why, const std::string& details) {
    return fail(CniCode::kNotAvailable, why, details);
  };
  CniResult<json> s = call("GET", "/status", nullptr, kShortTimeout);
  if (auto* e = std::get_if<CniError>(&s)) {
    return not_available(e->msg, e->details);
  }
  if (!is_true(std::get<json>(s), "ready")) {
    // A fresh cluster makes its ring on the first request; prime is that request.
    CniResult<json> primed = call("POST", "/prime", nullptr, kPrimeTimeout);
    if (auto* e = std::get_if<CniError>(&primed)) {
      return not_available(
          "the weave-ipam daemon is not ready: " + string_or_empty(std::get<json>(s), "status"),
          e->msg);
    }
    s = call("GET", "/status", nullptr, kShortTimeout);
    if (auto* e = std::get_if<CniError>(&s)) {
      return not_available(e->msg, e->details);
    }
  }
  const json& report = std::get<json>(s);
  auto some_free = [](const json& j) {
    return !string_or_empty(j, "free").empty() && string_or_empty(j, "free") != "0";
  };
  bool has_free = some_free(report);
  auto peers = report.find("peers");
  for (const json& p : peers != report.end() && peers->is_array() ? *peers : json::array()) {
    has_free = has_free || ((is_true(p, "self") || is_true(p, "reachable")) && some_free(p));
  }
  if (!has_free) {
    return not_available("no free addresses in " + string_or_empty(report, "range") +
                             " on this peer or any reachable peer",
                         "release addresses, or rmpeer peers that are gone for good");
  }
  return std::string();
}

}  // namespace

int run_cni(const EnvLookup& env, const std::string& stdin_text, std::string& stdout_text,
            const AdminTransport& transport) {
  CniResult<CniRequest> request = parse_cni_request(env, stdin_text);
  CniResult<std::string> out = std::holds_alternative<CniError>(request)
                                   ? CniResult<std::string>(std::get<CniError>(request))
                                   : CniRun(std::get<CniRequest>(request), transport).run();
  if (auto* e = std::get_if<CniError>(&out)) {
    stdout_text = render_cni_error(*e);
    return 1;
  }
  stdout_text = std::get<std::string>(out);
  return 0;
}

int run_cni(const EnvLookup& env, const std::string& stdin_text, std::string& stdout_text) {
  return run_cni(env, stdin_text, stdout_text,
                 [](const std::string& socket, const std::string& method, const std::string& target,
                    const std::string& body, std::chrono::milliseconds timeout) {
                   return AdminClient(socket).call(method, target, body, timeout);
                 });
}

}  // namespace wipam::driver
