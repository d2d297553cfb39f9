// Module entry: the MappedFile class and the free functions over plain buffers.
#include <napi.h>
#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "batch_scan.h"
#include "crc32c.h"
#include "lz4_block.h"
#include "record_walk.h"
#include "mapped_file.h"

namespace sluice {
namespace {

// crc32c(data: Uint8Array, initial = 0) -> uint32
Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "crc32c(data: Uint8Array, initial?: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  const uint8_t* data = static_cast<const uint8_t*>(buffer.Data()) + array.ByteOffset();
  uint32_t initial = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(env, Crc32c(initial, data, array.ByteLength()));
}

Napi::Value Crc32cIsHardwareJs(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Crc32cIsHardware());
}

// scanBatches(data: Uint8Array, start, end) -> end of the valid chain
Napi::Value ScanBatchesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "scanBatches(data: Uint8Array, start: number, end: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  const double start = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  if (!(start >= 0 && start <= end && end <= static_cast<double>(array.ByteLength()))) {
    Napi::RangeError::New(env, "scanBatches: start/end outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(ScanBatches(data, static_cast<size_t>(start), static_cast<size_t>(end))));
}

// lockFile(path) -> fd: an exclusive flock on `path` (created if missing). The kernel drops the
// lock when the process dies, so a crashed broker never leaves its data directory locked.
// Throws EWOULDBLOCK (code 'EAGAIN') when another process holds it.
Napi::Value LockFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "lockFile(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    ThrowErrno(env, errno, "open", path);
    return env.Undefined();
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    ThrowErrno(env, err, "flock", path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// syncFilesystem(path): syncfs(2) on the filesystem holding `path`. One call makes every file
// on it durable, which beats one fdatasync per partition when thousands close at once.
Napi::Value SyncFilesystemJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "syncFilesystem(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, errno, "open", path);
    return env.Undefined();
  }
  const int rc = syncfs(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) ThrowErrno(env, err, "syncfs", path);
  return env.Undefined();
}

