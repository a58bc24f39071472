#include "driver/admin/admin_api.h"

#include <nlohmann/json.hpp>

#include "driver/admin/admin_json.h"
#include "driver/admin/ring_page.h"
#include "driver/base/log.h"
#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

void send(const Responder& respond, unsigned status, const json& body) {
  respond(status, dump_json(body), "application/json");
}

void fail(const Responder& respond, const Status& status) {
  ApiReply reply = error_reply(status);
  respond(reply.status, reply.body, "application/json");
}

constexpr std::size_t kMaxAdminBodyBytes = 64 * 1024;  // a request is a few fields

Result<json> parse_body(const std::string& body) {
  Result<json> j = parse_untrusted_json(body, "the request body", kMaxAdminBodyBytes);
  if (j.ok() && !j->is_object()) {
    return Status::invalid_argument("the request body must be a JSON object");
  }
  return j;
}

// The allocator records an address it keeps for another peer, which held it first (after a
// ring conflict or an rmpeer of a live peer), under "peer:<name>" (ring/allocator.cc).
constexpr const char* kPeerOwnerPrefix = "peer:";

bool is_peer_reservation(const std::string& owner) { return owner.rfind(kPeerOwnerPrefix, 0) == 0; }

// A 400, not a 500: the request is what cannot be done, not the daemon that failed.
Status refuse_peer_reservation(const std::string& what, const std::string& owner) {
  return Status::invalid_argument(
      what + " is reserved by this peer for peer " +
      owner.substr(std::string_view(kPeerOwnerPrefix).size()) + " (owner " + owner +
      "), which held it first; releasing it would let this peer hand out an address that "
      "peer may still use. It goes when that peer stops holding it, or with `weave-ipam "
      "rmpeer` of that peer once it is gone for good");
}

// An owner a client may allocate or claim for: not one the allocator keeps for peers, which
// would make the address look held by another peer (and rmpeer of it would free it).
Result<std::string> not_a_reservation(const std::string& owner) {
  if (is_peer_reservation(owner)) {
    return Status::invalid_argument("owner " + owner + ": owners beginning with \"" +
                                    kPeerOwnerPrefix +
                                    "\" are this peer's reservations for other peers");
  }
  return owner;
}

json addresses(const ring::Reply& r) {
  json list = json::array();
  for (const ring::Cidr& c : r.addresses) {
    list.push_back(c.to_string());
  }
  return list;
}

// free * part / whole, for part <= whole, without overflowing 128 bits (IPv6 ranges):
// exact while the product fits, else in long double (an estimate either way).
ring::Uint128 pro_rata(ring::Uint128 free, ring::Uint128 part, ring::Uint128 whole) {
  if (part == whole || free == 0) {
    return part == whole ? free : 0;
  }
  if (part == 0 || free <= ~ring::Uint128{0} / part) {
    return free * part / whole;
  }
  long double share = static_cast<long double>(part) / static_cast<long double>(whole);
  return static_cast<ring::Uint128>(static_cast<long double>(free) * share);
}

}  // namespace

AdminApi::AdminApi(std::vector<AllocationRange> ranges, const ring::RangeAllocators& allocators,
                   const IpamApi& ipam, gossip::Mesh* mesh, const DaemonCounters& counters, Run run)
    : ranges_(std::move(ranges)),
      allocators_(allocators),
      ipam_(ipam),
      mesh_(mesh),
      counters_(counters),
      run_(std::move(run)) {}

