#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>


#include "batch_scan.h"

namespace sluice {
namespace {

int live_mappings = 0;

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

void ThrowCode(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

// Argument guards: each returns from the method with a TypeError pending.
#define REQUIRE_ARGS(n)                                                              \
  if (info.Length() < (n)) {                                                         \
    Napi::TypeError::New(env, "expected " #n " argument(s)").ThrowAsJavaScriptException(); \
    return env.Undefined();                                                          \
  }
#define REQUIRE_INDEX(i, var)                                                               \
  if (!info[i].IsNumber() || info[i].As<Napi::Number>().DoubleValue() < 0) {                \
    Napi::TypeError::New(env, "argument " #i " must be a non-negative number").ThrowAsJavaScriptException(); \
    return env.Undefined();                                                                 \
  }                                                                                         \
  const size_t var = static_cast<size_t>(info[i].As<Napi::Number>().DoubleValue());
#define REQUIRE_BYTES(i, var)                                                             \
  if (!info[i].IsTypedArray() ||                                                          \
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {              \
    Napi::TypeError::New(env, "argument " #i " must be a Buffer or Uint8Array").ThrowAsJavaScriptException(); \
    return env.Undefined();                                                               \
  }                                                                                       \
  Napi::Uint8Array var = info[i].As<Napi::Uint8Array>();

}  // namespace

int LiveMappings() { return live_mappings; }

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + std::strerror(err) + ", " + syscall + " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("path", Napi::String::New(env, path));
  e.ThrowAsJavaScriptException();
}

Mapping* Mapping::Create(int fd, size_t length, int* err) {
  void* addr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    *err = errno;
    return nullptr;
  }
  live_mappings++;
  return new Mapping{static_cast<uint8_t*>(addr), length, 1};
}

void Mapping::Unref() {
  if (--refs > 0) return;
  munmap(addr, length);
  live_mappings--;
  delete this;
}

void MappedFile::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "MappedFile",
      {
          InstanceMethod<&MappedFile::Append>("append"),
          InstanceMethod<&MappedFile::Write>("write"),
          InstanceMethod<&MappedFile::View>("view"),
          InstanceMethod<&MappedFile::Scan>("scan"),
          InstanceMethod<&MappedFile::Sync>("sync"),
          InstanceMethod<&MappedFile::Truncate>("truncate"),
          InstanceMethod<&MappedFile::Trim>("trim"),
          InstanceMethod<&MappedFile::Close>("close"),
          InstanceAccessor<&MappedFile::GetPath>("path"),
          InstanceAccessor<&MappedFile::GetFd>("fd"),
          InstanceAccessor<&MappedFile::GetSize>("size"),
          InstanceAccessor<&MappedFile::GetCapacity>("capacity"),
          InstanceAccessor<&MappedFile::GetAllocated>("allocated"),
          InstanceAccessor<&MappedFile::GetClosed>("closed"),
      });
  exports.Set("MappedFile", ctor);
}

MappedFile::MappedFile(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MappedFile>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "MappedFile(path: string, capacity: number, options?)").ThrowAsJavaScriptException();
    return;
  }
  path_ = info[0].As<Napi::String>().Utf8Value();
  const double capacity = info[1].As<Napi::Number>().DoubleValue();
  bool create = true;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object options = info[2].As<Napi::Object>();
    Napi::Value c = options.Get("create");
    if (c.IsBoolean()) create = c.As<Napi::Boolean>().Value();
    Napi::Value chunk = options.Get("allocationChunk");
    if (chunk.IsNumber() && chunk.As<Napi::Number>().DoubleValue() >= 1)
      chunk_ = RoundUp(static_cast<size_t>(chunk.As<Napi::Number>().DoubleValue()), PageSize());
  }
  if (!(capacity >= 0)) {
    Napi::RangeError::New(env, "capacity must be a non-negative number").ThrowAsJavaScriptException();
    return;
  }
  fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd_ < 0) {
    ThrowErrno(env, errno, "open", path_);
    return;
  }
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    int err = errno;
    Release();
    ThrowErrno(env, err, "fstat", path_);
    return;
  }
  size_ = allocated_ = static_cast<size_t>(st.st_size);
  // Never map less than the data already there, and never zero bytes (mmap refuses).
  capacity_ = RoundUp(std::max({static_cast<size_t>(capacity), size_, PageSize()}), PageSize());
  int err = 0;
  map_ = Mapping::Create(fd_, capacity_, &err);
  if (map_ == nullptr) {
    Release();
    ThrowErrno(env, err, "mmap", path_);
    return;
  }
}

