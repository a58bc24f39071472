#include "driver/docker/ipam_api.h"

#include <tuple>

#include "driver/docker/docker_events.h"
#include "driver/docker/free_subnet.h"
#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;
using ring::Cidr;

constexpr const char* kPoolIdPrefix = "weave-";
constexpr const char* kLocalSpace = "weavelocal";
constexpr const char* kGlobalSpace = "weaveglobal";
// In every RequestAddress of the swarm manager's allocator (moby cnmallocator), never a node's.
constexpr const char* kSwarmManagerOption = "com.docker.network.ipam.serial";

ApiReply ok_reply(const json& body) { return {200, dump_json(body)}; }

IpamApi::Outcome answer(ApiReply reply) {
  IpamApi::Outcome out;
  out.reply = std::move(reply);
  return out;
}

IpamApi::Outcome fail(const Status& status) { return answer(error_reply(status)); }

std::string pool_id(const Cidr& subnet, const std::optional<Cidr>& sub_pool) {
  return kPoolIdPrefix + subnet.to_string() + (sub_pool ? "-" + sub_pool->to_string() : "");
}

}  // namespace

ApiReply error_reply(const Status& status) {
  unsigned code = 500;
  if (status.code() == Code::kInvalidArgument || status.code() == Code::kNotFound) {
    code = 400;
  }
  return {code, dump_json(json{{"Err", status.message()}})};
}

IpamApi::IpamApi(std::vector<AllocationRange> ranges, HolderOf holder_of, HeldIn held_in)
    : ranges_(std::move(ranges)), holder_of_(std::move(holder_of)), held_in_(std::move(held_in)) {}

Status IpamApi::restore(const std::map<std::string, std::string>& stored) {
  for (auto it = stored.lower_bound(kPoolKeyPrefix);
       it != stored.end() && it->first.rfind(kPoolKeyPrefix, 0) == 0; ++it) {
    WIPAM_RETURN_IF_ERROR(restore_pool(it->first, it->second));
  }
  return Status();
}

Status IpamApi::restore_pool(const std::string& key, const std::string& value) {
  Result<PoolRecord> record = decode_pool_record(key, value);
  if (!record.ok()) {
    return record.status();
  }
  record->generation = next_generation_++;
  pools_[key.substr(std::string_view(kPoolKeyPrefix).size())] = *record;
  return Status();
}

ring::StoreWrite IpamApi::pool_write(const std::string& id) const {
  std::string key = kPoolKeyPrefix + id;
  auto it = pools_.find(id);
  if (it == pools_.end()) {
    return {key, std::nullopt};
  }
  return {key, encode_pool_record(it->second)};
}

IpamApi::Outcome IpamApi::handle(std::string_view path, std::string_view body) {
  if (path == "/Plugin.Activate") {
    return answer(ok_reply({{"Implements", {"IpamDriver"}}}));
  }
  if (path == "/IpamDriver.GetCapabilities") {
    return answer(ok_reply({{"RequiresMACAddress", false}, {"RequiresRequestReplay", false}}));
  }
  if (path == "/IpamDriver.GetDefaultAddressSpaces") {
    return answer(ok_reply(
        {{"LocalDefaultAddressSpace", kLocalSpace}, {"GlobalDefaultAddressSpace", kGlobalSpace}}));
  }
  using Handler = Outcome (IpamApi::*)(const json&);
  static const std::map<std::string_view, Handler> kHandlers = {
      {"/IpamDriver.RequestPool", &IpamApi::request_pool},
      {"/IpamDriver.ReleasePool", &IpamApi::release_pool},
      {"/IpamDriver.RequestAddress", &IpamApi::request_address},
      {"/IpamDriver.ReleaseAddress", &IpamApi::release_address},
  };
  auto handler = kHandlers.find(path);
  if (handler == kHandlers.end()) {
    return answer({404, dump_json(json{{"Err", "unknown endpoint " + std::string(path)}})});
  }
  Result<json> request = parse_untrusted_json(body, "request body", kMaxBodyBytes);
  if (!request.ok()) {
    return fail(request.status());
  }
  if (!request->is_object()) {
    return fail(Status::invalid_argument("request body is not a JSON object"));
  }
  return (this->*handler->second)(*request);
}

// The lowest /prefix_len block of `default_subnet` that no pool overlaps.
Result<Cidr> IpamApi::first_free_subnet(const Cidr& default_subnet, int prefix_len) const {
  std::vector<Cidr> taken;
  taken.reserve(pools_.size());
  for (const auto& [id, pool] : pools_) {
    if (pool.subnet.family() == default_subnet.family()) {
      taken.push_back(pool.subnet);
    }
  }
  return first_free_block(default_subnet, prefix_len, taken);
}

