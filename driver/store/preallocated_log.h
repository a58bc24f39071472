// A LevelDB Env whose write-ahead logs (*.log) live in preallocated, zero-filled space, so a
// synced append overwrites blocks the file already has: fdatasync then writes the data and
// no metadata (no size change, no block allocation), the floor of a durable write (issue 15).
// The file grows a chunk at a time, zero-filled and synced when it grows, and is cut to its
// data when LevelDB closes it. After a crash the zero tail stays; LevelDB's log reader skips
// zero records (its log format reserves type 0 for preallocated files). Every other file
// goes to the default Env. Thread-compatible, as LevelDB uses an Env.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <leveldb/env.h>

namespace wipam::driver {

class PreallocatedLogEnv : public leveldb::EnvWrapper {
 public:
  // How much a log grows by at a time: about 5,000 durable pairs' worth of records, or a
  // sixteenth of the disk's free space when that is less.
  static constexpr std::size_t kChunkBytes = 1 << 20;

  PreallocatedLogEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** file) override;
};

}  // namespace wipam::driver