void AdminApi::handle(const HttpRequest& request, const Responder& plain_respond) {
  // Refusals are logged with the reason the client saw.
  Responder respond = [plain_respond, method = request.method, target = request.target](
                          unsigned status, std::string body, std::string type) {
    if (status != 200) {
      log(LogLevel::kWarn, "admin", "refused",
          {{"request", method + " " + target}, {"reply", body}});
    }
    plain_respond(status, std::move(body), std::move(type));
  };
  std::string path = request.target.substr(0, request.target.find('?'));
  std::string query =
      path.size() < request.target.size() ? request.target.substr(path.size() + 1) : std::string();
  const std::string& method = request.method;
  if (method == "GET" && (path == "/" || path == "/index.html")) {
    respond(200, ring_page_html(), "text/html; charset=utf-8");
  } else if (method == "GET" && path == "/status") {
    send(respond, 200, status());
  } else if (method == "GET" && path == "/peers") {
    send(respond, 200, mesh_ ? peers_json(mesh_->peers(), mesh_->targets()) : peers_json({}, {}));
  } else if (method == "GET" && path == "/allocations") {
    send(respond, 200, allocations());
  } else if (method == "GET" && path == "/owners") {
    send(respond, 200, owners());
  } else if (method == "GET" && path == "/metrics") {
    respond(200, metrics(), "text/plain; version=0.0.4; charset=utf-8");
  } else if (method == "POST" && path == "/prime") {
    run_(ring::PrimeCommand{}, [respond](const ring::Reply& r) {
      r.status.ok() ? send(respond, 200, json::object()) : fail(respond, r.status);
    });
  } else if (method == "POST" && path == "/allocate") {
    allocate(request.body, respond);
  } else if (method == "POST" && path == "/claim") {
    claim(request.body, respond);
  } else if (method == "POST" && path == "/release") {
    release(request.body, respond);
  } else if (method == "POST" && (path == "/forget" || path == "/connect")) {
    targets(request.body, path == "/forget", respond);
  } else if (method == "DELETE" && path.rfind("/peer/", 0) == 0) {
    remove_peer(path.substr(6), query == "force=1" || query == "force=true", respond);
  } else {
    fail(respond, Status::not_found("unknown admin endpoint " + method + " " + path));
  }
}

void AdminApi::allocate(const std::string& body, const Responder& respond) {
  Result<json> j = parse_body(body);
  Result<std::string> owner = j.ok() ? string_field(*j, "owner", FieldNeed::kRequired) : j.status();
  Result<std::string> subnet_text = owner.ok() ? not_a_reservation(*owner) : owner.status();
  subnet_text = subnet_text.ok() ? string_field(*j, "subnet") : subnet_text;
  if (!subnet_text.ok()) {
    return fail(respond, subnet_text.status());
  }
  ring::Cidr subnet = ranges_.front().default_subnet;
  if (!subnet_text->empty()) {
    Result<ring::Cidr> parsed = ring::Cidr::parse_subnet(*subnet_text);
    if (!parsed.ok()) {
      return fail(respond, parsed.status());
    }
    subnet = *parsed;
  }
  run_(ring::AllocateCommand{*owner, subnet, std::nullopt}, [respond](const ring::Reply& r) {
    r.status.ok() ? send(respond, 200, {{"addresses", addresses(r)}}) : fail(respond, r.status);
  });
}

void AdminApi::claim(const std::string& body, const Responder& respond) {
  Result<json> j = parse_body(body);
  Result<std::string> owner = j.ok() ? string_field(*j, "owner", FieldNeed::kRequired) : j.status();
  Result<std::string> text = owner.ok() ? not_a_reservation(*owner) : owner.status();
  text = text.ok() ? string_field(*j, "address", FieldNeed::kRequired) : text;
  if (!text.ok()) {
    return fail(respond, text.status());
  }
  // "a.b.c.d" takes the default subnet's prefix length, as Weave's claims did.
  Result<ring::Cidr> address = text->find('/') == std::string::npos ? [&]() -> Result<ring::Cidr> {
    Result<ring::Address> a = ring::Address::parse(*text);
    if (!a.ok()) {
      return a.status();
    }
    const ring::Cidr* subnet = default_subnet(a->family());
    return ring::Cidr(*a, subnet ? subnet->prefix_len() : a->bits());
  }()
      : ring::Cidr::parse(*text);
  if (!address.ok()) {
    return fail(respond, address.status());
  }
  run_(ring::ClaimCommand{*owner, *address}, [respond](const ring::Reply& r) {
    r.status.ok() ? send(respond, 200, {{"addresses", addresses(r)}}) : fail(respond, r.status);
  });
}

