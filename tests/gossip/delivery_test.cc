// The broadcast duplicate filter accepts each sequence number once, in any order, refuses
// repeats among the last kWindow arrivals, and cannot be poisoned by a forged number; the reconnect
// back-off doubles from its start, stops at its cap, and jitters into [1/2, 1) of the step. Target
// addresses parse in every documented form and are refused with a reason otherwise.
#include "gossip/delivery.h"

#include <gtest/gtest.h>

#include "gossip/mesh.h"

namespace wipam::gossip {
namespace {

using std::chrono::milliseconds;

TEST(BroadcastWindowTest, EachSequenceIsAcceptedOnce) {
  BroadcastWindow w;
  EXPECT_TRUE(w.accept(5));
  EXPECT_FALSE(w.accept(5));
  EXPECT_TRUE(w.accept(7));
  EXPECT_TRUE(w.accept(6));
  EXPECT_FALSE(w.accept(6));
}

// The mesh asks seen() first and records only what its handler accepted: a refused payload
// leaves its number free for the real broadcast.
TEST(BroadcastWindowTest, SeenDoesNotRecordAndRecordDoes) {
  BroadcastWindow w;
  EXPECT_FALSE(w.seen(9));
  EXPECT_FALSE(w.seen(9));
  w.record(9);
  EXPECT_TRUE(w.seen(9));
  EXPECT_FALSE(w.accept(9));
  for (std::uint64_t seq = 100; seq < 100 + BroadcastWindow::kWindow; ++seq) {
    w.record(seq);
  }
  EXPECT_FALSE(w.seen(9));  // the oldest is forgotten once the window is full
}

TEST(BroadcastWindowTest, AForgedNumberNearTheTopDoesNotSilenceTheRealOnes) {
  BroadcastWindow w;
  EXPECT_TRUE(w.accept(1));
  EXPECT_TRUE(w.accept(UINT64_MAX));
  EXPECT_TRUE(w.accept(UINT64_MAX - 1));
  EXPECT_FALSE(w.accept(UINT64_MAX));
  for (std::uint64_t seq = 2; seq < 2000; ++seq) {
    ASSERT_TRUE(w.accept(seq)) << seq;  // the real peer keeps counting up from where it was
  }
}

TEST(BroadcastWindowTest, RepeatsWithinTheWindowAreRefusedInAnyOrder) {
  BroadcastWindow w;
  for (std::uint64_t seq = 1000; seq > 1000 - BroadcastWindow::kWindow; --seq) {
    ASSERT_TRUE(w.accept(seq));
  }
  for (std::uint64_t seq = 1000; seq > 1000 - BroadcastWindow::kWindow; --seq) {
    ASSERT_FALSE(w.accept(seq)) << seq;
  }
}

TEST(BroadcastWindowTest, OnlyTheOldestArrivalIsForgotten) {
  BroadcastWindow w;
  for (std::uint64_t seq = 1; seq <= BroadcastWindow::kWindow; ++seq) {
    ASSERT_TRUE(w.accept(seq));
  }
  EXPECT_TRUE(w.accept(1'000'000));  // pushes out 1, the oldest arrival
  EXPECT_TRUE(w.accept(1));
  EXPECT_FALSE(w.accept(3));
  EXPECT_FALSE(w.accept(1'000'000));
}

TEST(BackoffTest, DoublesUntilTheCap) {
  BackoffPolicy p{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(backoff_delay(p, 1, 0.999999).count(), 99);
  EXPECT_EQ(backoff_delay(p, 2, 0.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(p, 3, 0.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(p, 30, 0.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(p, 1000, 0.0), milliseconds(500));
}

TEST(BackoffTest, JitterStaysWithinHalfToWholeStep) {
  BackoffPolicy p{milliseconds(1000), milliseconds(60000)};
  for (double r : {0.0, 0.25, 0.5, 0.99}) {
    milliseconds d = backoff_delay(p, 4, r);
    EXPECT_GE(d, milliseconds(4000));
    EXPECT_LT(d, milliseconds(8000));
  }
}

TEST(BackoffTest, OutOfRangeRandomIsClamped) {
  BackoffPolicy p{milliseconds(1000), milliseconds(1000)};
  EXPECT_EQ(backoff_delay(p, 1, -5.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(p, 1, 7.0), milliseconds(1000));
}

TEST(TargetTest, HostWithoutPortGetsTheDefault) {
  Result<HostPort> t = parse_target("host-a");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "host-a");
  EXPECT_EQ(t->port, kDefaultPort);
}

TEST(TargetTest, HostAndPortAndBracketedV6Parse) {
  EXPECT_EQ(parse_target("10.0.0.1:7000")->port, 7000);
  EXPECT_EQ(parse_target("[fd00::1]:7001")->host, "fd00::1");
  EXPECT_EQ(parse_target("[fd00::1]")->port, kDefaultPort);
}

TEST(TargetTest, BadTargetsAreRefused) {
  for (const char* bad :
       {"", ":6783", "h:0", "h:65536", "h:12x", "fd00::1", "[fd00::1", "[fd00::1]x", "h:"}) {
    EXPECT_FALSE(parse_target(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace wipam::gossip
