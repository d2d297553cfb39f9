// Module entry: the MappedFile class and the free functions over plain buffers.
#include <napi.h>

#include "batch_scan.h"
#include "crc32c.h"
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

Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), LiveMappings()); }

}  // namespace
}  // namespace sluice

static Napi::Object InitSluice(Napi::Env env, Napi::Object exports) {
  using namespace sluice;
  MappedFile::Init(env, exports);
  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs));
  exports.Set("crc32cIsHardware", Napi::Function::New(env, Crc32cIsHardwareJs));
  exports.Set("scanBatches", Napi::Function::New(env, ScanBatchesJs));
  exports.Set("liveMappings", Napi::Function::New(env, LiveMappingsJs));
  return exports;
}

NODE_API_MODULE(sluice_native, InitSluice)
