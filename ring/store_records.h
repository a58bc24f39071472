// Every record the allocator keeps in the store: the keys, how each value is written and read
// back, the identity record, and the restore of a whole store at start-up. The schema is
// documented for operators in driver/store/STORE_FORMAT.md. Pure functions, safe to call from any
// thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ring/address.h"
#include "ring/allocation_table.h"
#include "ring/effects.h"
#include "ring/messages.h"
#include "ring/paxos.h"
#include "ring/peer_name.h"
#include "ring/ring.h"
#include "ring/shares.h"
#include "ring/status.h"

namespace wipam::ring {

// The store's content: every key the allocator wrote (keys begin "a/", "f/", "s/", "m/").
using Stored = std::map<std::string, std::string>;

inline constexpr const char* kAllocationPrefix = "a/";     // one key per held address
inline constexpr const char* kSharePrefix = "s/";          // one key per shared address
inline constexpr const char* kNoticePrefix = "f/";         // another peer's last shares-notice
inline constexpr const char* kRingKey = "m/ring";          // Ring::encode()
inline constexpr const char* kIdentityKey = "m/identity";  // identity_value()
inline constexpr const char* kPaxosKey = "m/paxos";        // Paxos::encode_persistent()
inline constexpr const char* kUniverseKey = "m/universe";  // the allocation range's text

// "a/<family digit><32 hex digits>", and back (nullopt for anything else).
std::string allocation_key(const Address& address);
std::optional<Address> address_from_key(const std::string& key);
// "<prefix length> <owner>", or "<prefix length>s <owner>" for a shared claim's. A version
// from before shares reads the latter as a plain allocation.
std::string allocation_value(const Allocation& allocation);
// The allocation a record holds. kCorruption, naming the key, unless it is well formed and
// inside `universe`.
Result<std::pair<Address, Allocation>> decode_allocation(const std::string& key,
                                                         const std::string& value,
                                                         const Range& universe);

StoreWrite allocation_write(const Address& a, const Allocation& allocation);
StoreWrite allocation_delete(const Address& a);

// "s/<family digit><32 hex digits>" = "<number of peers> <peer name>... <owner>".
std::string share_key(const Address& address);
std::string share_value(const Share& share);
// kCorruption, naming the key, unless it is well formed and inside `universe`.
Result<std::pair<Address, Share>> decode_share(const std::string& key, const std::string& value,
                                               const Range& universe);
StoreWrite share_write(const Address& a, const Share& share);
StoreWrite share_delete(const Address& a);
// "f/<peer name>" = the shares-notice message that peer sent last (encode_message).
std::string notice_key(PeerName peer);
StoreWrite notice_write(PeerName peer, const SharesNotice& notice);
StoreWrite notice_delete(PeerName peer);
StoreWrite ring_write(const Ring& ring);
StoreWrite paxos_write(const PaxosPersistent& promised);

// The identity record: "<peer name> <uid> <nickname>".
std::string identity_value(const PeerIdentity& self);
// The identity in a record, or nullopt unless it is exactly what identity_value() writes:
// the name in its canonical form (the allocator compares the text), a decimal uid.
std::optional<PeerIdentity> parse_identity(const std::string& value);
// The peer-name text of an identity record, well formed or not, for messages (all of it
// when it has no space).
std::string identity_name(const std::string& value);
// True iff the record is well formed (parse_identity) and one `name` wrote.
bool identity_is(const std::string& value, PeerName name);

// The records every start writes: the range, then the identity.
std::vector<StoreWrite> start_records(const Cidr& universe, const PeerIdentity& self);
// Fails with kFailedPrecondition if `stored` holds state for another allocation range or
// another peer name. Weave discarded such state (#2209), and with it addresses still in use.
Status check_stored_owner(const Stored& stored, const Cidr& universe, PeerName self);

// What a store holds for the allocator.
struct Restored {
  std::optional<Ring> ring;  // none on a first start
  PaxosPersistent paxos;     // what we promised before a restart
  std::vector<std::pair<Address, Allocation>> allocations;
  std::vector<std::pair<Address, Share>> shares;
  std::map<PeerName, SharesNotice> notices;  // what other peers share of their space
};
// Reads every record of `stored`; kCorruption naming the first bad key (ring, consensus state,
// then allocations and shares in key order) if any is not well formed or belongs to another
// range.
Result<Restored> restore(const Stored& stored, const Range& universe, PeerName self);

}  // namespace wipam::ring