MappedFile::~MappedFile() { Release(); }

void MappedFile::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (map_ != nullptr) map_->Unref();
  map_ = nullptr;
}

bool MappedFile::CheckOpen(Napi::Env env) {
  if (fd_ >= 0) return true;
  ThrowCode(env, "ERR_SLUICE_CLOSED", "mapped file is closed: '" + path_ + "'");
  return false;
}

// Reserves disk blocks past the data without changing the file's length (KEEP_SIZE), so the
// file's length is always exactly the data written and a crash leaves no zero-filled tail.
int MappedFile::Reserve(size_t needed) {
  if (needed <= allocated_) return 0;
  // The chunk grows with the data (a quarter of it, 64 KiB to chunk_), so an idle partition
  // reserves little and a busy one makes few fallocate calls.
  const size_t chunk = std::min(chunk_, std::max<size_t>(64 << 10, RoundUp(needed / 4, PageSize())));
  size_t target = std::min(capacity_, RoundUp(needed + chunk / 2, chunk));
  if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(allocated_), static_cast<off_t>(target - allocated_)) != 0) {
    int err = errno;
    // No fallocate on this filesystem: pwrite allocates as it goes and still reports ENOSPC.
    if (err == EOPNOTSUPP || err == ENOSYS) {
      allocated_ = target;
      return 0;
    }
    if (err != ENOSPC) return err;
    // Not room for a whole chunk: take exactly what this append needs, or fail with ENOSPC.
    if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(allocated_), static_cast<off_t>(needed - allocated_)) != 0)
      return errno;
    target = needed;
  }
  allocated_ = target;
  return 0;
}

// Writes at `offset` through the page cache; the mapping sees the bytes at once (one page cache).
int MappedFile::WriteAt(const uint8_t* data, size_t length, size_t offset) {
  while (length > 0) {
    ssize_t w = pwrite(fd_, data, length, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    length -= static_cast<size_t>(w);
    offset += static_cast<size_t>(w);
  }
  return 0;
}

Napi::Value MappedFile::Append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  size_t total = 0;
  for (size_t i = 0; i < info.Length(); i++) {
    REQUIRE_BYTES(i, data);
    total += data.ByteLength();
  }
  if (total > capacity_ - size_) {
    ThrowCode(env, "ERR_SLUICE_SEGMENT_FULL",
              "append of " + std::to_string(total) + " bytes at " + std::to_string(size_) +
                  " exceeds the mapped capacity " + std::to_string(capacity_) + " of '" + path_ + "'");
    return env.Undefined();
  }
  if (int err = Reserve(size_ + total)) {
    ThrowErrno(env, err, "fallocate", path_);
    return env.Undefined();
  }
  const size_t position = size_;
  for (size_t i = 0; i < info.Length(); i++) {
    Napi::Uint8Array data = info[i].As<Napi::Uint8Array>();
    if (int err = WriteAt(data.Data(), data.ByteLength(), size_)) {
      // Cut whatever part of the append did land, so the file's length stays the data's.
      if (ftruncate(fd_, static_cast<off_t>(position)) == 0) size_ = position;
      ThrowErrno(env, err, "pwrite", path_);
      return env.Undefined();
    }
    size_ += data.ByteLength();
  }
  return Napi::Number::New(env, static_cast<double>(position));
}

