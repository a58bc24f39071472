// Stored records: the input is a store's content as the daemon scans it at start-up. Its
// first byte picks the launch mode (seed, consensus, observer); then each record is a key
// length byte, the key, a 2-byte big-endian value length and the value. The records go
// where Daemon::open_store_and_restore() sends them: the identity check, the allocator's
// start, the pool table's restore. A store the allocator started on, plus what it wrote
// then and in its first steps, must start it again (else the daemon could not restart).
#include <map>
#include <string>

#include "driver/docker/ipam_api.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

using Stored = std::map<std::string, std::string>;

constexpr std::size_t kMaxRecords = 256;

Stored records(const std::uint8_t* data, std::size_t size) {
  Stored stored;
  std::size_t at = 0;
  while (at < size && stored.size() < kMaxRecords) {
    std::size_t key_bytes = std::min<std::size_t>(data[at], size - at - 1);
    ++at;
    std::string key(reinterpret_cast<const char*>(data + at), key_bytes);
    at += key_bytes;
    std::size_t value_bytes = at + 2 <= size ? (std::size_t{data[at]} << 8) | data[at + 1] : 0;
    at = std::min(at + 2, size);
    value_bytes = std::min(value_bytes, size - at);
    stored[key] = std::string(reinterpret_cast<const char*>(data + at), value_bytes);
    at += value_bytes;
  }
  return stored;
}

// The daemon's configuration for this store: the recorded range when it is one the
// command line accepts, and the recorded name when the identity check passes it.
std::optional<ring::AllocatorConfig> launch(const Stored& stored, std::uint8_t mode) {
  ring::AllocatorConfig c = FuzzPeer::seed_config(*ring::Cidr::parse("10.32.0.0/12"));
  if (auto u = stored.find(ring::kUniverseKey); u != stored.end()) {
    if (Result<ring::Cidr> range = ring::Cidr::parse_subnet(u->second); range.ok()) {
      c.universe = *range;
    }
  }
  if (auto id = stored.find(ring::kIdentityKey); id != stored.end()) {
    Result<ring::PeerName> name = ring::PeerName::parse(id->second.substr(0, id->second.find(' ')));
    if (!name.ok()) {
      return std::nullopt;  // Daemon::check_store_matches refuses a corrupt identity
    }
    c.self.name = *name;
  }
  switch (mode % 3) {
    case 0:
      c.init = ring::SeedInit{{c.self.name}};
      break;
    case 1:
      c.init = ring::ConsensusInit{2};
      break;
    default:
      c.init = ring::ObserverInit{};
      break;
  }
  return c;
}

void restore_pools(const Stored& stored, const ring::Cidr& range) {
  driver::IpamApi api(
      {{range, range, range.prefix_len() < 24 ? 24 : range.prefix_len()}},
      [](const ring::Address&) { return std::nullopt; }, driver::IpamApi::none_held);
  (void)api.restore(stored);
}

}  // namespace

int fuzz_store(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  quiet_logs();
  Stored stored = records(data + 1, size - 1);
  std::optional<ring::AllocatorConfig> config = launch(stored, data[0]);
  if (!config) {
    return 0;
  }
  restore_pools(stored, config->universe);
  FuzzPeer peer(*config);
  if (!peer.start(stored)) {
    return 0;  // refused, as the daemon refuses to start
  }
  peer.run(ring::AllocateCommand{"fuzz", config->universe, std::nullopt});
  peer.run(ring::LookupCommand{"fuzz"});
  peer.apply(peer.allocator().tick(peer.now()));
  (void)peer.allocator().status();
  FuzzPeer restarted(*config);
  fuzz_check(restarted.start(peer.stored()), "a store the allocator wrote starts it again");
  return 0;
}

}  // namespace wipam::fuzz