Result<Cidr> IpamApi::choose_subnet(const AllocationRange& range, const json& options) const {
  const Cidr& default_subnet = range.default_subnet;
  int prefix_len = range.pool_prefix_len;
  auto size = options.find("size");
  if (size != options.end()) {
    std::string text = size->is_string() ? size->get<std::string>() : "";
    char* end = nullptr;
    long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < default_subnet.prefix_len() ||
        value > default_subnet.address().bits()) {
      return Status::invalid_argument("ipam option size=" + text +
                                      " must be a prefix length between " +
                                      std::to_string(default_subnet.prefix_len()) + " and " +
                                      std::to_string(default_subnet.address().bits()));
    }
    prefix_len = static_cast<int>(value);
  }
  if (Result<Cidr> free = first_free_subnet(default_subnet, prefix_len); free.ok()) {
    return *free;
  }
  return Status::exhausted("no free /" + std::to_string(prefix_len) +
                           " left in the default subnet " + default_subnet.to_string() +
                           "; give the network a --subnet or a smaller --ipam-opt size");
}

namespace {

// The pool (--subnet) and sub-pool (--ip-range) a RequestPool names, both checked: each a
// subnet of the right family, the pool inside `range`, the sub-pool inside the pool.
Result<std::pair<Cidr, std::optional<Cidr>>> requested_pool(const Cidr& range,
                                                            const std::string& pool_text,
                                                            const std::string& sub_text) {
  Result<Cidr> subnet = Cidr::parse_subnet(pool_text);
  if (!subnet.ok()) {
    return subnet.status();
  }
  if (subnet->family() != range.family() || !range.range().contains(subnet->range())) {
    return Status::invalid_argument("range " + subnet->to_string() +
                                    " is outside the allocation range " + range.to_string());
  }
  if (sub_text.empty()) {
    return std::pair<Cidr, std::optional<Cidr>>(*subnet, std::nullopt);
  }
  Result<Cidr> sub = Cidr::parse_subnet(sub_text);
  if (!sub.ok()) {
    return sub.status();
  }
  if (!subnet->range().contains(sub->range()) || sub->family() != subnet->family()) {
    return Status::invalid_argument("sub-pool " + sub->to_string() + " is outside the pool " +
                                    subnet->to_string());
  }
  return std::pair<Cidr, std::optional<Cidr>>(*subnet, *sub);
}

}  // namespace

// What a RequestPool asks for, checked: the subnet (given, or chosen for a network created
// without --subnet), its sub-pool, and whether the global (swarm) space asked.
Result<IpamApi::PoolRequest> IpamApi::read_pool_request(const json& request) const {
  Result<std::string> pool_text = string_field(request, "Pool");
  Result<std::string> sub_text = string_field(request, "SubPool");
  Result<std::string> space = string_field(request, "AddressSpace");
  Result<json> options = object_field(request, "Options");
  auto v6 = request.find("V6");
  if (!pool_text.ok() || !sub_text.ok() || !space.ok() || !options.ok() ||
      (v6 != request.end() && !v6->is_null() && !v6->is_boolean())) {
    return !pool_text.ok()  ? pool_text.status()
           : !sub_text.ok() ? sub_text.status()
           : !space.ok()    ? space.status()
           : !options.ok()  ? options.status()
                            : Status::invalid_argument("V6 must be a boolean");
  }
  bool want_v6 = v6 != request.end() && v6->is_boolean() && v6->get<bool>();
  // A named pool is of its own family: a swarm manager says V6 false even for an IPv6 one.
  if (Result<Cidr> named = Cidr::parse(*pool_text); named.ok()) {
    want_v6 = !named->address().is_v4();
  }
  const AllocationRange* range = range_of(ranges_, want_v6 ? ring::Family::kV6 : ring::Family::kV4);
  if (range == nullptr) {
    return Status::invalid_argument(
        std::string(want_v6 ? "IPv6" : "IPv4") + " pools are not served: no " +
        (want_v6 ? "IPv6" : "IPv4") +
        " allocation range is configured; start weave-ipam with --ipalloc-range <" +
        (want_v6 ? "IPv6" : "IPv4") + " CIDR> (IPALLOC_RANGE in the managed plugin)");
  }
  if (pool_text->empty() && !sub_text->empty()) {
    return Status::invalid_argument("a sub-pool (--ip-range) needs a pool (--subnet)");
  }
  PoolRequest out;
  // Docker asks in the global space for a swarm-scoped (overlay) network, else the local.
  out.swarm = *space == kGlobalSpace;
  out.automatic = pool_text->empty();
  if (out.automatic) {
    Result<Cidr> chosen = choose_subnet(*range, *options);
    if (!chosen.ok()) {
      return chosen.status();
    }
    out.subnet = *chosen;
    return out;
  }
  Result<std::pair<Cidr, std::optional<Cidr>>> given =
      requested_pool(range->range, *pool_text, *sub_text);
  if (!given.ok()) {
    return given.status();
  }
  std::tie(out.subnet, out.sub_pool) = *given;
  return out;
}

