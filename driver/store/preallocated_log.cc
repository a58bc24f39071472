#include "driver/store/preallocated_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/statvfs.h>
#include <unistd.h>

namespace wipam::driver {
namespace {

leveldb::Status io_error(const std::string& name, const char* what) {
  return leveldb::Status::IOError(name, std::string(what) + ": " + std::strerror(errno));
}

// Writes all of [data, data + size) at `offset`, retrying short writes and EINTR.
bool write_at(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

class PreallocatedLog final : public leveldb::WritableFile {
 public:
  PreallocatedLog(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  ~PreallocatedLog() override {
    if (fd_ >= 0) {
      (void)Close();  // LevelDB deletes a log without closing it; nothing to report to
    }
  }

  leveldb::Status Append(const leveldb::Slice& data) override {
    buffer_.append(data.data(), data.size());
    return buffer_.size() >= kBufferBytes ? Flush() : leveldb::Status::OK();
  }

  leveldb::Status Flush() override {
    if (buffer_.empty()) {
      return leveldb::Status::OK();
    }
    if (leveldb::Status s = reserve(offset_ + buffer_.size()); !s.ok()) {
      return s;
    }
    if (!write_at(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(offset_))) {
      return io_error(name_, "write");
    }
    offset_ += buffer_.size();
    buffer_.clear();
    return leveldb::Status::OK();
  }

  leveldb::Status Sync() override {
    if (leveldb::Status s = Flush(); !s.ok()) {
      return s;
    }
    return ::fdatasync(fd_) == 0 ? leveldb::Status::OK() : io_error(name_, "fdatasync");
  }

  // Cuts the zero tail: a closed log holds exactly its records.
  leveldb::Status Close() override {
    leveldb::Status s = Flush();
    if (s.ok() && ::ftruncate(fd_, static_cast<off_t>(offset_)) != 0) {
      s = io_error(name_, "ftruncate");
    }
    if (::close(fd_) != 0 && s.ok()) {
      s = io_error(name_, "close");
    }
    fd_ = -1;
    return s;
  }

  // Grows the file with synced zeros, a chunk at a time, until it holds `end` bytes.
  leveldb::Status reserve(std::size_t end) {
    static const std::string kZeros(kPieceBytes, '\0');
    bool grew = false;
    while (allocated_ < end) {
      std::size_t chunk = chunk_bytes();
      for (std::size_t done = 0; done < chunk; done += kZeros.size()) {
        if (!write_at(fd_, kZeros.data(), kZeros.size(), static_cast<off_t>(allocated_ + done))) {
          return io_error(name_, "preallocate");
        }
      }
      allocated_ += chunk;
      grew = true;
    }
    return !grew || ::fdatasync(fd_) == 0 ? leveldb::Status::OK() : io_error(name_, "fdatasync");
  }

 private:
  static constexpr std::size_t kBufferBytes = 64 * 1024;
  static constexpr std::size_t kPieceBytes = 64 * 1024;  // what one zero-filling write covers

  // A full chunk, or a sixteenth of the free space when that is less (at least one piece):
  // the reserve never takes a nearly full disk the rest of the way.
  std::size_t chunk_bytes() const {
    struct statvfs fs {};
    if (::fstatvfs(fd_, &fs) != 0) {
      return PreallocatedLogEnv::kChunkBytes;
    }
    std::uint64_t share = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize / 16;
    std::size_t chunk =
        static_cast<std::size_t>(std::min<std::uint64_t>(share, PreallocatedLogEnv::kChunkBytes));
    return std::max(kPieceBytes, chunk / kPieceBytes * kPieceBytes);
  }
  int fd_;
  std::string name_;
  std::string buffer_;
  std::size_t offset_ = 0;     // bytes of records written
  std::size_t allocated_ = 0;  // bytes of zero-filled file
};

bool is_log(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
}

}  // namespace

leveldb::Status PreallocatedLogEnv::NewWritableFile(const std::string& name,
                                                    leveldb::WritableFile** file) {
  *file = nullptr;
  if (!is_log(name)) {
    return target()->NewWritableFile(name, file);
  }
  int fd = ::open(name.c_str(), O_TRUNC | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return io_error(name, "open");
  }
  auto log = std::make_unique<PreallocatedLog>(fd, name);  // reserve(1): its first chunk
  if (leveldb::Status s = log->reserve(1); !s.ok()) {
    return s;
  }
  // The new name must survive a crash too, or the records in it would be lost with it.
  std::string dir = std::filesystem::path(name).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    leveldb::Status s = io_error(dir, "fsync");
    if (dir_fd >= 0) {
      ::close(dir_fd);
    }
    return s;
  }
  ::close(dir_fd);
  *file = log.release();
  return leveldb::Status::OK();
}

}  // namespace wipam::driver
