// Link cryptography, all from OpenSSL 3: X25519 key shares, HKDF-SHA256 session keys,
// HMAC-SHA256 proofs of the password, and AES-256-GCM frames with counter nonces.
//
// Construction (WIRE_FORMAT.md has the details): both sides send a fresh X25519 share and
// nonce in their Hello; the session secret is HKDF(salt = SHA-256 of the handshake
// transcript, ikm = X25519 shared secret || password). Each direction gets its own AES key
// and a 64-bit frame counter as nonce, and each side proves the password with an HMAC over
// the transcript. An eavesdropper learns nothing to test password guesses against.
// Objects are owned by one Connection. Loop-confined (not thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "gossip/wire.h"
#include "ring/status.h"

namespace wipam::gossip {

using Key = std::array<std::uint8_t, 32>;
using Digest = std::array<std::uint8_t, 32>;

inline constexpr std::size_t kTagBytes = 16;

// Fills `out` from OpenSSL's CSPRNG. Fails only if the generator is not seeded.
Status random_bytes(std::span<std::uint8_t> out);

Digest sha256(ByteView data);
Digest hmac_sha256(const Key& key, ByteView data);
// Constant-time equality.
bool digests_equal(const Digest& a, const Digest& b);

// An ephemeral X25519 key pair for one handshake.
class KeyShare {
 public:
  static Result<KeyShare> generate();
  const std::array<std::uint8_t, kKeyShareBytes>& public_key() const { return public_key_; }
  // The shared secret with the peer's public key; fails for a low-order (all-zero) result.
  Result<Key> agree(const std::array<std::uint8_t, kKeyShareBytes>& peer_public) const;

 private:
  struct Free {
    void operator()(void* pkey) const;
  };
  std::unique_ptr<void, Free> pkey_;  // EVP_PKEY*
  std::array<std::uint8_t, kKeyShareBytes> public_key_{};
};

struct SessionKeys {
  Key send;     // AES-256-GCM key for frames we send
  Key receive;  // ... and for frames we receive
  Key prove;    // HMAC key for our proof of the password
  Key expect;   // HMAC key the peer's proof must use
};

// Derives both directions' keys. `initiator` is true on the side that dialled.
Result<SessionKeys> derive_session_keys(const Key& shared_secret, std::string_view password,
                                        const Digest& transcript, bool initiator);

// One direction of a keyed link: seals or opens frames in order, one counter per frame.
class FrameCipher {
 public:
  // `sealing` selects encryption (true) or decryption (false).
  static Result<FrameCipher> make(const Key& key, bool sealing);

  // Plaintext -> ciphertext || tag. `aad` is authenticated but not encrypted.
  Result<Bytes> seal(ByteView plaintext, ByteView aad);
  // Ciphertext || tag -> plaintext; fails if the frame was forged, altered or reordered.
  Result<Bytes> open(ByteView sealed, ByteView aad);

 private:
  struct Free {
    void operator()(void* ctx) const;
  };
  std::array<std::uint8_t, 12> next_nonce();

  std::unique_ptr<void, Free> ctx_;  // EVP_CIPHER_CTX*
  std::uint64_t counter_ = 0;
};

}  // namespace wipam::gossip
