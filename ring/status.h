// Status and Result<T>: how every layer of weave-ipam reports failure.
//
// Our code throws no exceptions. A function that can fail returns a Status (no value) or a
// Result<T> (a value or the Status saying why not). Messages name the offending value and,
// where there is one, the fix, because they travel verbatim to Docker, the CLI and the logs.
// Immutable values, safe to share between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace wipam {

enum class Code {
  kOk,
  kInvalidArgument,     // malformed or out-of-range input from a caller
  kNotFound,            // no such pool, owner, peer or address
  kAlreadyExists,       // address held by another owner
  kExhausted,           // no free address anywhere reachable
  kUnavailable,         // a peer or service that is needed cannot be reached
  kConflict,            // replicas disagree (rings seeded differently, ownership conflict)
  kFailedPrecondition,  // not possible in the current state (no ring yet, shutting down)
  kDeadlineExceeded,    // a deferred operation ran out of time
  kCancelled,
  kCorruption,  // persisted or received data is not well formed
  kInternal,    // a broken invariant; a bug
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status ok_status() { return Status(); }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status exhausted(std::string m) { return {Code::kExhausted, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status failed_precondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status deadline_exceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The human-readable reason, without the code name. Empty iff ok().
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "ok".
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>".
  Status with_context(const std::string& context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value of type T, or the non-OK Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).ok() && "Result needs a value or a non-OK status");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  // OK when a value is present.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The value, or `fallback` when there is none.
  T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace wipam

// Returns early from the enclosing function if `expr` (a Status) is not OK.
#define WIPAM_RETURN_IF_ERROR(expr)         \
  do {                                      \
    ::wipam::Status wipam_status_ = (expr); \
    if (!wipam_status_.ok()) {              \
      return wipam_status_;                 \
    }                                       \
  } while (false)
