// The admin API: what operators and the CLI ask of a running daemon, as JSON over HTTP on
// the admin socket (root only) and, read-only, on the loopback --http-addr.
//   GET  /status /peers /allocations /owners /metrics      (and / : the ring page)
//   POST /prime                                         completes once this peer can allocate
//   POST /allocate {"owner","subnet"?}  /claim {"owner","address"}  /release {"owner"|"address"}
//        (never a "peer:" reservation; see release())
//   POST /forget {"targets":[...]}  /connect {"targets":[...]}
//   DELETE /peer/NAME-OR-NICKNAME[?force=1]            rmpeer: take over its ranges
// Errors are non-200 with {"Err": "..."}, like the plugin API. Loop-confined.
#pragma once

#include <functional>
#include <string>

#include "driver/admin/metrics.h"
#include "driver/docker/ipam_api.h"
#include "driver/http/http_server.h"
#include "gossip/mesh.h"
#include "ring/range_allocators.h"

namespace wipam::driver {

class AdminApi {
 public:
  using Run = std::function<void(const ring::Command&, std::function<void(const ring::Reply&)>)>;

  // `mesh` may be null (a single peer without gossip). All must outlive the AdminApi.
  AdminApi(std::vector<AllocationRange> ranges, const ring::RangeAllocators& allocators,
           const IpamApi& ipam, gossip::Mesh* mesh, const DaemonCounters& counters, Run run);

  void handle(const HttpRequest& request, const Responder& respond);

  // Free host addresses of each pool of this host in the range `status` is of (from
  // `allocator`): exact in ranges this peer owns, and in others' ranges the owner's reported
  // free count pro rata.
  std::vector<PoolFree> pool_free(const ring::Allocator& allocator,
                                  const ring::StatusReport& status) const;

 private:
  void allocate(const std::string& body, const Responder& respond);
  void claim(const std::string& body, const Responder& respond);
  void release(const std::string& body, const Responder& respond);
  void release_address(const std::string& text, const std::string& owner, const Responder& respond);
  void remove_peer(const std::string& which, bool force, const Responder& respond);
  void targets(const std::string& body, bool forget, const Responder& respond);
  nlohmann::json status() const;
  nlohmann::json allocations() const;
  nlohmann::json owners() const;
  std::string metrics() const;
  // The default subnet of `family`'s range, or null when there is none.
  const ring::Cidr* default_subnet(ring::Family family) const;

  std::vector<AllocationRange> ranges_;
  const ring::RangeAllocators& allocators_;
  const IpamApi& ipam_;
  gossip::Mesh* mesh_;
  const DaemonCounters& counters_;
  Run run_;
};

}  // namespace wipam::driver
