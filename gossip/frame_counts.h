// Frames a mesh queued on its links, and frames it could not queue (a full send queue
// closes its link), by kind: topology and gossip are re-sent by their own schedule, while
// a lost broadcast or unicast (consensus, ring, space) waits for the allocator's retry.
#pragma once

#include <cstdint>

#include "gossip/wire.h"

namespace wipam::gossip {

struct FrameCounts {
  std::uint64_t topology = 0;
  std::uint64_t broadcast = 0;
  std::uint64_t unicast = 0;
  std::uint64_t gossip = 0;

  // Counts one frame body by its type byte; handshake and heartbeat frames are not counted.
  void add(ByteView body) {
    Result<FrameType> type = frame_type(body);
    if (!type.ok()) {
      return;
    }
    switch (*type) {
      case FrameType::kTopology:
        ++topology;
        break;
      case FrameType::kBroadcast:
        ++broadcast;
        break;
      case FrameType::kUnicast:
        ++unicast;
        break;
      case FrameType::kGossip:
        ++gossip;
        break;
      default:
        break;
    }
  }
  std::uint64_t total() const { return topology + broadcast + unicast + gossip; }
};

struct MeshCounters {
  FrameCounts sent;
  FrameCounts dropped;
};

}  // namespace wipam::gossip
