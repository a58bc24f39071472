// Docker's remote IPAM driver endpoints, as a pure translation from request bodies to
// allocator commands and from allocator replies to response bodies.
//
// IpamApi also keeps this host's pool table: Docker asks for pools per network and
// expects reference counting, and a RequestPool without a subnet must get a subnet no
// other network on this host holds (libnetwork#1386 loops forever otherwise). Every reply
// follows the wire contract in the Docker remote IPAM contract: success is 200 with a JSON
// body, failure is non-200 with {"Err": "..."}, maps may be null, releases are idempotent.
// Loop-confined; no I/O (pool changes come back as store writes for the caller to make
// durable before it answers).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver/docker/allocation_range.h"
#include "driver/docker/pool_record.h"
#include "driver/store/store_keys.h"
#include "ring/allocator.h"

namespace wipam::driver {

struct ApiReply {
  unsigned status = 200;
  std::string body;  // JSON
};

class IpamApi {
 public:
  // What one request needs done: answer now, or run `command` on the allocator and turn its
  // reply into the answer with `finish`. `writes` must be durable before either answer.
  struct Outcome {
    std::vector<ring::StoreWrite> writes;
    std::string note;  // something the daemon should log, e.g. a release that freed nothing
    std::optional<ApiReply> reply;
    std::optional<ring::Command> command;
    std::function<ApiReply(const ring::Reply&)> finish;
    // A swarm pool's last ReleasePool: dockerd will release nothing more in it (its own
    // IPAM drops a pool's addresses with the pool), so what it still holds there must go.
    struct RetiredPool {
      std::string id;
      ring::Cidr subnet;
    };
    std::optional<RetiredPool> retired_swarm_pool;
  };

  // True iff `holder` is an owner dockerd's calls in pool `pool_id` create: an anonymous
  // address, one the events stream bound to a container, or the pool's gateway.
  static bool dockerd_owns(const std::string& pool_id, const ring::Address& address,
                           const std::string& holder);

  // Who holds an address now (its owner), if anyone: a release must know whose it frees.
  using HolderOf = std::function<std::optional<std::string>(const ring::Address&)>;
  // Every held address in a range, with its owner.
  using HeldIn =
      std::function<std::vector<std::pair<ring::Address, std::string>>(const ring::Range&)>;
  // A HeldIn for a peer that holds nothing (tests and fuzz targets without an allocator).
  static std::vector<std::pair<ring::Address, std::string>> none_held(const ring::Range&) {
    return {};
  }

  // `ranges` are the allocation ranges (at most one per family); a network without
  // --subnet gets a subnet of its family's default subnet. `holder_of` reads the
  // allocators' tables.
  IpamApi(std::vector<AllocationRange> ranges, HolderOf holder_of, HeldIn held_in);

  // Restores the pool table from the store's "p/" keys. kCorruption names a bad key.
  Status restore(const std::map<std::string, std::string>& stored);

  // Handles POST `path` with `body`. Never fails: bad input becomes an error reply.
  Outcome handle(std::string_view path, std::string_view body);

  const std::map<std::string, PoolRecord>& pools() const { return pools_; }

  // Drops a pool whose network Docker no longer has (its ReleasePool was lost); returns the
  // store write to make durable. Nothing if the pool is unknown.
  std::vector<ring::StoreWrite> forget_pool(const std::string& id);

  // Owner of a network's gateway address: this prefix and the pool ID.
  static constexpr const char* kGatewayOwnerPrefix = "gateway:";
  static constexpr std::size_t kMaxBodyBytes = 64 * 1024;

 private:
  struct PoolRequest {
    ring::Cidr subnet;
    std::optional<ring::Cidr> sub_pool;
    bool swarm = false;
    bool automatic = false;
  };
  Result<PoolRequest> read_pool_request(const nlohmann::json& request) const;
  Outcome request_pool(const nlohmann::json& request);
  Outcome release_pool(const nlohmann::json& request);
  Outcome request_address(const nlohmann::json& request);
  Outcome release_address(const nlohmann::json& request);
  std::optional<std::string> releasable_owner(const std::string& pool_id,
                                              const ring::Address& address) const;
  // Swarm: a request for `address` that the plugin already holds under the owner this
  // request would create (the pool's gateway owner, or "" for a plugin allocation) is the
  // same allocation asked for again.
  bool is_rerequest(const ring::Address& address, const std::string& owner) const;
  // Swarm: true iff this request is the same allocation asked for again (counted if so).
  bool rerequested(PoolRecord& pool, const ring::Address& address, const std::string& owner,
                   bool by_manager);
  // How a claim in `pool` for `owner` treats an address another peer holds.
  static ring::Sharing claim_sharing(const PoolRecord& pool, const std::string& owner);
  // What dockerd's calls created in swarm pool `id` and the plugin still holds.
  std::set<ring::Address> held_by_dockerd(const std::string& id, const ring::Cidr& subnet) const;
  Status restore_pool(const std::string& key, const std::string& value);
  Result<ring::Cidr> choose_subnet(const AllocationRange& range,
                                   const nlohmann::json& options) const;
  Result<ring::Cidr> first_free_subnet(const ring::Cidr& default_subnet, int prefix_len) const;
  ring::StoreWrite pool_write(const std::string& id) const;

  std::vector<AllocationRange> ranges_;
  HolderOf holder_of_;
  HeldIn held_in_;
  std::map<std::string, PoolRecord> pools_;
  std::uint64_t next_generation_ = 1;
};

// {"Err": message} with a status for the Status code (400 for bad input, 404 for unknown
// paths, 500 otherwise).
ApiReply error_reply(const Status& status);

}  // namespace wipam::driver