// POST /release {"owner"} frees every address of that owner; {"address"} frees that one
// address whoever holds it, and with "owner" too only while that owner holds it. This is
// an operator's tool, so freeing a CNI attachment's or a Docker container's address by
// address is allowed and is the operator's call: the address may be handed out again while
// that container still uses it (the CNI plugin and the Docker plugin free their own
// allocations themselves; this is for leaks). What it never frees, by address or by owner,
// is a "peer:" reservation: that address is in use on another peer.
void AdminApi::release(const std::string& body, const Responder& respond) {
  Result<json> j = parse_body(body);
  Result<std::string> owner = j.ok() ? string_field(*j, "owner") : j.status();
  Result<std::string> text = owner.ok() ? string_field(*j, "address") : owner.status();
  if (!text.ok()) {
    return fail(respond, text.status());
  }
  if (is_peer_reservation(*owner)) {
    return fail(respond, refuse_peer_reservation("every address of " + *owner, *owner));
  }
  if (!text->empty()) {
    return release_address(*text, *owner, respond);
  }
  if (owner->empty()) {
    return fail(respond, Status::invalid_argument("give \"owner\" or \"address\""));
  }
  run_(ring::ReleaseOwnerCommand{*owner}, [respond](const ring::Reply& r) {
    r.status.ok() ? send(respond, 200, {{"released", addresses(r)}}) : fail(respond, r.status);
  });
}

void AdminApi::release_address(const std::string& text, const std::string& owner,
                               const Responder& respond) {
  Result<ring::Address> a = ring::Address::parse(text.substr(0, text.find('/')));
  if (!a.ok()) {
    return fail(respond, a.status());
  }
  const std::string* held = allocators_.holder(*a);
  if (held == nullptr || (!owner.empty() && owner != *held)) {
    return send(respond, 200, {{"released", json::array()}});  // idempotent, as before
  }
  if (is_peer_reservation(*held)) {
    return fail(respond, refuse_peer_reservation("address " + a->to_string(), *held));
  }
  // Released only if the holder seen here still holds it when the command runs, so a
  // reservation made in between is never freed.
  std::string holder = *held;
  json released = json::array();
  for (const ring::Cidr& c : allocators_.of_family(a->family())->lookup(holder)) {
    if (c.address() == *a) {
      released.push_back(c.to_string());
    }
  }
  run_(ring::ReleaseCommand{*a, holder},
       [this, respond, a = *a, holder, released](const ring::Reply& r) {
         if (!r.status.ok()) {
           return fail(respond, r.status);
         }
         const std::string* now = allocators_.holder(a);
         bool freed = now == nullptr || *now != holder;
         send(respond, 200, {{"released", freed ? released : json::array()}});
       });
}

void AdminApi::remove_peer(const std::string& which, bool force, const Responder& respond) {
  Result<ring::PeerName> peer = ring::PeerName::parse(which);
  if (!peer.ok()) {
    // A nickname, as `weave rmpeer` accepted; it must name exactly one peer.
    std::vector<ring::PeerName> matches;
    for (const ring::PeerRow& row : allocators_.primary().status().peers) {
      if (row.nickname == which) {
        matches.push_back(row.name);
      }
    }
    if (matches.size() != 1) {
      return fail(respond,
                  Status::invalid_argument(
                      matches.empty() ? "no peer is named or nicknamed " + which
                                      : "nickname " + which + " is shared; use the peer name"));
    }
    peer = matches.front();
  }
  run_(ring::RemovePeerCommand{*peer, force}, [respond](const ring::Reply& r) {
    r.status.ok() ? send(respond, 200, {{"result", r.text}, {"addresses", addresses(r)}})
                  : fail(respond, r.status);
  });
}

