#include "gossip/crypto.h"

#include <string>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace wipam::gossip {
namespace {

EVP_PKEY* as_pkey(void* p) { return static_cast<EVP_PKEY*>(p); }
EVP_CIPHER_CTX* as_ctx(void* p) { return static_cast<EVP_CIPHER_CTX*>(p); }

// HKDF-SHA256 (RFC 5869), extract and expand.
Status hkdf(ByteView ikm, ByteView salt, std::string_view info, Key& out) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) {
    return Status::internal("OpenSSL has no HKDF");
  }
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) {
    return Status::internal("EVP_KDF_CTX_new failed");
  }
  std::string digest = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  return rc == 1 ? Status() : Status::internal("HKDF derivation failed");
}

}  // namespace

Status random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Status::internal("OpenSSL random generator failed");
  }
  return Status();
}

Digest sha256(ByteView data) {
  Digest out{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr);
  return out;
}

Digest hmac_sha256(const Key& key, ByteView data) {
  Digest out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
       &n);
  return out;
}

bool digests_equal(const Digest& a, const Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void KeyShare::Free::operator()(void* pkey) const { EVP_PKEY_free(as_pkey(pkey)); }

Result<KeyShare> KeyShare::generate() {
  KeyShare share;
  share.pkey_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!share.pkey_) {
    return Status::internal("X25519 key generation failed");
  }
  std::size_t n = share.public_key_.size();
  if (EVP_PKEY_get_raw_public_key(as_pkey(share.pkey_.get()), share.public_key_.data(), &n) != 1 ||
      n != share.public_key_.size()) {
    return Status::internal("X25519 public key export failed");
  }
  return share;
}

Result<Key> KeyShare::agree(const std::array<std::uint8_t, kKeyShareBytes>& peer_public) const {
  std::unique_ptr<void, Free> peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()));
  if (!peer) {
    return Status::invalid_argument("peer's X25519 key share is not a valid key");
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(as_pkey(pkey_.get()), nullptr);
  if (ctx == nullptr) {
    return Status::internal("EVP_PKEY_CTX_new failed");
  }
  Key secret{};
  std::size_t n = secret.size();
  bool ok = EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_derive_set_peer(ctx, as_pkey(peer.get())) == 1 &&
            EVP_PKEY_derive(ctx, secret.data(), &n) == 1 && n == secret.size();
  EVP_PKEY_CTX_free(ctx);
  Key zero{};
  if (!ok || CRYPTO_memcmp(secret.data(), zero.data(), zero.size()) == 0) {
    return Status::invalid_argument("peer's X25519 key share gives no shared secret");
  }
  return secret;
}

Result<SessionKeys> derive_session_keys(const Key& shared_secret, std::string_view password,
                                        const Digest& transcript, bool initiator) {
  // ikm = shared secret || password, salted by the transcript: every session gets fresh
  // keys, and both the key share and the password are needed to compute them.
  Bytes ikm(shared_secret.begin(), shared_secret.end());
  ikm.insert(ikm.end(), password.begin(), password.end());
  SessionKeys k{};
  Key i2r{}, r2i{}, proof_i{}, proof_r{};
  Status status = hkdf(ikm, transcript, "wipam v1 key initiator->responder", i2r);
  if (status.ok()) {
    status = hkdf(ikm, transcript, "wipam v1 key responder->initiator", r2i);
  }
  if (status.ok()) {
    status = hkdf(ikm, transcript, "wipam v1 proof initiator", proof_i);
  }
  if (status.ok()) {
    status = hkdf(ikm, transcript, "wipam v1 proof responder", proof_r);
  }
  OPENSSL_cleanse(ikm.data(), ikm.size());
  WIPAM_RETURN_IF_ERROR(status);
  k.send = initiator ? i2r : r2i;
  k.receive = initiator ? r2i : i2r;
  k.prove = initiator ? proof_i : proof_r;
  k.expect = initiator ? proof_r : proof_i;
  return k;
}

void FrameCipher::Free::operator()(void* ctx) const { EVP_CIPHER_CTX_free(as_ctx(ctx)); }

Result<FrameCipher> FrameCipher::make(const Key& key, bool sealing) {
  FrameCipher cipher;
  cipher.ctx_.reset(EVP_CIPHER_CTX_new());
  if (!cipher.ctx_) {
    return Status::internal("EVP_CIPHER_CTX_new failed");
  }
  int ok = EVP_CipherInit_ex(as_ctx(cipher.ctx_.get()), EVP_aes_256_gcm(), nullptr, key.data(),
                             nullptr, sealing ? 1 : 0);
  if (ok != 1) {
    return Status::internal("AES-256-GCM initialisation failed");
  }
  return cipher;
}

std::array<std::uint8_t, 12> FrameCipher::next_nonce() {
  // 4 zero bytes then the big-endian counter: unique per key because each direction has its
  // own key and the counter never repeats (2^64 frames are never reached).
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) {
    nonce[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
  }
  ++counter_;
  return nonce;
}

Result<Bytes> FrameCipher::seal(ByteView plaintext, ByteView aad) {
  EVP_CIPHER_CTX* ctx = as_ctx(ctx_.get());
  std::array<std::uint8_t, 12> nonce = next_nonce();
  Bytes out(plaintext.size() + kTagBytes);
  int n = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, out.data(), &n, plaintext.data(),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, out.data() + n, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, out.data() + plaintext.size()) == 1;
  if (!ok) {
    return Status::internal("AES-256-GCM seal failed");
  }
  return out;
}

Result<Bytes> FrameCipher::open(ByteView sealed, ByteView aad) {
  if (sealed.size() < kTagBytes) {
    return Status::corruption("sealed frame shorter than its tag");
  }
  EVP_CIPHER_CTX* ctx = as_ctx(ctx_.get());
  std::array<std::uint8_t, 12> nonce = next_nonce();
  std::size_t length = sealed.size() - kTagBytes;
  Bytes out(length);
  int n = 0;
  std::array<std::uint8_t, kTagBytes> tag{};
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(length), sealed.end(), tag.begin());
  bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx, out.data(), &n, sealed.data(), static_cast<int>(length)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + n, &n) == 1;
  if (!ok) {
    return Status::unavailable("frame failed authentication (wrong password, or altered)");
  }
  return out;
}

}  // namespace wipam::gossip
