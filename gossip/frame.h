// Frames: a 4-byte big-endian body length, then the body (sealed on keyed links).
//
// FrameDecoder cuts a byte stream into whole bodies, so nothing above it ever sees half a
// frame; a header announcing an empty or oversized body fails before any of it is buffered.
// Owned by one Connection. Loop-confined (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "gossip/wire.h"
#include "ring/status.h"

namespace wipam::gossip {

inline constexpr std::size_t kFrameHeaderBytes = 4;

// The 4-byte header for a body of `body_bytes`. REQUIRES: body_bytes < 2^32.
std::array<std::uint8_t, kFrameHeaderBytes> frame_header(std::size_t body_bytes);

class FrameDecoder {
 public:
  // Bodies longer than `max_body_bytes` are refused.
  explicit FrameDecoder(std::size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // Changes the bound for the bodies not yet returned (a link allows more once it is up).
  void set_max_body_bytes(std::size_t max_body_bytes) { max_body_bytes_ = max_body_bytes; }

  // Appends bytes read from the socket. The buffer holds at most one partial frame plus the
  // bytes of one append, because the caller drains next() after every append.
  void append(ByteView bytes);

  // The next whole body, nullopt when more bytes are needed, or an error (after which the
  // decoder is unusable and the connection must close) for an empty or oversized length.
  Result<std::optional<Bytes>> next();

  // Bytes held that do not yet form a whole frame.
  std::size_t buffered() const { return buffer_.size() - read_at_; }

 private:
  std::size_t max_body_bytes_;
  Bytes buffer_;
  std::size_t read_at_ = 0;  // consumed prefix of buffer_, compacted on append
};

}  // namespace wipam::gossip
