// A Docker pool as this host's pool table keeps it, and its stored form: the JSON value of
// a "p/<pool id>" key (store/STORE_FORMAT.md). Decoding reads the value as hostile.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::driver {

struct PoolRecord {
  ring::Cidr subnet;
  std::optional<ring::Cidr> sub_pool;  // Docker's --ip-range: where dynamic addresses come from
  unsigned refs = 0;
  bool automatic = false;        // chosen by us for a network created without --subnet
  std::uint64_t generation = 0;  // bumped by every RequestPool (not stored: for reconcile)
  // Requested in the global address space: a swarm network. Its manager allocates through
  // us, and every node running a task asks again for the same pool and addresses.
  bool swarm = false;
  // Swarm only: how many more times each address was asked for again while held by the
  // plugin in this pool. Each ReleaseAddress takes one of these before the address is freed.
  std::map<ring::Address, unsigned> rerequests;
  // Swarm only, not stored: what the plugin held in this pool when the manager asked for it
  // again (its restore after a restart). Each may be asked for once more with the manager's
  // option; any other manager request for a held address is a claim, refused as in use.
  std::set<ring::Address> restoring;
};

// The record stored under `key`, or kCorruption naming the key and the fix.
Result<PoolRecord> decode_pool_record(const std::string& key, const std::string& value);
std::string encode_pool_record(const PoolRecord& record);

}  // namespace wipam::driver
