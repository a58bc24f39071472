// Link cryptography: two sides with the same password derive mirrored keys and proofs, and
// frames sealed by one open at the other; a wrong password, a flipped bit, altered
// authenticated data, a replayed or reordered frame and a low-order key share all fail.
#include "gossip/crypto.h"

#include <gtest/gtest.h>

namespace wipam::gossip {
namespace {

struct Pair {
  SessionKeys initiator;
  SessionKeys responder;
};

Pair handshake(const std::string& password_i, const std::string& password_r) {
  Result<KeyShare> a = KeyShare::generate();
  Result<KeyShare> b = KeyShare::generate();
  EXPECT_TRUE(a.ok() && b.ok());
  Digest transcript = sha256(Bytes{1, 2, 3});
  Key secret_a = *a->agree(b->public_key());
  Key secret_b = *b->agree(a->public_key());
  EXPECT_EQ(secret_a, secret_b);
  return {*derive_session_keys(secret_a, password_i, transcript, true),
          *derive_session_keys(secret_b, password_r, transcript, false)};
}

TEST(CryptoTest, SamePasswordGivesMirroredKeys) {
  Pair keys = handshake("pw", "pw");
  EXPECT_EQ(keys.initiator.send, keys.responder.receive);
  EXPECT_EQ(keys.initiator.receive, keys.responder.send);
  EXPECT_EQ(keys.initiator.prove, keys.responder.expect);
  EXPECT_NE(keys.initiator.send, keys.initiator.receive);
}

TEST(CryptoTest, SealedFramesOpenInOrder) {
  Pair keys = handshake("pw", "pw");
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  Bytes aad = {0, 0, 0, 9};
  for (int i = 0; i < 3; ++i) {
    Bytes plain = {static_cast<std::uint8_t>(i), 42};
    Result<Bytes> sealed = sealer.seal(plain, aad);
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(sealed->size(), plain.size() + kTagBytes);
    Result<Bytes> opened = opener.open(*sealed, aad);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, plain);
  }
}

TEST(CryptoTest, WrongPasswordCannotOpen) {
  Pair keys = handshake("pw", "other");
  EXPECT_NE(keys.initiator.prove, keys.responder.expect);
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  EXPECT_FALSE(opener.open(*sealer.seal(Bytes{1}, {}), {}).ok());
}

TEST(CryptoTest, FlippedBitIsDetected) {
  Pair keys = handshake("pw", "pw");
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  Bytes sealed = *sealer.seal(Bytes{1, 2, 3}, {});
  sealed[1] ^= 0x01;
  EXPECT_FALSE(opener.open(sealed, {}).ok());
}

TEST(CryptoTest, AlteredLengthHeaderIsDetected) {
  Pair keys = handshake("pw", "pw");
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  Bytes sealed = *sealer.seal(Bytes{1, 2, 3}, Bytes{0, 0, 0, 19});
  EXPECT_FALSE(opener.open(sealed, Bytes{0, 0, 0, 20}).ok());
}

TEST(CryptoTest, ReplayedFrameIsRefused) {
  Pair keys = handshake("pw", "pw");
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  Bytes first = *sealer.seal(Bytes{1}, {});
  ASSERT_TRUE(opener.open(first, {}).ok());
  EXPECT_FALSE(opener.open(first, {}).ok());
}

TEST(CryptoTest, ReorderedFramesAreRefused) {
  Pair keys = handshake("pw", "pw");
  FrameCipher sealer = std::move(FrameCipher::make(keys.initiator.send, true)).value();
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  Bytes first = *sealer.seal(Bytes{1}, {});
  Bytes second = *sealer.seal(Bytes{2}, {});
  EXPECT_FALSE(opener.open(second, {}).ok());
}

TEST(CryptoTest, ShortSealedFrameIsRefused) {
  Pair keys = handshake("pw", "pw");
  FrameCipher opener = std::move(FrameCipher::make(keys.responder.receive, false)).value();
  EXPECT_EQ(opener.open(Bytes(kTagBytes - 1, 0), {}).status().code(), Code::kCorruption);
}

TEST(CryptoTest, AllZeroKeyShareIsRefused) {
  Result<KeyShare> a = KeyShare::generate();
  ASSERT_TRUE(a.ok());
  std::array<std::uint8_t, kKeyShareBytes> zero{};
  EXPECT_FALSE(a->agree(zero).ok());
}

TEST(CryptoTest, KeySharesAreFresh) {
  EXPECT_NE(KeyShare::generate()->public_key(), KeyShare::generate()->public_key());
}

}  // namespace
}  // namespace wipam::gossip
