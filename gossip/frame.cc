#include "gossip/frame.h"

#include <array>

namespace wipam::gossip {

std::array<std::uint8_t, kFrameHeaderBytes> frame_header(std::size_t body_bytes) {
  return {static_cast<std::uint8_t>(body_bytes >> 24), static_cast<std::uint8_t>(body_bytes >> 16),
          static_cast<std::uint8_t>(body_bytes >> 8), static_cast<std::uint8_t>(body_bytes)};
}

void FrameDecoder::append(ByteView bytes) {
  if (read_at_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_at_));
    read_at_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Bytes>> FrameDecoder::next() {
  if (buffered() < kFrameHeaderBytes) {
    return std::optional<Bytes>();
  }
  const std::uint8_t* h = buffer_.data() + read_at_;
  std::size_t length = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) |
                       (std::size_t{h[2]} << 8) | std::size_t{h[3]};
  if (length == 0) {
    return Status::corruption("frame with an empty body");
  }
  if (length > max_body_bytes_) {
    return Status::corruption("frame of " + std::to_string(length) +
                              " bytes is over the limit of " + std::to_string(max_body_bytes_));
  }
  if (buffered() < kFrameHeaderBytes + length) {
    return std::optional<Bytes>();
  }
  auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(read_at_ + kFrameHeaderBytes);
  Bytes body(begin, begin + static_cast<std::ptrdiff_t>(length));
  read_at_ += kFrameHeaderBytes + length;
  return std::optional<Bytes>(std::move(body));
}

}  // namespace wipam::gossip