Napi::Value MappedFile::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGS(2);
  REQUIRE_INDEX(0, position);
  REQUIRE_BYTES(1, data);
  if (!CheckOpen(env)) return env.Undefined();
  if (position > size_ || data.ByteLength() > size_ - position) {
    ThrowCode(env, "ERR_OUT_OF_RANGE", "write past the data of '" + path_ + "'");
    return env.Undefined();
  }
  if (int err = WriteAt(data.Data(), data.ByteLength(), position)) ThrowErrno(env, err, "pwrite", path_);
  return env.Undefined();
}

// Zero-copy: the Buffer points into the mapping and holds a reference to it (see header).
Napi::Value MappedFile::View(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGS(2);
  REQUIRE_INDEX(0, position);
  REQUIRE_INDEX(1, length);
  if (!CheckOpen(env)) return env.Undefined();
  if (position > size_ || length > size_ - position) {
    ThrowCode(env, "ERR_OUT_OF_RANGE",
              "view [" + std::to_string(position) + ", +" + std::to_string(length) + ") is past the " +
                  std::to_string(size_) + " bytes of '" + path_ + "'");
    return env.Undefined();
  }
  if (length == 0) return Napi::Buffer<uint8_t>::New(env, 0);
  map_->Ref();
  return Napi::Buffer<uint8_t>::New(env, map_->addr + position, length,
                                    [](Napi::Env, uint8_t*, Mapping* m) { m->Unref(); }, map_);
}

Napi::Value MappedFile::Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGS(2);
  REQUIRE_INDEX(0, start);
  REQUIRE_INDEX(1, end);
  if (!CheckOpen(env)) return env.Undefined();
  if (start > end || end > size_) {
    ThrowCode(env, "ERR_OUT_OF_RANGE", "scan range is past the data of '" + path_ + "'");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(ScanBatches(map_->addr, start, end)));
}

Napi::Value MappedFile::Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (fdatasync(fd_) != 0) ThrowErrno(env, errno, "fdatasync", path_);
  return env.Undefined();
}

Napi::Value MappedFile::Truncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGS(1);
  REQUIRE_INDEX(0, size);
  if (!CheckOpen(env)) return env.Undefined();
  if (size > size_) {
    ThrowCode(env, "ERR_OUT_OF_RANGE", "truncate can only shrink '" + path_ + "'");
    return env.Undefined();
  }
  if (map_->refs > 1) {
    // Views are alive: hand the old mapping to them with its cut pages replaced by zero
    // pages, and map the file afresh for ourselves.
    const size_t keep = RoundUp(size, PageSize());
    if (keep < map_->length) {
      void* r = mmap(map_->addr + keep, map_->length - keep, PROT_READ,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (r == MAP_FAILED) {
        ThrowErrno(env, errno, "mmap", path_);
        return env.Undefined();
      }
    }
    int err = 0;
    Mapping* fresh = Mapping::Create(fd_, capacity_, &err);
    if (fresh == nullptr) {
      ThrowErrno(env, err, "mmap", path_);
      return env.Undefined();
    }
    map_->Unref();
    map_ = fresh;
  }
  if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    ThrowErrno(env, errno, "ftruncate", path_);
    return env.Undefined();
  }
  size_ = allocated_ = size;
  return env.Undefined();
}

Napi::Value MappedFile::Trim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (allocated_ > size_) {
    // Truncating to the current length frees the blocks reserved past it.
    if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      ThrowErrno(env, errno, "ftruncate", path_);
      return env.Undefined();
    }
    allocated_ = size_;
  }
  return env.Undefined();
}

Napi::Value MappedFile::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) return env.Undefined();
  int err = 0;
  if (allocated_ > size_ && ftruncate(fd_, static_cast<off_t>(size_)) != 0) err = errno;
  Release();
  if (err != 0) ThrowErrno(env, err, "ftruncate", path_);
  return env.Undefined();
}

Napi::Value MappedFile::GetPath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }
Napi::Value MappedFile::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value MappedFile::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(size_));
}
Napi::Value MappedFile::GetCapacity(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(capacity_));
}
Napi::Value MappedFile::GetAllocated(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(allocated_));
}
Napi::Value MappedFile::GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }

}  // namespace sluice