IpamApi::Outcome IpamApi::request_pool(const json& request) {
  Result<PoolRequest> asked = read_pool_request(request);
  if (!asked.ok()) {
    return fail(asked.status());
  }
  std::string id = pool_id(asked->subnet, asked->sub_pool);
  auto existing = pools_.find(id);
  if (existing != pools_.end() && asked->swarm && !existing->second.swarm) {
    return fail(
        Status::conflict("pool " + asked->subnet.to_string() + " is in use by a local network"));
  }
  const bool manager_restore = asked->swarm && existing != pools_.end();
  // A node re-creating a swarm network asks in the local space for the manager's subnet:
  // that is the same pool, and stays a swarm pool.
  PoolRecord& record = pools_[id];
  if (manager_restore) {
    record.restoring = held_by_dockerd(id, asked->subnet);
  }
  record.swarm = record.swarm || asked->swarm;
  record.subnet = asked->subnet;
  record.sub_pool = asked->sub_pool;
  record.automatic = asked->automatic;
  record.generation = next_generation_++;
  ++record.refs;
  Outcome out = answer(
      ok_reply({{"PoolID", id}, {"Pool", asked->subnet.to_string()}, {"Data", json::object()}}));
  out.writes.push_back(pool_write(id));
  return out;
}

IpamApi::Outcome IpamApi::release_pool(const json& request) {
  Result<std::string> id = string_field(request, "PoolID");
  if (!id.ok()) {
    return fail(id.status());
  }
  Outcome out = answer(ok_reply(json::object()));
  auto it = pools_.find(*id);
  if (it != pools_.end()) {
    if (--it->second.refs == 0) {
      if (it->second.swarm) {
        out.retired_swarm_pool = Outcome::RetiredPool{*id, it->second.subnet};
      }
      pools_.erase(it);
    }
    out.writes.push_back(pool_write(*id));
  }
  return out;
}

IpamApi::Outcome IpamApi::request_address(const json& request) {
  Result<std::string> id = string_field(request, "PoolID");
  Result<std::string> address = string_field(request, "Address");
  Result<json> options = object_field(request, "Options");
  if (!id.ok() || !address.ok() || !options.ok()) {
    return fail(!id.ok() ? id.status() : !address.ok() ? address.status() : options.status());
  }
  auto pool = pools_.find(*id);
  if (pool == pools_.end()) {
    return fail(Status::not_found("unknown pool " + *id + "; was the network created with " +
                                  "this plugin?"));
  }
  Cidr subnet = pool->second.subnet;
  // The gateway is recorded under its pool: Docker's network inspect does not show a
  // gateway it did not choose itself, so reconcile must recognise it by its owner.
  std::string owner;
  if (auto type = options->find("RequestAddressType");
      type != options->end() && type->is_string() &&
      type->get<std::string>() == "com.docker.network.gateway") {
    owner = kGatewayOwnerPrefix + *id;
  }
  Outcome out;
  if (address->empty()) {
    std::optional<ring::Range> within;
    if (pool->second.sub_pool) {
      within = pool->second.sub_pool->range();
    }
    if (options->contains(kSwarmManagerOption)) {
      // The manager restores everything before it allocates anew (swarmkit's
      // doNetworkInit): what it has not asked for again by now, it will not.
      pool->second.restoring.clear();
    }
    // A swarm manager's allocation is offered to the nodes that run its tasks (shares.h).
    out.command = ring::AllocateCommand{owner, subnet, within, pool->second.swarm};
  } else {
    Result<ring::Address> a = ring::Address::parse(*address);
    if (!a.ok()) {
      return fail(a.status());
    }
    if (!subnet.range().contains(*a)) {
      return fail(Status::invalid_argument("address " + *address + " is outside the pool " +
                                           subnet.to_string()));
    }
    if (pool->second.swarm &&
        rerequested(pool->second, *a, owner, options->contains(kSwarmManagerOption))) {
      out.reply = ok_reply(
          {{"Address", Cidr(*a, subnet.prefix_len()).to_string()}, {"Data", json::object()}});
      out.writes.push_back(pool_write(*id));
      return out;
    }
    out.command = ring::ClaimCommand{owner, Cidr(*a, subnet.prefix_len()),
                                     claim_sharing(pool->second, owner)};
  }
  out.finish = [prefix = subnet.prefix_len()](const ring::Reply& reply) {
    if (!reply.status.ok()) {
      return error_reply(reply.status);
    }
    if (reply.addresses.empty()) {
      return error_reply(Status::internal("the allocator returned no address"));
    }
    Cidr got(reply.addresses.front().address(), prefix);
    return ok_reply({{"Address", got.to_string()}, {"Data", json::object()}});
  };
  return out;
}