void AdminApi::targets(const std::string& body, bool forget, const Responder& respond) {
  Result<json> j = parse_body(body);
  if (!j.ok()) {
    return fail(respond, j.status());
  }
  auto list = j->find("targets");
  if (list == j->end() || !list->is_array()) {
    return fail(respond, Status::invalid_argument("\"targets\" must be a list of host[:port]"));
  }
  if (!mesh_) {
    return fail(respond, Status::failed_precondition("this peer runs without gossip"));
  }
  json done = json::array();
  for (const json& t : *list) {
    if (!t.is_string() || t.get<std::string>().empty()) {
      return fail(respond, Status::invalid_argument("\"targets\" must be a list of host[:port]"));
    }
  }
  for (const json& t : *list) {
    forget ? mesh_->forget(t.get<std::string>()) : mesh_->connect(t.get<std::string>());
    done.push_back(t);
  }
  send(respond, 200, {{forget ? "forgotten" : "connecting", done}});
}

const ring::Cidr* AdminApi::default_subnet(ring::Family family) const {
  const AllocationRange* r = range_of(ranges_, family);
  return r == nullptr ? nullptr : &r->default_subnet;
}

// The first range's status at the top, as a one-range daemon answers, and every range's
// under "ranges".
json AdminApi::status() const {
  json per_range = json::array();
  for (std::size_t i = 0; i < allocators_.size(); ++i) {
    per_range.push_back(status_json(allocators_.at(i).status(), ranges_[i].default_subnet));
  }
  json out = per_range.front();
  out["ranges"] = std::move(per_range);
  return out;
}

json AdminApi::allocations() const {
  json out = json::object();
  for (const auto* table : allocators_.tables()) {
    for (const auto& [address, owner] : *table) {
      out[address.to_string()] = owner;
    }
  }
  return out;
}

json AdminApi::owners() const {
  json out = json::object();
  for (std::size_t i = 0; i < allocators_.size(); ++i) {
    const ring::Allocator& allocator = allocators_.at(i);
    json part = owners_json(allocator.allocations(), [&allocator](const std::string& owner) {
      return allocator.lookup(owner);
    });
    for (auto& [owner, list] : part.items()) {
      json& all = out[owner];
      all = all.is_null() ? json::array() : all;
      all.insert(all.end(), list.begin(), list.end());
    }
  }
  return out;
}

std::string AdminApi::metrics() const {
  GossipFigures gossip;
  if (mesh_) {
    for (const gossip::PeerStatus& p : mesh_->peers()) {
      gossip.peers_connected += p.direct ? 1 : 0;
    }
    gossip.frames = mesh_->counters();
  }
  std::vector<RangeMetrics> ranges;
  for (std::size_t i = 0; i < allocators_.size(); ++i) {
    ring::StatusReport status = allocators_.at(i).status();  // built once per scrape
    std::vector<PoolFree> pools = pool_free(allocators_.at(i), status);
    ranges.push_back({std::move(status), std::move(pools)});
  }
  return render_metrics(ranges, counters_, gossip);
}

std::vector<PoolFree> AdminApi::pool_free(const ring::Allocator& allocator,
                                          const ring::StatusReport& s) const {
  const auto& allocations = allocator.allocations();
  std::vector<PoolFree> out;
  for (const auto& [id, pool] : ipam_.pools()) {
    if (pool.subnet.family() != s.universe.family()) {
      continue;
    }
    ring::Range hosts = pool.subnet.host_range();
    ring::Uint128 free = 0;
    for (const ring::RingRow& row : s.ring) {
      ring::Range part = row.range.intersect(hosts);
      if (part.empty()) {
        continue;
      }
      if (row.owner == s.self.name) {
        ring::Uint128 used = 0;
        for (auto it = allocations.lower_bound(part.start());
             it != allocations.end() && it->first < part.end(); ++it) {
          ++used;
        }
        free += part.size() - std::min(used, part.size());
      } else if (row.range.size() > 0) {
        free += pro_rata(row.free, part.size(), row.range.size());
      }
    }
    out.push_back({id, free});
  }
  return out;
}

}  // namespace wipam::driver
