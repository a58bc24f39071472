// FrameDecoder cuts a byte stream into whole frame bodies whatever the read sizes, and
// refuses a header announcing an empty or oversized body before buffering it, so a peer can
// neither make us allocate more than the limit nor hand the mesh half a frame.
#include "gossip/frame.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

Bytes framed(const Bytes& body) {
  auto header = frame_header(body.size());
  Bytes out(header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(FrameTest, WholeFrameIsReturnedOnce) {
  FrameDecoder decoder(100);
  decoder.append(framed({1, 2, 3}));
  Result<std::optional<Bytes>> body = decoder.next();
  ASSERT_TRUE(body.ok());
  ASSERT_TRUE(body->has_value());
  EXPECT_EQ(**body, (Bytes{1, 2, 3}));
  Result<std::optional<Bytes>> none = decoder.next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(FrameTest, FrameFedByteByByteAppearsOnlyWhenComplete) {
  FrameDecoder decoder(100);
  Bytes stream = framed({7, 8, 9, 10});
  for (std::size_t i = 0; i < stream.size(); ++i) {
    decoder.append(ByteView(&stream[i], 1));
    Result<std::optional<Bytes>> body = decoder.next();
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->has_value(), i + 1 == stream.size()) << "after byte " << i;
  }
}

TEST(FrameTest, SeveralFramesInOneReadComeOutInOrder) {
  FrameDecoder decoder(100);
  Bytes stream = framed({1});
  Bytes second = framed({2, 2});
  stream.insert(stream.end(), second.begin(), second.end());
  decoder.append(stream);
  EXPECT_EQ(**decoder.next(), Bytes{1});
  EXPECT_EQ(**decoder.next(), (Bytes{2, 2}));
  EXPECT_FALSE(decoder.next()->has_value());
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameTest, BodyAtTheLimitIsAccepted) {
  FrameDecoder decoder(4);
  decoder.append(framed({1, 2, 3, 4}));
  EXPECT_TRUE(decoder.next().ok());
}

TEST(FrameTest, OversizedLengthIsRefusedBeforeTheBodyArrives) {
  FrameDecoder decoder(4);
  auto header = frame_header(5);
  decoder.append(header);
  Result<std::optional<Bytes>> body = decoder.next();
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.status().message().find("over the limit of 4"), std::string::npos);
}

TEST(FrameTest, FourGigabyteLengthIsRefused) {
  FrameDecoder decoder(8 << 20);
  decoder.append(Bytes{0xff, 0xff, 0xff, 0xff});
  EXPECT_EQ(decoder.next().status().code(), Code::kCorruption);
}

TEST(FrameTest, EmptyBodyIsRefused) {
  FrameDecoder decoder(100);
  decoder.append(Bytes{0, 0, 0, 0});
  EXPECT_EQ(decoder.next().status().code(), Code::kCorruption);
}

TEST(FrameTest, PartialHeaderWaitsForMore) {
  FrameDecoder decoder(100);
  decoder.append(Bytes{0, 0, 0});
  Result<std::optional<Bytes>> body = decoder.next();
  ASSERT_TRUE(body.ok());
  EXPECT_FALSE(body->has_value());
  EXPECT_EQ(decoder.buffered(), 3u);
}

TEST(FrameTest, TruncatedBodyWaitsForMore) {
  FrameDecoder decoder(100);
  Bytes stream = framed({1, 2, 3});
  stream.pop_back();
  decoder.append(stream);
  EXPECT_FALSE(decoder.next()->has_value());
}

TEST(FrameTest, HeaderIsBigEndian) {
  auto header = frame_header(0x01020304);
  EXPECT_EQ(header[0], 1);
  EXPECT_EQ(header[3], 4);
}

}  // namespace
}  // namespace wipam::gossip