IpamApi::Outcome IpamApi::release_address(const json& request) {
  Result<std::string> id = string_field(request, "PoolID");
  Result<std::string> address = string_field(request, "Address");
  if (!id.ok() || !address.ok()) {
    return fail(!id.ok() ? id.status() : address.status());
  }
  Result<ring::Address> a = ring::Address::parse(*address);
  if (!a.ok()) {
    return fail(a.status());
  }
  auto pool = pools_.find(*id);
  const AllocationRange* range = range_of(ranges_, a->family());
  if (pool == pools_.end() || !pool->second.subnet.range().contains(*a) || range == nullptr ||
      !range->range.range().contains(*a)) {
    return answer(ok_reply(json::object()));  // nothing of ours: releasing is harmless
  }
  std::optional<std::string> owner = releasable_owner(*id, *a);
  if (auto shared = pool->second.rerequests.find(*a); shared != pool->second.rerequests.end()) {
    // Asked for again (swarm): this release ends one of the requests, not the allocation.
    if (--shared->second == 0) {
      pool->second.rerequests.erase(shared);
    }
    Outcome out = answer(ok_reply(json::object()));
    out.writes.push_back(pool_write(*id));
    return out;
  }
  if (!owner) {
    Outcome out = answer(ok_reply(json::object()));
    std::optional<std::string> holder = holder_of_(*a);
    out.note = holder ? "address " + a->to_string() + " is held by " + *holder +
                            ", not by this pool's containers: not released"
                      : "";
    return out;
  }
  // Frees the address only while this very owner holds it (one step on the loop).
  Outcome out;
  out.command = ring::ReleaseCommand{*a, *owner};
  out.finish = [](const ring::Reply& reply) {
    return reply.status.ok() ? ok_reply(json::object()) : error_reply(reply.status);
  };
  return out;
}

// A gateway is offered for sharing: every host's copy of the network names the same router.
// So is everything in a swarm pool, for the nodes that run the manager's tasks. Any other
// claim joins what another peer offers for it (a swarm worker's request for its task's
// address looks exactly like a local `--ip`) and is otherwise ours alone.
ring::Sharing IpamApi::claim_sharing(const PoolRecord& pool, const std::string& owner) {
  return pool.swarm || !owner.empty() ? ring::Sharing::kOffer : ring::Sharing::kJoin;
}

// dockerd's ReleaseAddress carries no container: it may free only what the plugin gave out
// in this pool (an anonymous address, one bound to a container, or the pool's gateway),
// never a CNI, admin or reserved-for-a-peer allocation that happens to share the address.
std::optional<std::string> IpamApi::releasable_owner(const std::string& pool_id,
                                                     const ring::Address& address) const {
  std::optional<std::string> holder = holder_of_(address);
  if (!holder) {
    return std::nullopt;
  }
  return dockerd_owns(pool_id, address, *holder) ? holder : std::nullopt;
}

bool IpamApi::dockerd_owns(const std::string& pool_id, const ring::Address& address,
                           const std::string& holder) {
  return holder == address.to_string() || is_container_id(holder) ||
         holder == kGatewayOwnerPrefix + pool_id;
}

// The manager marks its own requests: one for an address held since its pool request came
// again is its restore, the same single hold; any other (a `docker run --ip` on an attachable
// overlay) is a claim. A node's request for a held address adds a hold.
bool IpamApi::rerequested(PoolRecord& pool, const ring::Address& address, const std::string& owner,
                          bool by_manager) {
  if (!is_rerequest(address, owner) || (by_manager && pool.restoring.erase(address) == 0)) {
    return false;
  }
  if (!by_manager) {
    ++pool.rerequests[address];
  }
  return true;
}

bool IpamApi::is_rerequest(const ring::Address& address, const std::string& owner) const {
  std::optional<std::string> holder = holder_of_(address);
  if (!holder) {
    return false;
  }
  if (!owner.empty()) {
    return *holder == owner;  // the pool's gateway, asked for as the gateway again
  }
  return *holder == address.to_string() || is_container_id(*holder);
}

std::set<ring::Address> IpamApi::held_by_dockerd(const std::string& id, const Cidr& subnet) const {
  std::set<ring::Address> held;
  for (const auto& [address, holder] : held_in_(subnet.range())) {
    if (dockerd_owns(id, address, holder)) {
      held.insert(address);
    }
  }
  return held;
}

std::vector<ring::StoreWrite> IpamApi::forget_pool(const std::string& id) {
  if (pools_.erase(id) == 0) {
    return {};
  }
  return {pool_write(id)};
}

}  // namespace wipam::driver