// unlockFile(fd): releases the lock by closing the descriptor.
Napi::Value UnlockFileJs(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// openFileLimit(raise: boolean) -> { soft, hard }: RLIMIT_NOFILE, after raising the soft limit
// to the hard one when `raise` (an unlimited hard limit is taken as 2^20, Linux's default
// fs.nr_open). A refused raise is not an error: the caller compares what it got with what it
// needs. Infinity stands for RLIM_INFINITY.
Napi::Value OpenFileLimitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    ThrowErrno(env, errno, "getrlimit", "RLIMIT_NOFILE");
    return env.Undefined();
  }
  if (info.Length() > 0 && info[0].ToBoolean().Value() && lim.rlim_cur < lim.rlim_max) {
    struct rlimit want = lim;
    want.rlim_cur = lim.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(1) << 20 : lim.rlim_max;
    if (want.rlim_cur > lim.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  auto number = [&](rlim_t v) {
    return Napi::Number::New(env, v == RLIM_INFINITY ? INFINITY : static_cast<double>(v));
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("soft", number(lim.rlim_cur));
  out.Set("hard", number(lim.rlim_max));
  return out;
}

// lz4DecodeBlock(src: Uint8Array, dst: Uint8Array, dstStart) -> bytes written at dstStart, or -1
// when the block is malformed or does not fit in dst.
Napi::Value Lz4DecodeBlockJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "lz4DecodeBlock(src: Uint8Array, dst: Uint8Array, dstStart: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray src = info[0].As<Napi::TypedArray>();
  Napi::TypedArray dst = info[1].As<Napi::TypedArray>();
  const double start = info[2].As<Napi::Number>().DoubleValue();
  if (!(start >= 0 && start <= static_cast<double>(dst.ByteLength()))) {
    Napi::RangeError::New(env, "lz4DecodeBlock: dstStart outside dst").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* in = static_cast<const uint8_t*>(src.ArrayBuffer().Data()) + src.ByteOffset();
  uint8_t* out = static_cast<uint8_t*>(dst.ArrayBuffer().Data()) + dst.ByteOffset() + static_cast<size_t>(start);
  const int64_t n = Lz4DecodeBlock(in, src.ByteLength(), out, dst.ByteLength() - static_cast<size_t>(start));
  return Napi::Number::New(env, static_cast<double>(n));
}

// walkRecords(data: Uint8Array, start, end, count, out: Float64Array(3)) -> true when every record
// is well formed; out = [max timestampDelta, min timestampDelta, keyless records].
Napi::Value WalkRecordsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[4].As<Napi::TypedArray>().ElementLength() < 3) {
    Napi::TypeError::New(env, "walkRecords(data: Uint8Array, start: number, end: number, count: number, out: Float64Array(3))").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const double start = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  const double count = info[3].As<Napi::Number>().DoubleValue();
  if (!(start >= 0 && start <= end && end <= static_cast<double>(array.ByteLength()) && count >= 0)) {
    Napi::RangeError::New(env, "walkRecords: start/end outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  Napi::Float64Array out = info[4].As<Napi::Float64Array>();
  RecordWalk walk{};
  const bool ok = WalkRecords(data, static_cast<size_t>(start), static_cast<size_t>(end), static_cast<int64_t>(count), &walk);
  if (ok) {
    out[0] = static_cast<double>(walk.maxTimestampDelta);
    out[1] = static_cast<double>(walk.minTimestampDelta);
    out[2] = static_cast<double>(walk.keyless);
  }
  return Napi::Boolean::New(env, ok);
}

// mallocThresholds(mmapThreshold, trimThreshold) -> true when glibc took both (false elsewhere:
// musl and others have no mallopt). Fixes the allocation size from which malloc maps fresh
// pages per call, and how much freed memory it keeps before giving pages back to the OS; see
// src/server/malloc-thresholds.ts for why the broker sets them.
Napi::Value MallocThresholdsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "mallocThresholds(mmapThreshold: number, trimThreshold: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double mmapThreshold = info[0].As<Napi::Number>().DoubleValue();
  const double trimThreshold = info[1].As<Napi::Number>().DoubleValue();
  if (!(mmapThreshold >= 0 && mmapThreshold <= 2147483647.0 && trimThreshold >= 0 && trimThreshold <= 2147483647.0)) {
    Napi::RangeError::New(env, "mallocThresholds: thresholds must be between 0 and 2^31-1 bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmapThreshold)) == 1 && mallopt(M_TRIM_THRESHOLD, static_cast<int>(trimThreshold)) == 1;
  return Napi::Boolean::New(env, ok);
#else
  return Napi::Boolean::New(env, false);
#endif
}

Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), LiveMappings()); }

}  // namespace
}  // namespace sluice

static Napi::Object InitSluice(Napi::Env env, Napi::Object exports) {
  using namespace sluice;
  MappedFile::Init(env, exports);
  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs));
  exports.Set("crc32cIsHardware", Napi::Function::New(env, Crc32cIsHardwareJs));
  exports.Set("scanBatches", Napi::Function::New(env, ScanBatchesJs));
  exports.Set("lz4DecodeBlock", Napi::Function::New(env, Lz4DecodeBlockJs));
  exports.Set("walkRecords", Napi::Function::New(env, WalkRecordsJs));
  exports.Set("liveMappings", Napi::Function::New(env, LiveMappingsJs));
  exports.Set("mallocThresholds", Napi::Function::New(env, MallocThresholdsJs));
  exports.Set("lockFile", Napi::Function::New(env, LockFileJs));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFileJs));
  exports.Set("syncFilesystem", Napi::Function::New(env, SyncFilesystemJs));
  exports.Set("openFileLimit", Napi::Function::New(env, OpenFileLimitJs));
  return exports;
}

NODE_API_MODULE(sluice_native, InitSluice)
